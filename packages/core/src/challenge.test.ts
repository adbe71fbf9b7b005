import { describe, expect, it } from 'vitest';
import {
  type ChallengeFacts,
  challengeView,
  DEFAULT_CIRCUIT_BREAKER,
  effectiveStatus,
  isSendPaused,
  type SendStatus,
  type StoredChallengeStatus,
} from './challenge.ts';
import { codeMessage } from './sms-text.ts';

const NOW = new Date('2025-03-01T12:00:00.000Z');
const later = (ms: number) => new Date(NOW.getTime() + ms);

function facts(patch: Partial<ChallengeFacts> = {}): ChallengeFacts {
  return {
    id: 'ch-1',
    userId: 'user-1',
    status: 'pending',
    phone: '+358401234567',
    expiresAt: later(10 * 60 * 1000),
    wrongAttempts: 0,
    sendCount: 1,
    failureReason: null,
    latestSend: { status: 'queued', errorCode: null },
    methods: ['sms', 'backup_code'],
    ...patch,
  };
}

describe('effectiveStatus', () => {
  it.each([
    ['pending', 1, 'pending'],
    ['pending', 0, 'expired'],
    ['pending', -1, 'expired'],
    ['phone_required', 1, 'phone_required'],
    ['phone_required', 0, 'expired'],
    ['approved', -1, 'approved'],
    ['locked', -1, 'locked'],
    ['failed', -1, 'failed'],
  ] as Array<[StoredChallengeStatus, number, string]>)(
    '%s with expiry %i ms from now reads %s',
    (status, offset, expected) => {
      expect(effectiveStatus({ status, expiresAt: later(offset) }, NOW)).toBe(expected);
    },
  );
});

describe('challengeView', () => {
  it('shows a fresh challenge as the contract describes it', () => {
    expect(challengeView(facts(), NOW)).toEqual({
      id: 'ch-1',
      userId: 'user-1',
      status: 'pending',
      maskedPhone: '+35840*****67',
      expiresAt: '2025-03-01T12:10:00.000Z',
      attemptsRemaining: 5,
      sendsRemaining: 4,
      delivery: { status: 'queued', errorCode: null },
      failureReason: null,
      methods: ['sms', 'backup_code'],
    });
  });

  it('has no delivery and no phone before the first send of a phone_required challenge', () => {
    const view = challengeView(
      facts({ status: 'phone_required', phone: null, sendCount: 0, latestSend: null }),
      NOW,
    );
    expect(view).toMatchObject({
      status: 'phone_required',
      maskedPhone: null,
      delivery: null,
      sendsRemaining: 5,
    });
  });

  it('counts attempts and sends down, never below zero', () => {
    expect(challengeView(facts({ wrongAttempts: 4, sendCount: 5 }), NOW)).toMatchObject({
      attemptsRemaining: 1,
      sendsRemaining: 0,
    });
    expect(challengeView(facts({ wrongAttempts: 5, status: 'locked' }), NOW)).toMatchObject({
      attemptsRemaining: 0,
      status: 'locked',
    });
  });

  it('shows an internal provider retry as still sending', () => {
    const view = challengeView(
      facts({ latestSend: { status: 'retrying', errorCode: '503' } }),
      NOW,
    );
    expect(view.delivery).toEqual({ status: 'sending', errorCode: '503' });
  });

  it.each([
    'queued',
    'sending',
    'sent',
    'delivered',
    'undelivered',
    'failed',
    'insufficient_balance',
    'unknown',
  ] as SendStatus[])('passes the contract delivery status %s through', (status) => {
    expect(challengeView(facts({ latestSend: { status, errorCode: null } }), NOW).delivery).toEqual(
      { status, errorCode: null },
    );
  });

  it('shows a rejected send with its reason and provider code', () => {
    const view = challengeView(
      facts({
        status: 'failed',
        failureReason: 'sms_rejected',
        latestSend: { status: 'failed', errorCode: '21211' },
      }),
      NOW,
    );
    expect(view).toMatchObject({
      status: 'failed',
      failureReason: 'sms_rejected',
      delivery: { status: 'failed', errorCode: '21211' },
    });
  });

  it('reads an open challenge past its expiry as expired', () => {
    expect(challengeView(facts({ expiresAt: NOW }), NOW).status).toBe('expired');
  });
});

describe('isSendPaused', () => {
  const on = DEFAULT_CIRCUIT_BREAKER;

  it('uses the contract defaults: 30 sends, 20% verified', () => {
    expect(on).toEqual({ enabled: true, minSent: 30, minVerifiedRatio: 0.2 });
  });

  it.each([
    ['too few sends to judge', { sentLastHour: 29, verifiedLastHour: 0 }, false],
    ['at 30 sends, none verified', { sentLastHour: 30, verifiedLastHour: 0 }, true],
    ['just under 20% verified', { sentLastHour: 100, verifiedLastHour: 19 }, true],
    ['exactly 20% verified', { sentLastHour: 100, verifiedLastHour: 20 }, false],
    ['healthy', { sentLastHour: 100, verifiedLastHour: 80 }, false],
  ])('%s', (_name, stats, paused) => {
    expect(isSendPaused({ ...stats, destinationVerifiedBefore: false }, on)).toBe(paused);
  });

  it('never pauses a number that verified before, nor when switched off', () => {
    const bad = { sentLastHour: 1000, verifiedLastHour: 0 };
    expect(isSendPaused({ ...bad, destinationVerifiedBefore: true }, on)).toBe(false);
    expect(
      isSendPaused({ ...bad, destinationVerifiedBefore: false }, { ...on, enabled: false }),
    ).toBe(false);
  });
});

describe('codeMessage', () => {
  it('carries the code as a standalone 6-digit number and the 10-minute lifetime', () => {
    const text = codeMessage('012345');
    expect(text).toBe('twofa: your sign-in code is 012345. It expires in 10 minutes.');
    expect(text.match(/\b\d{6}\b/g)).toEqual(['012345']);
  });
});
