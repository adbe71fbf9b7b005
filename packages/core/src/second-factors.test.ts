import { Secret, TOTP, URI } from 'otpauth';
import { describe, expect, it } from 'vitest';
import {
  BACKUP_CODE_ALPHABET,
  BACKUP_CODE_COUNT,
  backupCodeBits,
  backupCodeRefusal,
  challengeMethods,
  generateBackupCodes,
  isBackupCodeShape,
  matchTotp,
  newTotpSecret,
  normalizeBackupCode,
  parseMethods,
  sendsSmsAtStart,
  totpStep,
  totpStepFresh,
  totpUri,
} from './second-factors.ts';

/** RFC 6238 appendix B: the SHA-1 seed is the ASCII "12345678901234567890". */
const RFC_SEED = '12345678901234567890';
const RFC_SEED_BASE32 = Secret.fromLatin1(RFC_SEED).base32;
const RFC_SHA1_VECTORS: [seconds: number, totp: string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
];

const libraryCode = (secret: string, timestamp: number) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp });

describe('TOTP (RFC 6238)', () => {
  it('the library gives the appendix B SHA-1 vectors (8 digits)', () => {
    expect(RFC_SEED_BASE32).toBe('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ');
    for (const [seconds, expected] of RFC_SHA1_VECTORS) {
      const code = TOTP.generate({
        secret: Secret.fromLatin1(RFC_SEED),
        algorithm: 'SHA1',
        digits: 8,
        period: 30,
        timestamp: seconds * 1000,
      });
      expect(code).toBe(expected);
    }
  });

  it('matches the vectors truncated to 6 digits, at the step the RFC gives', () => {
    for (const [seconds, expected] of RFC_SHA1_VECTORS) {
      const now = new Date(seconds * 1000);
      expect(matchTotp(RFC_SEED_BASE32, expected.slice(2), now)).toBe(Math.floor(seconds / 30));
      expect(totpStep(now)).toBe(Math.floor(seconds / 30));
    }
  });

  it('takes the current step and one either side, not two', () => {
    const secret = newTotpSecret();
    const now = new Date(Date.UTC(2026, 11, 6, 12, 0, 15));
    const step = totpStep(now);
    const at = (offset: number) => libraryCode(secret, (step + offset) * 30_000);
    expect(matchTotp(secret, at(0), now)).toBe(step);
    expect(matchTotp(secret, at(-1), now)).toBe(step - 1);
    expect(matchTotp(secret, at(1), now)).toBe(step + 1);
    for (const offset of [-3, -2, 2, 3]) {
      const code = at(offset);
      // A code of a far step may by chance equal one inside the window.
      const inside = [-1, 0, 1].some((o) => at(o) === code);
      if (!inside) expect(matchTotp(secret, code, now)).toBeNull();
    }
  });

  it('moves the window at the exact step edges', () => {
    const secret = newTotpSecret();
    const step = 59_000_000;
    const firstMs = new Date(step * 30_000);
    const lastMs = new Date(step * 30_000 + 29_999);
    const code = (s: number) => libraryCode(secret, s * 30_000);
    expect(totpStep(firstMs)).toBe(step);
    expect(totpStep(lastMs)).toBe(step);
    expect(totpStep(new Date(step * 30_000 - 1))).toBe(step - 1);
    // In the step's last millisecond the next step is still inside; at its first, the one before.
    expect(matchTotp(secret, code(step + 1), lastMs)).toBe(step + 1);
    expect(matchTotp(secret, code(step - 1), firstMs)).toBe(step - 1);
    const twoBack = code(step - 2);
    if (![step - 1, step, step + 1].some((s) => code(s) === twoBack)) {
      expect(matchTotp(secret, twoBack, firstMs)).toBeNull();
      expect(matchTotp(secret, twoBack, new Date(step * 30_000 - 1))).toBe(step - 2);
    }
  });

  it('refuses codes that are not 6 digits', () => {
    const secret = newTotpSecret();
    const now = new Date();
    const code = libraryCode(secret, now.getTime());
    expect(matchTotp(secret, code, now)).toBe(totpStep(now));
    expect(matchTotp(secret, `${code}0`, now)).toBeNull();
    expect(matchTotp(secret, code.slice(1), now)).toBeNull();
    expect(matchTotp(secret, `${code.slice(0, 5)}x`, now)).toBeNull();
    expect(matchTotp(secret, ` ${code.slice(1)}`, now)).toBeNull();
    expect(matchTotp(secret, '', now)).toBeNull();
  });

  it('refuses a step once used', () => {
    expect(totpStepFresh(10, null)).toBe(true);
    expect(totpStepFresh(10, 9)).toBe(true);
    expect(totpStepFresh(10, 10)).toBe(false);
    expect(totpStepFresh(10, 11)).toBe(false);
    expect(totpStepFresh(0, null)).toBe(true);
  });

  it('makes 160-bit base32 secrets and a URI apps read', () => {
    const secret = newTotpSecret();
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(Secret.fromBase32(secret).bytes.length).toBe(20);
    expect(newTotpSecret()).not.toBe(secret);
    const uri = totpUri(secret, 'Happy Paws', 'anna@example.com');
    expect(uri.startsWith('otpauth://totp/')).toBe(true);
    const parsed = URI.parse(uri);
    expect(parsed).toBeInstanceOf(TOTP);
    const t = parsed as TOTP;
    expect(t.issuer).toBe('Happy Paws');
    expect(t.label).toBe('anna@example.com');
    expect(t.secret.base32).toBe(secret);
    expect(t.algorithm).toBe('SHA1');
    expect(t.digits).toBe(6);
    expect(t.period).toBe(30);
  });
});

