import { codeMessage, generateCode, hashSecret } from '@twofa/core';
import {
  claimSend,
  failSendWithRefund,
  markSendRetrying,
  markSendUnknown,
  recordSendAccepted,
} from '@twofa/db';
import type { SendCodeJob } from '@twofa/queue';
import { SmsSendError } from '@twofa/sms';
import type { Job } from 'bullmq';
import type { WorkerDeps } from '../deps.ts';

export type SendOutcome =
  | 'sent'
  | 'rejected'
  | 'provider_unavailable'
  | 'retrying'
  | 'unknown'
  | 'insufficient_balance'
  | 'not_needed'
  | 'already_done';

/** Thrown so BullMQ retries the provider call with backoff; the send is already marked `retrying`. */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
}

async function withRetries<T>(fn: () => Promise<T>, attempts = 5, delayMs = 200): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (i >= attempts) throw error;
      await new Promise((resolve) => setTimeout(resolve, delayMs * i));
    }
  }
}

/**
 * One send request: claim and charge it, make a fresh code, hand it to the
 * provider, record what happened. Every state change is a guarded statement,
 * so a duplicated or retried job can neither charge twice nor send twice.
 */
export async function processSendCode(
  job: Job<SendCodeJob>,
  deps: WorkerDeps,
): Promise<SendOutcome> {
  const { sendId } = job.data;
  const { db, clock, config, sms, logger } = deps;
  const log = logger.child({ jobId: job.id, sendId, attempt: job.attemptsMade + 1 });
  const code = generateCode();
  const codeHash = hashSecret(config.appSecret, 'code', code, sendId);

  const claim = await claimSend(db.sql, { sendId, codeHash, now: clock.now() });
  if (!claim) {
    // Not queued or retrying. If it is `sending`, an earlier run stopped
    // mid-call: the SMS may be out, so mark it and do not resend.
    const marked = await markSendUnknown(db.sql, sendId, clock.now());
    if (marked) log.warn('send found mid-call after a restart; marked unknown, not resent');
    return marked ? 'unknown' : 'already_done';
  }
  const ctx = { challengeId: claim.challengeId, organizationId: claim.organizationId };
  if (claim.crossedLowBalance) {
    deps.metrics.lowBalanceCrossings.inc();
    log.warn(
      { ...ctx, balance: claim.balance },
      'organization SMS balance fell below its threshold',
    );
  }
  if (claim.outcome === 'insufficient_balance') {
    log.info(ctx, 'no SMS credit; challenge failed');
    return 'insufficient_balance';
  }
  if (claim.outcome === 'not_needed') {
    log.info(ctx, 'challenge no longer needs this code; skipped without charge');
    return 'not_needed';
  }

  try {
    const sent = await sms.send({ to: claim.phone, body: codeMessage(code), sendId });
    await withRetries(() =>
      recordSendAccepted(db.sql, { sendId, providerSid: sent.providerMessageId, now: clock.now() }),
    );
    log.info({ ...ctx, providerMessageId: sent.providerMessageId }, 'code handed to provider');
    return 'sent';
  } catch (error) {
    const failure =
      error instanceof SmsSendError
        ? error
        : // Anything unclassified happened around the call: treat it as possibly sent.
          new SmsSendError('unknown', null, (error as Error).message);
    const now = clock.now();
    if (failure.kind === 'rejected') {
      await withRetries(() =>
        failSendWithRefund(db.sql, {
          sendId,
          errorCode: failure.errorCode,
          reason: 'sms_rejected',
          now,
        }),
      );
      log.info({ ...ctx, errorCode: failure.errorCode }, 'provider refused the message; refunded');
      return 'rejected';
    }
    if (failure.kind === 'unavailable') {
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade + 1 >= attempts) {
        await withRetries(() =>
          failSendWithRefund(db.sql, {
            sendId,
            errorCode: failure.errorCode,
            reason: 'sms_provider_unavailable',
            now,
          }),
        );
        log.warn(
          { ...ctx, errorCode: failure.errorCode },
          'provider unavailable after all retries; refunded',
        );
        return 'provider_unavailable';
      }
      await withRetries(() =>
        markSendRetrying(db.sql, { sendId, errorCode: failure.errorCode, now }),
      );
      log.info({ ...ctx, errorCode: failure.errorCode }, 'provider unavailable; will retry');
      throw new ProviderUnavailableError(
        `provider unavailable (${failure.errorCode ?? 'no code'})`,
      );
    }
    await withRetries(() => markSendUnknown(db.sql, sendId, now));
    log.warn({ ...ctx, err: failure.message }, 'send outcome unknown; not resent');
    return 'unknown';
  }
}
