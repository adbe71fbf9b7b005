import { type ChallengeRefusal, refusalDetail } from '@twofa/core';
import { ApiError } from '../lib/errors.ts';

/** A refusal rule's verdict as the contract's error. */
export function refusalError(refusal: ChallengeRefusal): ApiError {
  const detail = refusalDetail(refusal);
  if (refusal.code === 'resend_too_soon') {
    const retryAfter = refusal.retryAfterSeconds;
    return new ApiError(
      'resend_too_soon',
      detail,
      { retryAfter },
      { 'retry-after': String(retryAfter) },
    );
  }
  if (refusal.code === 'challenge_locked') {
    return new ApiError(refusal.code, detail, { attemptsRemaining: 0 });
  }
  return new ApiError(refusal.code, detail, { challengeStatus: refusal.status });
}

/** 423 user_locked: too many wrong codes in a row; an admin can lift it early. */
export function userLocked(lockedUntil: Date | null): ApiError {
  return new ApiError(
    'user_locked',
    lockedUntil
      ? `Too many wrong codes in a row; the user is locked until ${lockedUntil.toISOString()}.`
      : 'Too many wrong codes in a row; the user is locked.',
    { lockedUntil: lockedUntil?.toISOString() ?? null },
  );
}

export const invalidCredentials = () =>
  new ApiError('invalid_credentials', 'The email or password is wrong.');
