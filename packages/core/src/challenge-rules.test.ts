import { describe, expect, it } from 'vitest';
import type { StoredChallengeStatus } from './challenge.ts';
import {
  afterWrongCode,
  attemptsPhrase,
  type ChallengeRefusal,
  locksUser,
  locksUserSql,
  phoneRefusal,
  refusalDetail,
  resendRefusal,
  USER_LOCK_MS,
  verifyRefusal,
} from './challenge-rules.ts';

const NOW = new Date('2026-12-01T12:00:00Z');
const later = new Date(NOW.getTime() + 60_000);
const earlier = new Date(NOW.getTime() - 1);

const challenge = (status: StoredChallengeStatus, expiresAt = later) => ({ status, expiresAt });

describe('verifyRefusal', () => {
  it.each<[StoredChallengeStatus, Date, ChallengeRefusal['code'] | null]>([
    ['pending', later, null],
    ['pending', earlier, 'challenge_expired'],
    ['pending', NOW, 'challenge_expired'],
    ['phone_required', later, 'challenge_not_pending'],
    ['phone_required', earlier, 'challenge_expired'],
    ['locked', later, 'challenge_locked'],
    ['locked', earlier, 'challenge_locked'],
    ['approved', later, 'challenge_not_pending'],
    ['failed', later, 'challenge_not_pending'],
    ['canceled', later, 'challenge_not_pending'],
    ['canceled', earlier, 'challenge_not_pending'],
  ])('%s expiring %s: %s', (status, expiresAt, code) => {
    expect(verifyRefusal(challenge(status, expiresAt), NOW)?.code ?? null).toBe(code);
  });
});

describe('phoneRefusal', () => {
  it.each<[StoredChallengeStatus, Date, ChallengeRefusal['code'] | null]>([
    ['phone_required', later, null],
    ['phone_required', earlier, 'challenge_expired'],
    ['pending', later, 'phone_already_set'],
    ['pending', earlier, 'challenge_expired'],
    ['approved', later, 'phone_already_set'],
    ['locked', later, 'phone_already_set'],
    ['failed', later, 'phone_already_set'],
    ['canceled', later, 'challenge_not_pending'],
  ])('%s expiring %s: %s', (status, expiresAt, code) => {
    expect(phoneRefusal(challenge(status, expiresAt), NOW)?.code ?? null).toBe(code);
  });
});

describe('resendRefusal', () => {
  const base = { status: 'pending' as const, expiresAt: later, sendCount: 1 };
  it.each<[string, Parameters<typeof resendRefusal>[0], ChallengeRefusal['code'] | null]>([
    [
      'pending, last send 30 s ago',
      { ...base, lastSendAt: new Date(NOW.getTime() - 30_000) },
      null,
    ],
    ['pending, never sent', { ...base, lastSendAt: null }, null],
    [
      'pending, last send 29.999 s ago',
      { ...base, lastSendAt: new Date(NOW.getTime() - 29_999) },
      'resend_too_soon',
    ],
    ['at the send cap', { ...base, sendCount: 5, lastSendAt: null }, 'too_many_sends'],
    ['one below the cap', { ...base, sendCount: 4, lastSendAt: null }, null],
    ['expired', { ...base, expiresAt: earlier, lastSendAt: null }, 'challenge_not_pending'],
    ['canceled', { ...base, status: 'canceled', lastSendAt: null }, 'challenge_not_pending'],
    [
      'phone_required',
      { ...base, status: 'phone_required', lastSendAt: null },
      'challenge_not_pending',
    ],
    [
      'approved at the cap',
      { ...base, status: 'approved', sendCount: 5, lastSendAt: null },
      'challenge_not_pending',
    ],
    ['cap before cooldown', { ...base, sendCount: 5, lastSendAt: NOW }, 'too_many_sends'],
  ])('%s', (_, facts, code) => {
    expect(resendRefusal(facts, NOW)?.code ?? null).toBe(code);
  });

  it('rounds the wait up to whole seconds', () => {
    const refusal = resendRefusal({ ...base, lastSendAt: new Date(NOW.getTime() - 100) }, NOW);
    expect(refusal).toEqual({ code: 'resend_too_soon', status: 'pending', retryAfterSeconds: 30 });
    const almost = resendRefusal({ ...base, lastSendAt: new Date(NOW.getTime() - 29_001) }, NOW);
    expect(almost).toMatchObject({ retryAfterSeconds: 1 });
  });
});

describe('wrong codes', () => {
  it.each([
    [1, 4, false],
    [4, 1, false],
    [5, 0, true],
    [6, 0, true],
  ])('after %i wrong: %i left, locked %s', (wrong, left, locked) => {
    expect(afterWrongCode(wrong)).toEqual({ attemptsRemaining: left, locked });
  });

  it.each([
    [19, 20, false],
    [20, 20, true],
    [21, 20, true],
    [0, 1, false],
  ])('%i consecutive failures against a cap of %i lock the user: %s', (n, cap, locked) => {
    expect(locksUser(n, cap)).toBe(locked);
  });

  it('locks a user for 24 hours', () => {
    expect(USER_LOCK_MS).toBe(86_400_000);
  });

  it('writes the user lock as SQL over the run, with the cap as a literal', () => {
    expect(locksUserSql('failures + 1', 20)).toBe('(failures + 1) >= 20');
    expect(() => locksUserSql('failures', 1.5)).toThrow(new RangeError('not an integer: 1.5'));
    expect(() => locksUserSql('failures', Number.NaN)).toThrow(RangeError);
  });

  it('says attempt in the singular for one', () => {
    expect(attemptsPhrase(1)).toBe('1 attempt remains');
    expect(attemptsPhrase(3)).toBe('3 attempts remain');
    expect(attemptsPhrase(0)).toBe('0 attempts remain');
  });
});

describe('refusalDetail', () => {
  it.each<[ChallengeRefusal, RegExp]>([
    [{ code: 'challenge_expired', status: 'expired' }, /expired/],
    [{ code: 'challenge_locked', status: 'locked' }, /wrong codes/],
    [
      { code: 'challenge_not_pending', status: 'canceled' },
      /^The challenge was canceled; start a new one\.$/,
    ],
    [{ code: 'challenge_not_pending', status: 'approved' }, /^The challenge is approved\.$/],
    [{ code: 'phone_already_set', status: 'pending' }, /takes no phone/],
    [{ code: 'too_many_sends', status: 'pending' }, /at most 5 codes/],
    [{ code: 'resend_too_soon', status: 'pending', retryAfterSeconds: 12 }, /Wait 12 s/],
  ])('%j', (refusal, text) => {
    expect(refusalDetail(refusal)).toMatch(text);
  });
});
