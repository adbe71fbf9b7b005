import { type ChallengeFacts, type ChallengeStatus, effectiveStatus } from './challenge.ts';
import { MAX_SENDS_PER_CHALLENGE, MAX_WRONG_ATTEMPTS, RESEND_COOLDOWN_MS } from './constants.ts';

/**
 * The refusal rules of a challenge's lifecycle, one function per step. The
 * API and the pages both ask these before acting, and ask them again after a
 * statement lost a race, so a rule lives here and nowhere else (the SQL
 * guards repeat them only to make races safe).
 */
export type ChallengeRefusal =
  | { code: 'challenge_expired'; status: 'expired' }
  | { code: 'challenge_locked'; status: 'locked' }
  | { code: 'challenge_not_pending'; status: ChallengeStatus }
  | { code: 'phone_already_set'; status: ChallengeStatus }
  | { code: 'too_many_sends'; status: 'pending' }
  | { code: 'resend_too_soon'; status: 'pending'; retryAfterSeconds: number };

export type RefusalCode = ChallengeRefusal['code'];

type Facts = Pick<ChallengeFacts, 'status' | 'expiresAt'>;

/** Verify takes a code only while pending; expired and locked say so, anything else is not pending. */
export function verifyRefusal(challenge: Facts, now: Date): ChallengeRefusal | null {
  const status = effectiveStatus(challenge, now);
  if (status === 'pending') return null;
  if (status === 'expired') return { code: 'challenge_expired', status };
  if (status === 'locked') return { code: 'challenge_locked', status };
  return { code: 'challenge_not_pending', status };
}

/** A phone is taken only by a phone_required challenge that has not expired or been canceled. */
export function phoneRefusal(challenge: Facts, now: Date): ChallengeRefusal | null {
  const status = effectiveStatus(challenge, now);
  if (status === 'phone_required') return null;
  if (status === 'expired') return { code: 'challenge_expired', status };
  if (status === 'canceled') return { code: 'challenge_not_pending', status };
  return { code: 'phone_already_set', status };
}

/** Resend: pending only, at most MAX_SENDS_PER_CHALLENGE codes, 30 s apart. */
export function resendRefusal(
  challenge: Facts & Pick<ChallengeFacts, 'sendCount'> & { lastSendAt: Date | null },
  now: Date,
): ChallengeRefusal | null {
  const status = effectiveStatus(challenge, now);
  if (status !== 'pending') return { code: 'challenge_not_pending', status };
  if (challenge.sendCount >= MAX_SENDS_PER_CHALLENGE) return { code: 'too_many_sends', status };
  const waitMs = challenge.lastSendAt
    ? challenge.lastSendAt.getTime() + RESEND_COOLDOWN_MS - now.getTime()
    : 0;
  if (waitMs > 0) {
    return { code: 'resend_too_soon', status, retryAfterSeconds: Math.ceil(waitMs / 1000) };
  }
  return null;
}

/** What one more wrong code leaves: the attempts left, and whether that locks the challenge. */
export function afterWrongCode(wrongAttempts: number): {
  attemptsRemaining: number;
  locked: boolean;
} {
  const attemptsRemaining = Math.max(0, MAX_WRONG_ATTEMPTS - wrongAttempts);
  return { attemptsRemaining, locked: attemptsRemaining === 0 };
}

/** How long a user stays locked after too many wrong codes in a row (an admin can lift it early). */
export const USER_LOCK_MS = 24 * 60 * 60 * 1000;

/** Whether a run of consecutive wrong codes, over all of a user's challenges, locks the user. */
export function locksUser(consecutiveFailures: number, maxConsecutiveFailures: number): boolean {
  return consecutiveFailures >= maxConsecutiveFailures;
}

/**
 * The same rule as `locksUser`, as the SQL expression the wrong-code statement decides it
 * with (under the user's row lock, so parallel wrong codes lock exactly once):
 * `consecutiveFailures` is the SQL for the run, this code included. Kept beside the
 * rule so the two change together; tests/integration/rule-guards runs both over one table.
 */
export function locksUserSql(consecutiveFailures: string, maxConsecutiveFailures: number): string {
  if (!Number.isSafeInteger(maxConsecutiveFailures)) {
    throw new RangeError(`not an integer: ${maxConsecutiveFailures}`);
  }
  return `(${consecutiveFailures}) >= ${maxConsecutiveFailures}`;
}

/** "1 attempt remains", "3 attempts remain". */
export function attemptsPhrase(attemptsRemaining: number): string {
  return attemptsRemaining === 1 ? '1 attempt remains' : `${attemptsRemaining} attempts remain`;
}

/** A human sentence for a refusal, for the JSON `detail` and the pages alike. */
export function refusalDetail(refusal: ChallengeRefusal): string {
  switch (refusal.code) {
    case 'challenge_expired':
      return 'The challenge has expired; start a new one.';
    case 'challenge_locked':
      return 'Too many wrong codes; start a new challenge.';
    case 'challenge_not_pending':
      return refusal.status === 'canceled'
        ? 'The challenge was canceled; start a new one.'
        : `The challenge is ${refusal.status}.`;
    case 'phone_already_set':
      return `The challenge is ${refusal.status}; it takes no phone.`;
    case 'too_many_sends':
      return `A challenge sends at most ${MAX_SENDS_PER_CHALLENGE} codes.`;
    case 'resend_too_soon':
      return `Wait ${refusal.retryAfterSeconds} s before asking for another code.`;
  }
}
