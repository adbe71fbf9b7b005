import { hashSecret, newId } from '@twofa/core';
import {
  findUnknownSends,
  settleUnknownAsMissing,
  settleUnknownAsSent,
  type UnknownSend,
} from '@twofa/db';
import { enqueueSendCode } from '@twofa/queue';
import type { ProviderMessage } from '@twofa/sms';
import type { WorkerDeps } from './deps.ts';

/** Our clock and the provider's may disagree by this much. */
const CLOCK_SKEW_MS = 60_000;

export interface SettleResult {
  /** Found in the provider's record: now `sent`. */
  sent: number;
  /** Not in the provider's record: refunded, and resent when the challenge still waited. */
  missing: number;
  resent: number;
}

export type SettleMatch =
  /** A message carrying this send's id or its code: certainly ours. */
  | { kind: 'certain'; message: ProviderMessage }
  /** A message to the number in the send's window whose body cannot be read: maybe ours. */
  | { kind: 'ambiguous' }
  | { kind: 'none' };

const SIX_DIGITS = /(?<!\d)\d{6}(?!\d)/g;

/**
 * Which of the provider's messages is this send's. The code itself is never
 * stored, only its HMAC keyed with the send id, so a body's six-digit numbers
 * are hashed the same way and compared: a match is this send's message and no
 * other's. A message whose body the provider does not return (redaction) and
 * that falls in the send's time window might be ours: that counts as found,
 * because resending on a guess could send a second SMS.
 */
export function matchProviderMessage(
  send: Pick<UnknownSend, 'id' | 'codeHash' | 'sendingAt'>,
  messages: readonly ProviderMessage[],
  appSecret: string,
  windowMs: number,
): SettleMatch {
  let ambiguous = false;
  for (const message of messages) {
    if (message.statusCallback?.includes(send.id)) return { kind: 'certain', message };
    const codes = message.body?.match(SIX_DIGITS) ?? [];
    if (
      send.codeHash &&
      codes.some((code) => hashSecret(appSecret, 'code', code, send.id) === send.codeHash)
    ) {
      return { kind: 'certain', message };
    }
    const at = (message.createdAt ?? message.sentAt)?.getTime();
    const inWindow =
      at === undefined ||
      (at >= send.sendingAt.getTime() - CLOCK_SKEW_MS &&
        at <= send.sendingAt.getTime() + windowMs + CLOCK_SKEW_MS);
    if (codes.length === 0 && inWindow) ambiguous = true;
  }
  return ambiguous ? { kind: 'ambiguous' } : { kind: 'none' };
}

/**
 * Settles sends whose outcome was lost (`unknown`: a timeout after the
 * request went out, a worker killed mid-call) by asking the provider, once its
 * record is past its consistency window (`SMS_SETTLE_AFTER_MS` after the
 * claim). Found: `sent`, with its sid, nothing resent. Not found: the
 * provider never took it: refunded, and one fresh code if the challenge still
 * waits for this one. Every transition is guarded on `unknown`, so several
 * workers settling at once settle each send once.
 */
export async function settleUnknownSends(deps: WorkerDeps, limit = 20): Promise<SettleResult> {
  const result: SettleResult = { sent: 0, missing: 0, resent: 0 };
  const { sms, db, clock, config, logger } = deps;
  if (!sms.findMessages) return result;
  const windowMs = config.env.SMS_SETTLE_AFTER_MS;
  const sends = await findUnknownSends(db.sql, {
    claimedBefore: new Date(clock.now().getTime() - windowMs),
    limit,
  });
  for (const send of sends) {
    const log = logger.child({ sendId: send.id, challengeId: send.challengeId });
    let messages: ProviderMessage[];
    try {
      messages = await sms.findMessages({
        to: send.phone,
        since: new Date(send.sendingAt.getTime() - CLOCK_SKEW_MS),
      });
    } catch (error) {
      log.warn({ err: (error as Error).message }, 'provider lookup failed; will settle later');
      continue;
    }
    const match = matchProviderMessage(send, messages, config.appSecret, windowMs);
    const now = clock.now();
    if (match.kind !== 'none') {
      const providerSid = match.kind === 'certain' ? match.message.providerMessageId : null;
      const settled = await settleUnknownAsSent(db.sql, {
        sendId: send.id,
        providerSid,
        match: match.kind,
        now,
      });
      if (settled) {
        result.sent++;
        log.info(
          { providerMessageId: providerSid, match: match.kind },
          'unknown send found at the provider; settled sent',
        );
      }
      continue;
    }
    const settled = await settleUnknownAsMissing(db.sql, {
      sendId: send.id,
      resendId: newId(),
      now,
    });
    if (!settled) continue;
    result.missing++;
    if (settled.resendId) {
      result.resent++;
      try {
        await enqueueSendCode(deps.sendQueue, settled.resendId);
      } catch (error) {
        // The outbox row is committed; the reconciler enqueues it.
        log.warn({ err: (error as Error).message }, 'enqueue of the replacement failed');
      }
    }
    log.warn(
      { refunded: settled.refunded, resendId: settled.resendId },
      'unknown send not at the provider; refunded',
    );
  }
  return result;
}
