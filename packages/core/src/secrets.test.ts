import { describe, expect, it } from 'vitest';
import {
  dummyPasswordHash,
  generateCode,
  generateToken,
  hashPassword,
  hashSecret,
  safeEqual,
  verifyPassword,
} from './secrets.ts';

/** Cheap scrypt for tests: the API takes the cost as an option and stores it in the hash. */
const CHEAP = { N: 1024, r: 8, p: 1 };

function chiSquare(counts: number[], expected: number): number {
  return counts.reduce((sum, n) => sum + (n - expected) ** 2 / expected, 0);
}

describe('generateCode', () => {
  it('is always six ASCII digits, leading zeros kept', () => {
    for (let i = 0; i < 20_000; i++) expect(generateCode()).toMatch(/^[0-9]{6}$/);
  });

  it('is roughly uniform per digit position and over the whole range', () => {
    const draws = 60_000;
    const perPosition = Array.from({ length: 6 }, () => new Array<number>(10).fill(0));
    const buckets = new Array<number>(100).fill(0);
    const seen = new Set<string>();
    for (let i = 0; i < draws; i++) {
      const code = generateCode();
      seen.add(code);
      for (let p = 0; p < 6; p++) perPosition[p]![Number(code[p])]!++;
      buckets[Math.floor(Number(code) / 10_000)]!++;
    }
    // Very loose bounds (p well under 1e-6 for a fair generator), so this never flakes,
    // yet a biased generator (modulo bias, a stuck digit, lost leading zeros) fails by far.
    for (const counts of perPosition) {
      expect(chiSquare(counts, draws / 10)).toBeLessThan(50); // 9 degrees of freedom
    }
    expect(chiSquare(buckets, draws / 100)).toBeLessThan(190); // 99 degrees of freedom
    // 60,000 draws from a million values: about 1,760 repeats are expected.
    expect(seen.size).toBeGreaterThan(57_000);
  });
});

describe('hashSecret', () => {
  const secret = 'app-secret-for-tests-0123456789';

  it('is deterministic and does not contain the value', () => {
    const a = hashSecret(secret, 'code', '123456', 'send-1');
    expect(hashSecret(secret, 'code', '123456', 'send-1')).toBe(a);
    expect(a).not.toContain('123456');
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/); // 256-bit HMAC, base64url
  });

  it('differs by purpose, context, value and key', () => {
    const hashes = [
      hashSecret(secret, 'code', '123456', 'send-1'),
      hashSecret(secret, 'code', '123456', 'send-2'),
      hashSecret(secret, 'code', '123456'),
      hashSecret(secret, 'device-token', '123456', 'send-1'),
      hashSecret(secret, 'api-key', '123456', 'send-1'),
      hashSecret(secret, 'code', '123457', 'send-1'),
      hashSecret(`${secret}x`, 'code', '123456', 'send-1'),
    ];
    expect(new Set(hashes).size).toBe(hashes.length);
  });

  it('does not let context and value run into each other', () => {
    expect(hashSecret(secret, 'code', '23456', 'send-1')).not.toBe(
      hashSecret(secret, 'code', '123456', 'send-'),
    );
  });
});

describe('safeEqual', () => {
  it.each([
    ['abc', 'abc', true],
    ['', '', true],
    ['abc', 'abd', false],
    ['abc', 'ab', false],
    ['ab', 'abc', false],
    ['abc', '', false],
    ['é', 'e\u0301', false],
  ])('%j vs %j -> %s', (a, b, equal) => {
    expect(safeEqual(a, b)).toBe(equal);
  });
});

describe('generateToken', () => {
  it('is prefixed, 256 random bits, and never repeats', () => {
    const tokens = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const token = generateToken('tfd');
      expect(token).toMatch(/^tfd_[A-Za-z0-9_-]{43}$/);
      tokens.add(token);
    }
    expect(tokens.size).toBe(1_000);
  });
});

describe('hashPassword / verifyPassword', () => {
  it('verifies the right password and refuses others', async () => {
    const stored = await hashPassword('correct horse battery', CHEAP);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
    expect(await verifyPassword('correct horse batterY', stored)).toBe(false);
    expect(await verifyPassword('correct horse battery ', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  it('stores a salted scrypt hash with its cost, never the password', async () => {
    const a = await hashPassword('correct horse battery', CHEAP);
    const b = await hashPassword('correct horse battery', CHEAP);
    expect(a).not.toBe(b);
    expect(a).not.toContain('correct');
    expect(a).toMatch(/^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    expect(await verifyPassword('correct horse battery', b)).toBe(true);
  });

  it('uses at least OWASP scrypt cost by default', async () => {
    const stored = await hashPassword('correct horse battery');
    const [, n, r, p] = stored.split('$');
    expect(Number(n)).toBeGreaterThanOrEqual(2 ** 15);
    expect(Number(r)).toBeGreaterThanOrEqual(8);
    expect(Number(p)).toBeGreaterThanOrEqual(1);
    expect(await verifyPassword('correct horse battery', stored)).toBe(true);
  });

  it('treats canonically equal Unicode passwords alike', async () => {
    const stored = await hashPassword('p\u00e4ssw\u00f6rd', CHEAP);
    expect(await verifyPassword('pa\u0308sswo\u0308rd', stored)).toBe(true);
  });

  it.each([
    '',
    'plain-text-password',
    'bcrypt$10$abc$def',
    'scrypt$1024$8$1$onlysalt',
    'scrypt$$8$1$c2FsdA$a2V5',
  ])('refuses a malformed stored hash %j', async (stored) => {
    expect(await verifyPassword('plain-text-password', stored)).toBe(false);
  });

  it('the dummy hash for unknown emails is stable and matches nothing guessable', async () => {
    const dummy = await dummyPasswordHash();
    expect(await dummyPasswordHash()).toBe(dummy);
    expect(dummy).toMatch(/^scrypt\$/);
    expect(await verifyPassword('', dummy)).toBe(false);
    expect(await verifyPassword('password', dummy)).toBe(false);
  });
});
