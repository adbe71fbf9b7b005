import { codeMessage, generateCode, hashSecret } from '@twofa/core';
import {
  type ClaimedSend,
  claimSend,
  failSendWithRefund,
  findOwnClaim,
  isDatabaseUnavailable,
  lockOrganizationsOfSends,
  markSendRetrying,
  markSendUnknown,
  recordSendAccepted,
  type Sql,
} from '@twofa/db';
import type { SendCodeJob } from '@twofa/queue';
import { SmsSendError, type SmsSent } from '@twofa/sms';
import { type Job, UnrecoverableError } from 'bullmq';
import type { SendCommits, WorkerDeps } from '../deps.ts';
import { BatchOutcomeUnknownError, directCommitter, GroupCommit } from '../group-commit.ts';

/** How a job ended when it completed: the code went out, or there was nothing (more) to do. */
export type SendOutcome = 'sent' | 'unknown' | 'not_needed' | 'already_done';

/** How a send failed for good; each is recorded (and refunded where charged) before it is thrown. */
export type SendFailure = 'rejected' | 'provider_unavailable' | 'insufficient_balance';

/** Thrown so BullMQ retries the provider call with backoff; the send is already marked `retrying`. */
export class ProviderUnavailableError extends Error {
  override name = 'ProviderUnavailableError';
}

/**
 * Thrown once a permanent failure is recorded, so BullMQ marks the job failed
 * (and the dashboard shows it so) without retrying it. Retrying one by hand is
 * harmless: the send is no longer claimable.
 */
