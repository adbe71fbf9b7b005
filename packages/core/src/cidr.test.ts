import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import {
  CidrError,
  compileCidrs,
  isValidIp,
  normalizeCidr,
  normalizeCidrs,
  parseClientIp,
} from './cidr.ts';

const PREFIX = 'a prefix length is required';
const FOUR_PARTS = 'IPv4 must be four decimal parts';
const UNPARSABLE = 'unparsable';

describe('normalizeCidr', () => {
  it.each([
    ['192.168.10.7/24', '192.168.10.0/24'],
    ['192.168.10.0/24', '192.168.10.0/24'],
    ['10.1.2.3/8', '10.0.0.0/8'],
    ['10.1.2.3/32', '10.1.2.3/32'],
    ['255.255.255.255/1', '128.0.0.0/1'],
    ['8.8.8.8/0', '0.0.0.0/0'],
    ['  172.16.5.4/12  ', '172.16.0.0/12'],
    ['2001:DB8:0:0::1/48', '2001:db8::/48'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001/128', '2001:db8::1/128'],
    ['2001:db8:abcd:12ff::/56', '2001:db8:abcd:1200::/56'],
    ['FE80::1/10', 'fe80::/10'],
    ['::1/0', '::/0'],
    ['::ffff:192.0.2.77/120', '::ffff:c000:200/120'],
  ])('%s -> %s', (input, expected) => {
    expect(normalizeCidr(input)).toBe(expected);
  });

  it.each([
    ['a bare IPv4 address', '192.168.10.7', PREFIX],
    ['a bare IPv6 address', '2001:db8::1', PREFIX],
    ['garbage', 'not a network', PREFIX],
    ['garbage with a slash', 'clinic/24', FOUR_PARTS],
    ['an empty string', '', PREFIX],
    ['a slash alone', '/', FOUR_PARTS],
    ['no address', '/24', FOUR_PARTS],
    ['no prefix length', '10.0.0.0/', UNPARSABLE],
    ['IPv4 prefix over 32', '10.0.0.0/33', UNPARSABLE],
    ['IPv6 prefix over 128', '2001:db8::/129', UNPARSABLE],
    ['a negative prefix', '10.0.0.0/-1', UNPARSABLE],
    ['a prefix with a sign', '10.0.0.0/+8', UNPARSABLE],
    ['a fractional prefix', '10.0.0.0/8.5', UNPARSABLE],
    ['a hex prefix', '10.0.0.0/0x8', UNPARSABLE],
    ['two prefixes', '10.0.0.0/8/16', UNPARSABLE],
    ['a space before the slash', '10.0.0.0 /8', FOUR_PARTS],
    ['an octet over 255', '256.0.0.0/8', UNPARSABLE],
    ['three octets', '10.0.0/24', FOUR_PARTS],
    ['two octets', '10.1/16', FOUR_PARTS],
    ['five octets', '10.0.0.0.0/8', FOUR_PARTS],
    ['a leading-zero octet (octal to some parsers)', '010.0.0.0/8', FOUR_PARTS],
    ['a leading-zero octet elsewhere', '10.0.0.010/32', FOUR_PARTS],
    ['a hex octet', '0x0a.0.0.0/8', FOUR_PARTS],
    ['a whole address as one number', '167772160/8', FOUR_PARTS],
    ['a leading-zero octet inside mapped IPv6', '::ffff:010.0.0.0/104', FOUR_PARTS],
    ['an IPv6 address with two ::', '2001::db8::/48', UNPARSABLE],
    ['an IPv6 group of five hex digits', '2001:db8:12345::/48', UNPARSABLE],
    ['a non-hex IPv6 group', '2001:db8:zz::/48', UNPARSABLE],
    ['a range, not a block', '10.0.0.1-10.0.0.9', PREFIX],
    ['a mask, not a length', '10.0.0.0/255.0.0.0', UNPARSABLE],
  ] as const)('refuses %s (%s): %s', (_what, input, reason) => {
    expect(() => normalizeCidr(input)).toThrow(CidrError);
    expect(() => normalizeCidr(input)).toThrow(`"${input}" is not a CIDR block: ${reason}`);
  });

  it('names the offending entry, as given', () => {
    try {
      normalizeCidr('10.0.0.0/33');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(CidrError);
      expect((error as CidrError).entry).toBe('10.0.0.0/33');
      expect((error as CidrError).message).toContain('10.0.0.0/33');
    }
  });

  it('normalizeCidrs normalizes every entry and drops duplicates after normalizing', () => {
    expect(
      normalizeCidrs(['192.168.10.7/24', '192.168.10.0/24', '2001:DB8::/48', '2001:db8:0::9/48']),
    ).toEqual(['192.168.10.0/24', '2001:db8::/48']);
  });

  it('normalizeCidrs refuses the whole list for one bad entry, naming it', () => {
    expect(() => normalizeCidrs(['10.0.0.0/8', '10.0.0.1', '2001:db8::/48'])).toThrowError(
      /10\.0\.0\.1/,
    );
  });
});

describe('parseClientIp', () => {
  it.each([
    ['203.0.113.9', '203.0.113.9'],
    ['::ffff:203.0.113.9', '203.0.113.9'],
    ['::ffff:cb00:7109', '203.0.113.9'],
    ['2001:DB8::1', '2001:db8::1'],
    ['::1', '::1'],
    ['0.0.0.0', '0.0.0.0'],
    ['255.255.255.255', '255.255.255.255'],
    ['fe80::1%eth0', 'fe80::1%eth0'],
  ])('%s reads as %s', (input, expected) => {
    expect(parseClientIp(input)?.toString()).toBe(expected);
    expect(isValidIp(input)).toBe(true);
  });

  it.each([
    '',
    'localhost',
    '203.0.113',
    '203.0.113.9.1',
    '256.0.0.1',
    '010.0.0.1',
    // Read as 10.0.0.8 (octal) by parsers that allow it: the last part must end the text.
    '10.0.0.010',
    '10.0.0.1000',
    '::ffff:10.0.0.010',
    '0x0a.0.0.1',
    '167772161',
    '10.1',
    '::ffff:010.0.0.1',
    '203.0.113.9/32',
    '2001:db8::1::2',
  ])('refuses %j', (input) => {
    expect(parseClientIp(input)).toBeNull();
    expect(isValidIp(input)).toBe(false);
  });
});

describe('compileCidrs', () => {
  it('matches IPv4 blocks exactly at their boundaries', () => {
    const m = compileCidrs(['192.168.10.0/24', '10.0.0.0/8', '198.51.100.7/32']);
    expect(m.matches('192.168.9.255')).toBe(false);
    expect(m.matches('192.168.10.0')).toBe(true);
    expect(m.matches('192.168.10.255')).toBe(true);
    expect(m.matches('192.168.11.0')).toBe(false);
    expect(m.matches('9.255.255.255')).toBe(false);
    expect(m.matches('10.0.0.0')).toBe(true);
    expect(m.matches('10.255.255.255')).toBe(true);
    expect(m.matches('11.0.0.0')).toBe(false);
    expect(m.matches('198.51.100.6')).toBe(false);
    expect(m.matches('198.51.100.7')).toBe(true);
    expect(m.matches('198.51.100.8')).toBe(false);
  });

  it('matches IPv6 blocks exactly at their boundaries', () => {
    const m = compileCidrs(['2001:db8::/48', 'fe80::/10']);
    expect(m.matches('2001:db7:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(false);
    expect(m.matches('2001:db8::')).toBe(true);
    expect(m.matches('2001:db8:0:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(m.matches('2001:db8:1::')).toBe(false);
    expect(m.matches('fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(false);
    expect(m.matches('fe80::')).toBe(true);
    expect(m.matches('febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(m.matches('fec0::')).toBe(false);
  });

  it('matches the whole space for /0 and the edges of the address space', () => {
    const v4 = compileCidrs(['0.0.0.0/0']);
    expect(v4.matches('0.0.0.0')).toBe(true);
    expect(v4.matches('255.255.255.255')).toBe(true);
    expect(v4.matches('2001:db8::1')).toBe(false);
    const v6 = compileCidrs(['::/0']);
    expect(v6.matches('::')).toBe(true);
    expect(v6.matches('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')).toBe(true);
    expect(v6.matches('203.0.113.9')).toBe(false);
  });

  it('keeps IPv4 and IPv6 apart: ::cb00:7109 is not 203.0.113.9', () => {
    const m = compileCidrs(['203.0.113.0/24']);
    expect(m.matches('::cb00:7109')).toBe(false);
    expect(m.matches('64:ff9b::cb00:7109')).toBe(false);
  });

  it('matches an IPv4-mapped IPv6 client against IPv4 blocks', () => {
    const m = compileCidrs(['203.0.113.0/24']);
    expect(m.matches('::ffff:203.0.113.9')).toBe(true);
    expect(m.matches('::FFFF:cb00:7109')).toBe(true);
    expect(m.matches('::ffff:203.0.114.9')).toBe(false);
  });

  it('reads an IPv4-mapped block as the IPv4 block it stands for', () => {
    const m = compileCidrs([normalizeCidr('::ffff:192.0.2.0/120')]);
    expect(m.matches('192.0.2.1')).toBe(true);
    expect(m.matches('::ffff:192.0.2.254')).toBe(true);
    expect(m.matches('192.0.3.1')).toBe(false);
    expect(m.matches('::ffff:192.0.3.1')).toBe(false);
  });

  it('reads ::ffff:0.0.0.0/96 as all of IPv4, and a broader block as none of it', () => {
    const mapped = compileCidrs(['::ffff:0.0.0.0/96']);
    expect(mapped.matches('0.0.0.0')).toBe(true);
    expect(mapped.matches('203.0.113.9')).toBe(true);
    expect(mapped.matches('255.255.255.255')).toBe(true);
    expect(mapped.matches('::ffff:203.0.113.9')).toBe(true);
    const broader = compileCidrs([normalizeCidr('::ffff:0.0.0.0/95')]);
    expect(broader.matches('203.0.113.9')).toBe(false);
    expect(broader.matches('::ffff:203.0.113.9')).toBe(false);
  });

  it('clears host bits itself, so a block given as an address in it covers the whole block', () => {
    const v4 = compileCidrs(['10.0.0.5/24']);
    expect(v4.matches('10.0.0.0')).toBe(true);
    expect(v4.matches('10.0.0.255')).toBe(true);
    expect(v4.matches('10.0.1.0')).toBe(false);
    const v6 = compileCidrs(['2001:db8::5/64']);
    expect(v6.matches('2001:db8::')).toBe(true);
    expect(v6.matches('2001:db8::ffff:ffff:ffff:ffff')).toBe(true);
    expect(v6.matches('2001:db8:0:1::')).toBe(false);
    // ::/64 once cleared: IPv6 only, not a block of IPv4-mapped addresses.
    const broad = compileCidrs(['::ffff:10.0.0.0/64']);
    expect(broad.matches('::1')).toBe(true);
    expect(broad.matches('10.0.0.1')).toBe(false);
    expect(broad.matches('::ffff:10.0.0.1')).toBe(false);
  });

  it('sorts the blocks itself: the order given does not matter', () => {
    const blocks = ['10.3.0.0/16', '10.0.0.0/16', '10.2.0.0/24', '10.1.0.0/16', '10.0.128.0/17'];
    const probes = [
      '10.0.0.1',
      '10.0.200.1',
      '10.1.9.9',
      '10.2.0.9',
      '10.2.1.0',
      '10.3.9.9',
      '10.4.0.0',
    ];
    const expected = [true, true, true, true, false, true, false];
    for (const order of [
      blocks,
      [...blocks].reverse(),
      [blocks[2]!, blocks[4]!, blocks[0]!, blocks[3]!, blocks[1]!],
    ]) {
      const m = compileCidrs(order);
      expect(probes.map((ip) => m.matches(ip))).toEqual(expected);
    }
  });

  it('merges overlapping, nested and adjacent blocks without losing or adding addresses', () => {
    const m = compileCidrs([
      '10.0.0.0/16',
      '10.0.128.0/17', // nested in the first
      '10.1.0.0/16', // adjacent to the first
      '10.0.255.0/24', // nested, at the end
      '10.3.0.0/16', // a gap before it (10.2.0.0/16)
      '10.2.255.255/32',
    ]);
    expect(m.matches('10.0.0.0')).toBe(true);
    expect(m.matches('10.0.200.1')).toBe(true);
    expect(m.matches('10.1.255.255')).toBe(true);
    expect(m.matches('10.2.0.0')).toBe(false);
    expect(m.matches('10.2.255.254')).toBe(false);
    expect(m.matches('10.2.255.255')).toBe(true);
    expect(m.matches('10.3.0.0')).toBe(true);
    expect(m.matches('10.3.255.255')).toBe(true);
    expect(m.matches('10.4.0.0')).toBe(false);
  });

  it('matches nothing when empty, and nothing unparsable', () => {
    const empty = compileCidrs([]);
    expect(empty.matches('10.0.0.1')).toBe(false);
    expect(empty.matches('::1')).toBe(false);
    const all = compileCidrs(['0.0.0.0/0', '::/0']);
    expect(all.matches('nonsense')).toBe(false);
    expect(all.matches('')).toBe(false);
    expect(all.matches('010.0.0.1')).toBe(false);
  });

  it('agrees with a naive ipaddr.js match loop over 10,000 random blocks', () => {
    const rng = seeded(0x2fa);
    const blocks: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (rng() < 0.6) {
        const bits = 10 + Math.floor(rng() * 23); // 10..32
        blocks.push(normalizeCidr(`${randomV4(rng)}/${bits}`));
      } else {
        const bits = 16 + Math.floor(rng() * 113); // 16..128
        blocks.push(normalizeCidr(`${randomV6(rng, 0x2001)}/${bits}`));
      }
    }
    const parsed = blocks.map((b) => ipaddr.parseCIDR(b));
    const naive = (ip: string) => {
      const addr = ipaddr.process(ip);
      return parsed.some(
        ([range, bits]) => range.kind() === addr.kind() && addr.match(range, bits),
      );
    };
    const m = compileCidrs(blocks);

    const probes: string[] = [];
    for (let i = 0; i < 1_000; i++) probes.push(randomV4(rng));
    for (let i = 0; i < 300; i++) probes.push(randomV6(rng, 0x2001));
    // Addresses inside, and just outside, known blocks, so both answers are exercised.
    for (const [range, bits] of parsed.slice(0, 400)) {
      const bytes = range.toByteArray();
      const width = bytes.length * 8;
      const first = bytesToBigInt(bytes);
      const last = first + (1n << BigInt(width - bits)) - 1n;
      const max = (1n << BigInt(width)) - 1n;
      for (const v of [first, last, first - 1n, last + 1n]) {
        if (v >= 0n && v <= max) probes.push(bigIntToAddress(v, bytes.length));
      }
    }
    let hits = 0;
    for (const ip of probes) {
      const expected = naive(ip);
      if (expected) hits++;
      expect(m.matches(ip), ip).toBe(expected);
    }
    // The probes exercised both outcomes in earnest.
    expect(hits).toBeGreaterThan(300);
    expect(probes.length - hits).toBeGreaterThan(300);
  });
});

/** A small deterministic PRNG (mulberry32), so the random test is the same every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomV4(rng: () => number): string {
  return Array.from({ length: 4 }, () => Math.floor(rng() * 256)).join('.');
}

/** Random IPv6 under a fixed first group, so the blocks overlap often enough to matter. */
function randomV6(rng: () => number, first: number): string {
  const groups = [first, ...Array.from({ length: 7 }, () => Math.floor(rng() * 0x10000))];
  // Narrow the second group so /16../32 blocks and probes collide.
  groups[1] = 0xdb8 + Math.floor(rng() * 4);
  return groups.map((g) => g.toString(16)).join(':');
}

function bytesToBigInt(bytes: number[]): bigint {
  return bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

function bigIntToAddress(value: bigint, length: number): string {
  const bytes: number[] = [];
  for (let i = length - 1; i >= 0; i--) bytes.push(Number((value >> BigInt(i * 8)) & 0xffn));
  return ipaddr.fromByteArray(bytes).toString();
}
