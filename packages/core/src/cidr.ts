import ipaddr from 'ipaddr.js';

export class CidrError extends Error {
  constructor(
    readonly entry: string,
    reason: string,
  ) {
    super(`"${entry}" is not a CIDR block: ${reason}`);
  }
}

const DOTTED_QUAD = /^(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})){3}$/;

/**
 * IPv4 text (alone or inside IPv6) only in plain dotted decimal: parsers read
 * "010.0.0.1", "0x0a.0.0.1" or "10.1" as different addresses, and a
 * trusted-network check must not depend on which reading wins.
 */
function hasPlainIpv4Text(address: string): boolean {
  const text = address.split('%')[0]!;
  if (!text.includes(':')) return DOTTED_QUAD.test(text);
  if (!text.includes('.')) return true;
  return DOTTED_QUAD.test(text.slice(text.lastIndexOf(':') + 1));
}

/**
 * Parses one CIDR block and returns it normalized: host bits cleared, IPv6
 * lower-case and compressed. A bare address is refused: it is not CIDR.
 */
export function normalizeCidr(entry: string): string {
  const text = entry.trim();
  if (!text.includes('/')) throw new CidrError(entry, 'a prefix length is required');
  if (!hasPlainIpv4Text(text.split('/')[0]!)) {
    throw new CidrError(entry, 'IPv4 must be four decimal parts');
  }
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(text);
  } catch {
    throw new CidrError(entry, 'unparsable');
  }
  const [addr, bits] = parsed;
  if (addr.kind() === 'ipv4') {
    const network = ipaddr.IPv4.networkAddressFromCIDR(text);
    return `${network.toString()}/${bits}`;
  }
  const network = ipaddr.IPv6.networkAddressFromCIDR(text);
  return `${network.toString()}/${bits}`;
}

export function normalizeCidrs(entries: readonly string[]): string[] {
  return [...new Set(entries.map(normalizeCidr))];
}

/** Parses a client address; an IPv4-mapped IPv6 address counts as its IPv4 address. */
export function parseClientIp(ip: string): ipaddr.IPv4 | ipaddr.IPv6 | null {
  if (!ipaddr.isValid(ip) || !hasPlainIpv4Text(ip)) return null;
  return ipaddr.process(ip);
}

export function isValidIp(ip: string): boolean {
  return parseClientIp(ip) !== null;
}

type Range = [start: bigint, end: bigint];

function toBigInt(bytes: number[]): bigint {
  let value = 0n;
  for (const b of bytes) value = (value << 8n) | BigInt(b);
  return value;
}

function buildRanges(blocks: Array<[bigint, number, number]>): Range[] {
  const ranges: Range[] = blocks
    .map(([base, bits, width]): Range => {
      const size = 1n << BigInt(width - bits);
      return [base, base + size - 1n];
    })
    .sort((a, b) => Number(a[0] - b[0]));
  const merged: Range[] = [];
  for (const r of ranges) {
    const last = merged[merged.length - 1];
    // Stryker disable next-line EqualityOperator,ArithmeticOperator: leaving touching blocks unmerged only keeps one more range; ends stay in order, so matches() answers the same
    if (last && r[0] <= last[1] + 1n) {
      // Stryker disable next-line EqualityOperator: >= would assign an equal end, the same range
      if (r[1] > last[1]) last[1] = r[1];
    } else merged.push([r[0], r[1]]);
  }
  return merged;
}

function contains(ranges: Range[], value: bigint): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const r = ranges[mid]!;
    if (value < r[0]) hi = mid - 1;
    else if (value > r[1]) lo = mid + 1;
    else return true;
  }
  return false;
}

const MAPPED_PREFIX = 0xffffn;

/**
 * The IPv4 block an IPv4-mapped IPv6 block (::ffff:a.b.c.d/96 and longer)
 * stands for. Host bits are already cleared, so only a /96 or longer block
 * keeps the whole ::ffff prefix: broader blocks (::/0) are not read as
 * trusting all of IPv4.
 */
function mappedToV4(base: bigint, bits: number): [bigint, number, number] | null {
  if (base >> 32n !== MAPPED_PREFIX) return null;
  return [base & 0xffffffffn, bits - 96, 32];
}

export interface CidrMatcher {
  matches(ip: string): boolean;
}

/**
 * Compiles CIDR blocks (host bits set or not) into sorted, merged ranges so a
 * lookup is a binary search: the cost stays flat from one block to tens of
 * thousands.
 */
export function compileCidrs(cidrs: readonly string[]): CidrMatcher {
  const v4: Array<[bigint, number, number]> = [];
  const v6: Array<[bigint, number, number]> = [];
  for (const cidr of cidrs) {
    const [addr, bits] = ipaddr.parseCIDR(cidr);
    const width = addr.kind() === 'ipv4' ? 32 : 128;
    const hostBits = BigInt(width - bits);
    const base = (toBigInt(addr.toByteArray()) >> hostBits) << hostBits;
    (width === 32 ? v4 : v6).push([base, bits, width]);
  }
  // Clients at IPv4-mapped addresses are matched as IPv4, so a mapped block
  // must be too, or it would match nothing at all.
  for (const [base, bits] of v6) {
    const mapped = mappedToV4(base, bits);
    if (mapped) v4.push(mapped);
  }
  const v4Ranges = buildRanges(v4);
  const v6Ranges = buildRanges(v6);
  return {
    matches(ip: string): boolean {
      const addr = parseClientIp(ip);
      if (!addr) return false;
      const value = toBigInt(addr.toByteArray());
      return addr.kind() === 'ipv4' ? contains(v4Ranges, value) : contains(v6Ranges, value);
    },
  };
}
