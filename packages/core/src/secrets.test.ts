import { scryptSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  dummyPasswordHash,
  generateCode,
  generateToken,
  hashesUnder,
  hashPassword,
  hashSecret,
  issueApiKey,
  matchesUnderAny,
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

  it('keeps the stored format: HMAC-SHA256 of purpose, context and value, NUL-separated, base64url', () => {
    // Pinned: API keys, device tokens and codes already stored must keep matching.
    expect
      .soft(hashSecret(secret, 'api-key', 'tfa_example'))
      .toBe('1__-j8dwci-iZV1vKPgXUVcLSOcQFVpwDjg4zGifh8I');
    expect
      .soft(hashSecret(secret, 'code', '123456', 'send-1'))
      .toBe('aEzuFgTZtusIgvWW31dc8hAZKq9vBuV37BmUVcrscGM');
    expect(hashSecret(secret, 'device-token', 'tfd_example')).toBe(
      'I9FLNd1rFIC-IFAtQSlVvSlv0Jeh9cvkykesBQrCC5A',
    );
    expect(hashSecret(secret, 'api-key', 'tfa_example', '')).toBe(
      hashSecret(secret, 'api-key', 'tfa_example'),
    );
  });

  it('does not let context and value run into each other', () => {
    expect(hashSecret(secret, 'code', '23456', 'send-1')).not.toBe(
      hashSecret(secret, 'code', '123456', 'send-'),
    );
  });
});

describe('hashesUnder / matchesUnderAny (APP_SECRET, then APP_SECRET_PREVIOUS)', () => {
  const NEW = 'new-app-secret-0123456789abcdef';
  const OLD = 'old-app-secret-0123456789abcdef';

  it('hashes under each secret, in order, with purpose and context', () => {
    expect(hashesUnder([NEW, OLD], 'session', 'tok', 'ctx')).toEqual([
      hashSecret(NEW, 'session', 'tok', 'ctx'),
      hashSecret(OLD, 'session', 'tok', 'ctx'),
    ]);
    expect(hashesUnder([NEW], 'session', 'tok')).toEqual([hashSecret(NEW, 'session', 'tok', '')]);
    expect(hashesUnder([], 'session', 'tok')).toEqual([]);
  });

  it('matches a hash made under any of the secrets, and nothing else', () => {
    const underOld = hashSecret(OLD, 'code', '123456', 'send');
    const underNew = hashSecret(NEW, 'code', '123456', 'send');
    expect(matchesUnderAny([NEW, OLD], 'code', '123456', underOld, 'send')).toBe(true);
    expect(matchesUnderAny([NEW, OLD], 'code', '123456', underNew, 'send')).toBe(true);
    expect(matchesUnderAny([NEW], 'code', '123456', underOld, 'send')).toBe(false);
    expect(matchesUnderAny([NEW, OLD], 'code', '654321', underOld, 'send')).toBe(false);
    expect(matchesUnderAny([NEW, OLD], 'code', '123456', underOld, 'other')).toBe(false);
    expect(matchesUnderAny([NEW, OLD], 'csrf', '123456', underOld, 'send')).toBe(false);
    expect(matchesUnderAny([], 'code', '123456', underOld, 'send')).toBe(false);
    expect(matchesUnderAny([NEW, OLD], 'code', '123456', '', 'send')).toBe(false);
    expect(matchesUnderAny([NEW, OLD], 'csrf', 'v', hashSecret(OLD, 'csrf', 'v'))).toBe(true);
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

describe('issueApiKey', () => {
  const secret = 'app-secret-for-tests-0123456789';

  it('gives a fresh tfa_ key and its api-key hash, which is what auth looks up', () => {
    const a = issueApiKey(secret);
    const b = issueApiKey(secret);
    expect(a.apiKey).toMatch(/^tfa_[A-Za-z0-9_-]{43}$/);
    expect(a.apiKeyHash).toBe(hashSecret(secret, 'api-key', a.apiKey));
    expect(a.apiKeyHash).not.toBe(hashSecret(secret, 'device-token', a.apiKey));
    expect(a.apiKeyHash).not.toContain(a.apiKey.slice(4));
    expect(b.apiKey).not.toBe(a.apiKey);
    expect(b.apiKeyHash).not.toBe(a.apiKeyHash);
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

  it('refuses a key of the wrong length instead of throwing', async () => {
    const stored = await hashPassword('correct horse battery', CHEAP);
    const fields = stored.split('$');
    const shorter = [...fields.slice(0, 5), fields[5]!.slice(0, 40)].join('$');
    const longer = [...fields.slice(0, 5), `${fields[5]}AAAA`].join('$');
    await expect(verifyPassword('correct horse battery', shorter)).resolves.toBe(false);
    await expect(verifyPassword('correct horse battery', longer)).resolves.toBe(false);
  });

  /**
   * Each field of a hash that would verify, blanked or altered. Node's scrypt
   * reads a cost of 0 as its default (N=16384, r=8, p=1), and scrypt takes an
   * empty salt: without the format check each of these would verify.
   */
  describe('refuses a stored hash whose format is wrong, even when its key matches', () => {
    const password = 'correct horse battery';
    const salt = Buffer.from('sixteen byte slt');
    const saltText = salt.toString('base64url');
    const key = (s: Buffer) =>
      scryptSync(password, s, 32, { N: 16384, r: 8, p: 1 }).toString('base64url');
    // Computed when a test here runs, not whenever the file is collected.
    let keyText = '';
    let unsaltedKey = '';
    beforeAll(() => {
      keyText = key(salt);
      unsaltedKey = key(Buffer.alloc(0));
    });

    it('the hash it alters verifies as it is', async () => {
      await expect(
        verifyPassword(password, `scrypt$16384$8$1$${saltText}$${keyText}`),
      ).resolves.toBe(true);
    });

    it.each([
      ['another scheme', () => `bcrypt$16384$8$1$${saltText}$${keyText}`],
      ['no scheme', () => `$16384$8$1$${saltText}$${keyText}`],
      ['no N', () => `scrypt$$8$1$${saltText}$${keyText}`],
      ['no r', () => `scrypt$16384$$1$${saltText}$${keyText}`],
      ['no p', () => `scrypt$16384$8$$${saltText}$${keyText}`],
      ['no salt', () => `scrypt$16384$8$1$$${unsaltedKey}`],
      ['no key', () => `scrypt$16384$8$1$${saltText}$`],
      ['fields missing', () => `scrypt$16384$8$1$${saltText}`],
    ])('%s', async (_what, stored) => {
      await expect(verifyPassword(password, stored())).resolves.toBe(false);
    });
  });

  it('the dummy hash for unknown emails is stable and matches nothing guessable', async () => {
    const dummy = await dummyPasswordHash();
    expect(await dummyPasswordHash()).toBe(dummy);
    expect(dummy).toMatch(/^scrypt\$/);
    expect(await verifyPassword('', dummy)).toBe(false);
    expect(await verifyPassword('password', dummy)).toBe(false);
  });
});
