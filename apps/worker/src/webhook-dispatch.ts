import {
  claimUnqueuedDeliveries,
  type Database,
  findOverdueDeliveries,
  oldestUndeliveredAgeSeconds,
} from '@twofa/db';
import type { Logger, Metrics } from '@twofa/observability';
import {
  enqueueWebhookDelivery,
  type Queue,
  type WebhookDeliveryJob,
  webhookDeliveryJobId,
} from '@twofa/queue';
import { startPeriodic } from './periodic.ts';

/** An attempt this far past due with no live job had its job lost (Redis flushed or down). */
export const WEBHOOK_OVERDUE_GRACE_MS = 5_000;

const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'waiting-children']);

export interface WebhookDispatchDeps {
  db: Database;
  webhookQueue: Queue<WebhookDeliveryJob>;
  logger: Logger;
}

const delayOf = (row: { nextAttemptAt: Date; now: Date }) =>
  Math.max(0, row.nextAttemptAt.getTime() - row.now.getTime());

/**
 * Hands new delivery rows (written by the outbox triggers with the change they
 * report) to the queue. A row is marked before its job is added: a worker
 * that dies in between leaves it to `requeueLostDeliveries`.
 */
export async function dispatchWebhookDeliveries(
  deps: WebhookDispatchDeps,
  limit = 500,
): Promise<number> {
  const rows = await claimUnqueuedDeliveries(deps.db.sql, limit);
  for (const row of rows) await enqueueWebhookDelivery(deps.webhookQueue, row.id, delayOf(row));
  return rows.length;
}

/**
 * The reconciler's webhook pass: undelivered rows whose attempt is overdue and
 * whose job is not in the queue get a job again (same id; the processor is
 * idempotent, so a spare one is harmless).
 */
export async function requeueLostDeliveries(
  deps: WebhookDispatchDeps,
  limit = 500,
): Promise<number> {
  const overdue = await findOverdueDeliveries(deps.db.sql, {
    graceMs: WEBHOOK_OVERDUE_GRACE_MS,
    limit,
  });
  let requeued = 0;
  for (const row of overdue) {
    const jobId = webhookDeliveryJobId(row.id);
    const state = await deps.webhookQueue.getJobState(jobId);
    if (LIVE_STATES.has(state)) continue;
    // A finished job with the same id would make the add a no-op: clear it first.
    if (state === 'completed' || state === 'failed') await deps.webhookQueue.remove(jobId);
    await enqueueWebhookDelivery(deps.webhookQueue, row.id);
    requeued++;
  }
  return requeued;
}

/** The oldest undelivered event's age, for the gauge an alert watches. */
export async function recordWebhookBacklog(
  db: Database,
  metrics: Pick<Metrics, 'webhookOldestUndelivered'>,
): Promise<void> {
  const age = await oldestUndeliveredAgeSeconds(db.sql);
  metrics.webhookOldestUndelivered.set({ attempted: 'false' }, age.unattempted);
  metrics.webhookOldestUndelivered.set({ attempted: 'true' }, age.failing);
}

/** Each worker's dispatch loop: new deliveries reach the queue within about an interval. */
export function startWebhookDispatcher(
  deps: WebhookDispatchDeps,
  intervalMs: number,
): { stop(): void } {
  return startPeriodic({ intervalMs, firstDelayMs: Math.min(250, intervalMs) }, async (signal) => {
    try {
      // A full batch means more are waiting: go again at once.
      while (!signal.aborted && (await dispatchWebhookDeliveries(deps)) === 500) {}
    } catch (error) {
      deps.logger.warn(
        { err: (error as Error).message },
        'webhook dispatch failed; will try again',
      );
    }
  });
}
