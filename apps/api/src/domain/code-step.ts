import {
  type ChallengeView,
  challengeView,
  hashSecret,
  resendRefusal,
  safeEqual,
} from '@twofa/core';
import { type Database, getChallenge, replacedCodeHashes } from '@twofa/db';

/** What the code step shows beyond the contract's view of the challenge. */
export interface CodeStepFacts {
  view: ChallengeView;
  /** Seconds until another code may be asked for; 0 when it may be now. */
  resendWaitSeconds: number;
  /** The number came from this sign-in's phone step (else from the user's profile). */
  phoneSubmitted: boolean;
}

/** The challenge as the code step shows it, judged by the same rules as the API. */
export async function codeStepFacts(
  db: Database,
  organizationId: string,
  challengeId: string,
): Promise<CodeStepFacts | null> {
  const row = await getChallenge(db.sql, organizationId, challengeId);
  if (!row) return null;
  const refusal = resendRefusal(row, row.dbNow);
  return {
    view: challengeView(row, row.dbNow),
    resendWaitSeconds: refusal?.code === 'resend_too_soon' ? refusal.retryAfterSeconds : 0,
    phoneSubmitted: row.phoneSubmitted,
  };
}

/**
 * Whether a code that verify refused is one that a resend replaced: it is
 * compared, in constant time, with the hash each earlier send stored. The
 * refusal itself (and the attempt it cost) stays what the contract says; this
 * only lets the page say why.
 */
export async function isReplacedCode(
  db: Database,
  appSecret: string,
  organizationId: string,
  challengeId: string,
  code: string,
): Promise<boolean> {
  if (!/^\d{6}$/.test(code)) return false;
  const earlier = await replacedCodeHashes(db.sql, organizationId, challengeId);
  let replaced = false;
  for (const send of earlier) {
    // Every one is compared, so the time taken says nothing about which matched.
    if (safeEqual(hashSecret(appSecret, 'code', code, send.sendId), send.codeHash)) replaced = true;
  }
  return replaced;
}