describe('backup codes', () => {
  it('makes 10 distinct readable codes of at least 40 bits', () => {
    const codes = generateBackupCodes();
    expect(codes).toHaveLength(BACKUP_CODE_COUNT);
    expect(new Set(codes).size).toBe(BACKUP_CODE_COUNT);
    expect(backupCodeBits()).toBeGreaterThanOrEqual(40);
    expect(backupCodeBits()).toBeCloseTo(10 * Math.log2(31), 6);
    for (const code of codes) {
      expect(code).toMatch(/^[2-9a-hjkmnp-z]{5}-[2-9a-hjkmnp-z]{5}$/);
      expect(isBackupCodeShape(normalizeBackupCode(code))).toBe(true);
    }
    expect(generateBackupCodes(3)).toHaveLength(3);
  });

  it('uses every symbol of its alphabet and nothing ambiguous', () => {
    expect(BACKUP_CODE_ALPHABET).toHaveLength(31);
    expect(BACKUP_CODE_ALPHABET).not.toMatch(/[01ilo]/);
    const seen = new Set(generateBackupCodes(200).join('').replaceAll('-', ''));
    expect(seen.size).toBe(31);
  });

  it('ignores case, spaces and dashes', () => {
    expect(normalizeBackupCode('K7M2Q-X9P4T')).toBe('k7m2qx9p4t');
    expect(normalizeBackupCode(' k7m2q x9p4t ')).toBe('k7m2qx9p4t');
    expect(normalizeBackupCode('k7-m2q--x9\tp4t')).toBe('k7m2qx9p4t');
    expect(normalizeBackupCode('k7m2qx9p4t')).toBe('k7m2qx9p4t');
  });

  it('tells a possible code from one that cannot be', () => {
    expect(isBackupCodeShape('k7m2qx9p4t')).toBe(true);
    expect(isBackupCodeShape('k7m2qx9p4')).toBe(false);
    expect(isBackupCodeShape('k7m2qx9p4tt')).toBe(false);
    expect(isBackupCodeShape('k7m2qx9p40')).toBe(false);
    expect(isBackupCodeShape('K7m2qx9p4t')).toBe(false);
  });
});

