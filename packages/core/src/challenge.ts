import { MAX_SENDS_PER_CHALLENGE, MAX_WRONG_ATTEMPTS } from './constants.ts';
import type { SecondFactorMethod } from './enums.ts';
import { maskPhone } from './phone.ts';

export const STORED_CHALLENGE_STATUSES = [
  'phone_required',
  'pending',
  'approved',
  'locked',
  'failed',
  'canceled',
] as const;
export type StoredChallengeStatus = (typeof STORED_CHALLENGE_STATUSES)[number];
export const CHALLENGE_STATUSES = [...STORED_CHALLENGE_STATUSES, 'expired'] as const;
export type ChallengeStatus = (typeof CHALLENGE_STATUSES)[number];

/** What the API shows of a send (`delivery.status`). */
export const DELIVERY_STATUSES = [
  'queued',
  'sending',
  'sent',
  'delivered',
  'undelivered',
  'failed',
  'insufficient_balance',
  'unknown',
] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** States of one send request, as stored: `retrying` (shown as `sending`) waits for a provider retry. */
export const SEND_STATUSES = [...DELIVERY_STATUSES, 'retrying'] as const;
export type SendStatus = (typeof SEND_STATUSES)[number];

export const FAILURE_REASONS = [
  'sms_balance_exhausted',
  'sms_rejected',
  'sms_provider_unavailable',
  'sms_paused',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

export interface ChallengeFacts {
  id: string;
  userId: string;
  status: StoredChallengeStatus;
  phone: string | null;
  expiresAt: Date;
  wrongAttempts: number;
  sendCount: number;
  failureReason: FailureReason | null;
  latestSend: { status: SendStatus; errorCode: string | null } | null;
  /** What it accepts, in the order the page offers them. */
  methods: SecondFactorMethod[];
}

export interface ChallengeView {
  id: string;
  userId: string;
  status: ChallengeStatus;
  maskedPhone: string | null;
  expiresAt: string;
  attemptsRemaining: number;
  sendsRemaining: number;
  delivery: { status: DeliveryStatus; errorCode: string | null } | null;
  failureReason: FailureReason | null;
  methods: SecondFactorMethod[];
}

/** An open challenge past its expiry reads as expired; the row need not be rewritten. */
export function effectiveStatus(
  challenge: Pick<ChallengeFacts, 'status' | 'expiresAt'>,
  now: Date,
): ChallengeStatus {
  const open = challenge.status === 'pending' || challenge.status === 'phone_required';
  if (open && challenge.expiresAt.getTime() <= now.getTime()) return 'expired';
  return challenge.status;
}

export function challengeView(challenge: ChallengeFacts, now: Date): ChallengeView {
  const send = challenge.latestSend;
  return {
    id: challenge.id,
    userId: challenge.userId,
    status: effectiveStatus(challenge, now),
    maskedPhone: maskPhone(challenge.phone),
    expiresAt: challenge.expiresAt.toISOString(),
    attemptsRemaining: Math.max(0, MAX_WRONG_ATTEMPTS - challenge.wrongAttempts),
    sendsRemaining: Math.max(0, MAX_SENDS_PER_CHALLENGE - challenge.sendCount),
    delivery: send
      ? { status: send.status === 'retrying' ? 'sending' : send.status, errorCode: send.errorCode }
      : null,
    failureReason: challenge.failureReason,
    methods: challenge.methods,
  };
}

export interface CircuitBreakerSettings {
  enabled: boolean;
  minSent: number;
  minVerifiedRatio: number;
}

export const DEFAULT_CIRCUIT_BREAKER: CircuitBreakerSettings = {
  enabled: true,
  minSent: 30,
  minVerifiedRatio: 0.2,
};

/**
 * SMS pumping guard: when too few of an organization's recent codes are
 * verified, sends to numbers that never verified are paused.
 */
export function isSendPaused(
  stats: { sentLastHour: number; verifiedLastHour: number; destinationVerifiedBefore: boolean },
  settings: CircuitBreakerSettings,
): boolean {
  if (!settings.enabled || stats.destinationVerifiedBefore) return false;
  if (stats.sentLastHour < settings.minSent) return false;
  return stats.verifiedLastHour / stats.sentLastHour < settings.minVerifiedRatio;
}