export class SendFailedError extends UnrecoverableError {
  constructor(
    readonly outcome: SendFailure,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The claim and the outcome record, each its own statement and commit, or
 * (group commit) sharing a transaction with the other jobs' claims, and
 * records, in flight in this process at the same moment: each batcher on a
 * connection of its own (`ownConnection`, a client with `max: 1`).
 */
export function sendCommits(
  sql: Sql,
  options: { groupCommit: boolean; maxBatch: number; ownConnection: () => Sql },
): SendCommits {
  if (!options.groupCommit) {
    return {
      claim: directCommitter(sql, claimSend),
      accepted: directCommitter(sql, recordSendAccepted),
    };
  }
  return {
    claim: new GroupCommit({
      sql: options.ownConnection(),
      statement: claimSend,
      lockFirst: (tx, items) =>
        lockOrganizationsOfSends(
          tx,
          items.map((i) => i.sendId),
        ),
      maxBatch: options.maxBatch,
    }),
    accepted: new GroupCommit({
      sql: options.ownConnection(),
      statement: recordSendAccepted,
      maxBatch: options.maxBatch,
    }),
  };
}

/** Attempts for a statement while the database is unreachable: about half a minute in all. */
const UNAVAILABLE_ATTEMPTS = 10;

/**
 * Retries an idempotent statement: briefly for any error, and with backoff for
 * as long as a database restart takes when the database is unreachable, since
 * what the statement records (a claim, a send the provider took) is otherwise lost.
 */
async function withRetries<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      const unavailable = isDatabaseUnavailable(error) || error instanceof BatchOutcomeUnknownError;
      if (i >= (unavailable ? UNAVAILABLE_ATTEMPTS : 5)) throw error;
      const delayMs = Math.min(200 * 2 ** (i - 1), 5_000) * (0.5 + Math.random() * 0.5);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

/** Where a claim attempt stands, logged (debug) by send id for the fault tests. */
type ClaimFate =
  /** Its statement committed and answered: the send is ours, or was not claimable. */
  | 'claimed'
  | 'not_claimable'
  /** It failed without an answer from a committed statement: it may have committed. */
  | 'ambiguous'
  /** The rows carry this attempt's code hash: its statement committed. */
  | 'own_claim_found'
  /** Still claimable: it did not commit; claimed again. */
  | 'not_committed'
  /** Claimed or settled by someone else (or no longer needed). */
  | 'not_ours';

/**
 * Claims the send, robust to a connection lost around the commit: the
 * statement (or the batch it shared a commit with) may have committed with its
 * answer lost, and a later attempt would then find the send `sending` and mark
 * it unknown though no SMS went out. Whatever the error, our code's hash on the
 * row tells whether the claim is ours. A later attempt that finds the send no
 * longer claimable asks again: it waited on the row's lock, so an earlier
 * attempt's commit still in flight then is settled now.
 */
async function claim(deps: WorkerDeps, sendId: string, codeHash: string, log: SendLog) {
  let doubt = false;
  const checkOwn = async (fate: 'ambiguous' | 'not_claimable', error?: unknown) => {
    const own = await withRetries(() => findOwnClaim(deps.db.sql, { sendId, codeHash }));
    const committed = own !== null && own.claimed !== null;
    const settled: ClaimFate =
      own === null ? 'not_committed' : committed ? 'own_claim_found' : 'not_ours';
    log.info(
      {
        fate: settled,
        after: fate,
        committed,
        err: error === undefined ? undefined : errorText(error),
      },
      'claim checked after a lost connection',
    );
    return own;
  };
  for (let attempt = 1; ; attempt++) {
    let claimed: ClaimedSend | null;
    try {
      claimed = await deps.commits.claim.run({ sendId, codeHash });
    } catch (error) {
      doubt = true;
      log.debug({ fate: 'ambiguous' satisfies ClaimFate, err: errorText(error) }, 'claim fate');
      const own = await checkOwn('ambiguous', error);
      if (own) return own.claimed;
      if (attempt >= 3) throw error;
      continue;
    }
    log.debug({ fate: (claimed ? 'claimed' : 'not_claimable') satisfies ClaimFate }, 'claim fate');
    if (claimed || !doubt) return claimed;
    return (await checkOwn('not_claimable'))?.claimed ?? null;
  }
}

/** An error's class and message for a log line (the error's own, and its cause's). */
function errorText(error: unknown): string {
  const e = error as { name?: string; code?: string; message?: string; cause?: unknown };
  const own = `${e?.name ?? typeof error}${e?.code ? ` ${e.code}` : ''}: ${e?.message ?? String(error)}`;
  return e?.cause ? `${own} <- ${errorText(e.cause)}` : own;
}

type Claimed = ClaimedSend;
type SendLog = WorkerDeps['logger'];

/**
 * One send request: claim and charge it, make a fresh code, hand it to the
 * provider, record what happened. Every time it records is the database's
 * (this process's clock may drift). Every state change is a guarded statement,
 * so a duplicated or retried job can neither charge twice nor send twice.
 * A send that failed for good throws `SendFailedError` after it is recorded.
 */
export async function processSendCode(
  job: Job<SendCodeJob>,
  deps: WorkerDeps,
): Promise<SendOutcome> {
  const { sendId } = job.data;
  const { config, sms, logger } = deps;
  const log = logger.child({ jobId: job.id, sendId, attempt: job.attemptsMade + 1 });
  const code = generateCode();
  const codeHash = hashSecret(config.appSecret, 'code', code, sendId);

  const claimed = await claim(deps, sendId, codeHash, log);
  if (!claimed) return settleUnclaimed(deps, sendId, log);
  const skipped = afterClaim(deps, claimed, log);
  if (skipped) return skipped;

  let sent: SmsSent;
  try {
    sent = await sms.send({
      to: claimed.phone,
      body: codeMessage(code, {
        locale: claimed.locale,
        sender: claimed.organizationName,
        publicBaseUrl: config.env.PUBLIC_BASE_URL,
      }),
      sendId,
    });
  } catch (error) {
    return recordProviderFailure(deps, job, claimed, error, log);
  }
  // Outside the provider's try: a database hiccup here is not a doubt about the SMS.
  const providerSid = sent.providerMessageId;
  await withRetries(() => deps.commits.accepted.run({ sendId, providerSid }));
  log.info({ ...context(claimed), providerMessageId: providerSid }, 'code handed to provider');
  return 'sent';
}

const context = (claimed: Claimed) => ({
  challengeId: claimed.challengeId,
  organizationId: claimed.organizationId,
});

/**
 * Not queued or retrying. If it is `sending`, an earlier run stopped mid-call:
 * the SMS may be out, so mark it and do not resend.
 */
async function settleUnclaimed(
  deps: WorkerDeps,
  sendId: string,
  log: SendLog,
): Promise<SendOutcome> {
  const marked = await markSendUnknown(deps.db.sql, sendId);
  if (marked) log.warn('send found mid-call after a restart; marked unknown, not resent');
  return marked ? 'unknown' : 'already_done';
}

/** What the claim itself settled: no credit (thrown), or no code needed; undefined to send. */
function afterClaim(deps: WorkerDeps, claimed: Claimed, log: SendLog): SendOutcome | undefined {
  const ctx = context(claimed);
  if (claimed.crossedLowBalance) {
    deps.metrics.lowBalanceCrossings.inc();
    log.warn(
      { ...ctx, balance: claimed.balance },
      'organization SMS balance fell below its threshold',
    );
  }
  if (claimed.outcome === 'insufficient_balance') {
    log.info(ctx, 'no SMS credit; challenge failed');
    throw new SendFailedError('insufficient_balance', 'no SMS credit left');
  }
  if (claimed.outcome === 'not_needed') {
    log.info(
      ctx,
      claimed.refunded
        ? 'challenge no longer needs this code; its earlier charge refunded'
        : 'challenge no longer needs this code; skipped without charge',
    );
    return 'not_needed';
  }
  return undefined;
}

/**
 * The provider call failed: a refusal is refunded and failed for good; an
 * outage is retried with backoff until the job's last attempt, then refunded
 * and failed; anything else may have sent the SMS, so it is marked unknown
 * and never resent.
 */
async function recordProviderFailure(
  deps: WorkerDeps,
  job: Job<SendCodeJob>,
  claimed: Claimed,
  error: unknown,
  log: SendLog,
): Promise<SendOutcome> {
  const { sql } = deps.db;
  const { sendId } = job.data;
  const ctx = context(claimed);
  const failure =
    error instanceof SmsSendError
      ? error
      : // Anything unclassified happened around the call: treat it as possibly sent.
        new SmsSendError('unknown', null, (error as Error).message);
  const { errorCode } = failure;
  if (failure.kind === 'rejected') {
    await withRetries(() => failSendWithRefund(sql, { sendId, errorCode, reason: 'sms_rejected' }));
    log.info({ ...ctx, errorCode }, 'provider refused the message; refunded');
    throw new SendFailedError(
      'rejected',
      `provider refused the message (${errorCode ?? 'no code'})`,
    );
  }
  if (failure.kind === 'unavailable') {
    const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    if (lastAttempt) {
      await withRetries(() =>
        failSendWithRefund(sql, { sendId, errorCode, reason: 'sms_provider_unavailable' }),
      );
      log.warn({ ...ctx, errorCode }, 'provider unavailable after all retries; refunded');
      throw new SendFailedError(
        'provider_unavailable',
        `provider unavailable after all retries (${errorCode ?? 'no code'})`,
      );
    }
    await withRetries(() => markSendRetrying(sql, { sendId, errorCode }));
    log.info({ ...ctx, errorCode }, 'provider unavailable; will retry');
    throw new ProviderUnavailableError(`provider unavailable (${errorCode ?? 'no code'})`);
  }
  await withRetries(() => markSendUnknown(sql, sendId));
  log.warn({ ...ctx, err: failure.message }, 'send outcome unknown; not resent');
  return 'unknown';
}