describe('methods', () => {
  const all = ['sms', 'totp', 'backup_code'] as const;
  it('offers the app first when the user has one and it is allowed', () => {
    expect(challengeMethods(all, { totpActive: true })).toEqual(['totp', 'sms', 'backup_code']);
    expect(challengeMethods(all, { totpActive: false })).toEqual(['sms', 'backup_code']);
    expect(challengeMethods(['sms', 'backup_code'], { totpActive: true })).toEqual([
      'sms',
      'backup_code',
    ]);
    expect(challengeMethods(['totp'], { totpActive: true })).toEqual(['totp']);
    expect(challengeMethods(['totp'], { totpActive: false })).toEqual([]);
    expect(challengeMethods(['sms'], { totpActive: true })).toEqual(['sms']);
    expect(challengeMethods(all, { totpActive: true, hasPhone: false })).toEqual([
      'totp',
      'backup_code',
    ]);
    expect(challengeMethods(all, { totpActive: true, hasPhone: true })).toEqual([
      'totp',
      'sms',
      'backup_code',
    ]);
    // Without an app, a user with no phone is asked for one (phone_required).
    expect(challengeMethods(all, { totpActive: false, hasPhone: false })).toEqual([
      'sms',
      'backup_code',
    ]);
    expect(challengeMethods(['sms', 'backup_code'], { totpActive: true, hasPhone: false })).toEqual(
      ['sms', 'backup_code'],
    );
    expect(challengeMethods(['backup_code', 'totp'], { totpActive: true })).toEqual([
      'totp',
      'backup_code',
    ]);
  });

  it('sends an SMS at the start only when SMS comes first', () => {
    expect(sendsSmsAtStart(['sms', 'backup_code'])).toBe(true);
    expect(sendsSmsAtStart(['totp', 'sms', 'backup_code'])).toBe(false);
    expect(sendsSmsAtStart(['backup_code'])).toBe(false);
    expect(sendsSmsAtStart([])).toBe(false);
  });

  it('parses a non-empty subset, in the canonical order', () => {
    expect(parseMethods(['backup_code', 'sms'])).toEqual(['sms', 'backup_code']);
    expect(parseMethods(['totp'])).toEqual(['totp']);
    expect(parseMethods(['sms', 'sms'])).toEqual(['sms']);
    expect(parseMethods([])).toBeNull();
    expect(parseMethods(['sms', 'email'])).toBeNull();
  });
});

describe('backupCodeRefusal', () => {
  const now = new Date('2026-12-06T12:00:00Z');
  const later = new Date(now.getTime() + 60_000);
  const earlier = new Date(now.getTime() - 1);
  it('takes pending, phone_required and failed challenges in their lifetime', () => {
    for (const status of ['pending', 'phone_required', 'failed'] as const) {
      expect(backupCodeRefusal({ status, expiresAt: later }, now)).toBeNull();
    }
  });
  it('refuses expired, locked and closed ones', () => {
    expect(backupCodeRefusal({ status: 'pending', expiresAt: earlier }, now)).toEqual({
      code: 'challenge_expired',
      status: 'expired',
    });
    expect(backupCodeRefusal({ status: 'failed', expiresAt: now }, now)).toEqual({
      code: 'challenge_expired',
      status: 'expired',
    });
    expect(backupCodeRefusal({ status: 'locked', expiresAt: later }, now)).toEqual({
      code: 'challenge_locked',
      status: 'locked',
    });
    for (const status of ['approved', 'canceled'] as const) {
      for (const expiresAt of [later, earlier]) {
        expect(backupCodeRefusal({ status, expiresAt }, now)).toEqual({
          code: 'challenge_not_pending',
          status,
        });
      }
    }
    // Closed ones say what closed them, whatever their expiry.
    expect(backupCodeRefusal({ status: 'locked', expiresAt: earlier }, now)).toEqual({
      code: 'challenge_locked',
      status: 'locked',
    });
  });
});
