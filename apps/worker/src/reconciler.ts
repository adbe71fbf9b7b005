import type { Clock } from '@twofa/core';
import {
  type Database,
  deleteExpiredIdempotencyKeys,
  findStaleSends,
  markSendUnknown,
} from '@twofa/db';
import type { Logger } from '@twofa/observability';
import {
  enqueueSendCode,
  type Queue,
  type SendCodeJob,
  type WebhookDeliveryJob,
} from '@twofa/queue';
import type { WorkerDeps } from './deps.ts';
import { startPeriodic } from './periodic.ts';
import { settleUnknownSends } from './settle-unknown.ts';
import { requeueLostDeliveries } from './webhook-dispatch.ts';

/** A queued send older than this with no job is treated as lost. */
const QUEUED_GRACE_MS = 3_000;
/** Longer than any provider call may take (the provider timeout plus margin). */
const SENDING_GRACE_MS = 120_000;

const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

/** What a reconcile run reads and writes: no provider, since it only enqueues. */
export interface ReconcileDeps {
  db: Database;
  sendQueue: Queue<SendCodeJob>;
  /** When given, webhook deliveries whose job was lost are enqueued again too. */
  webhookQueue?: Queue<WebhookDeliveryJob>;
  clock: Clock;
  logger: Logger;
  /** The provider call's timeout (TWILIO_TIMEOUT_MS): a send `sending` far longer is stuck. */
  providerTimeoutMs: number;
}

export interface ReconcileResult {
  requeued: number;
  markedUnknown: number;
  /** Webhook deliveries enqueued again (only when a webhook queue was given). */
  webhooksRequeued?: number;
}

/**
 * Postgres is the source of truth; Redis may lose jobs. This finds sends
 * that should be moving and have no live job, and enqueues them again (the
 * job id is the send id, and the processor is idempotent, so a spare job
 * is harmless).
 */
export async function reconcileOnce(deps: ReconcileDeps, limit = 500): Promise<ReconcileResult> {
  // Ages by the database's clock, the one that stamped the rows.
  const stale = await findStaleSends(deps.db.sql, {
    queuedGraceMs: QUEUED_GRACE_MS,
    sendingGraceMs: Math.max(SENDING_GRACE_MS, deps.providerTimeoutMs * 3),
    limit,
  });
  const result: ReconcileResult = { requeued: 0, markedUnknown: 0 };
  for (const send of stale) {
    const state = await deps.sendQueue.getJobState(send.id);
    if (LIVE_STATES.has(state)) continue;
    if (send.status === 'sending') {
      if (await markSendUnknown(deps.db.sql, send.id)) result.markedUnknown++;
      continue;
    }
    // A finished job with the same id would make the add a no-op: clear it first.
    if (state === 'completed' || state === 'failed') await deps.sendQueue.remove(send.id);
    await enqueueSendCode(deps.sendQueue, send.id);
    result.requeued++;
  }
  if (deps.webhookQueue) {
    result.webhooksRequeued = await requeueLostDeliveries(
      { db: deps.db, webhookQueue: deps.webhookQueue, logger: deps.logger },
      limit,
    );
  }
  if (result.requeued || result.markedUnknown || result.webhooksRequeued) {
    deps.logger.info(result, 'reconciler acted');
  }
  return result;
}

/**
 * The worker's periodic pass: re-enqueue lost sends, settle `unknown` ones by
 * asking the provider, and drop expired idempotency keys.
 */
export function startReconciler(
  deps: WorkerDeps & { providerTimeoutMs: number; webhookQueue: Queue<WebhookDeliveryJob> },
  intervalMs: number,
): { stop(): void } {
  return startPeriodic({ intervalMs, firstDelayMs: Math.min(1_000, intervalMs) }, async () => {
    try {
      await reconcileOnce(deps);
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message }, 'reconciler run failed; will try again');
    }
    try {
      const settled = await settleUnknownSends(deps);
      if (settled.sent || settled.missing) deps.logger.info(settled, 'unknown sends settled');
      await deleteExpiredIdempotencyKeys(deps.db.sql, deps.clock.now());
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message }, 'settle pass failed; will try again');
    }
  });
}
