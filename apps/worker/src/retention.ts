import {
  type Database,
  deleteExpiredOidcPayloads,
  deleteFinishedChallenges,
  deleteOldDeliveries,
} from '@twofa/db';
import type { Logger, Metrics } from '@twofa/observability';
import { startPeriodic } from './periodic.ts';

/** Rows per delete statement: short row locks, and a statement far below any timeout. */
export const RETENTION_BATCH_SIZE = 5_000;
/** How often each worker runs the pass; deleting a day's worth of old rows is not urgent. */
export const RETENTION_INTERVAL_MS = 60 * 60 * 1000;

export interface RetentionDeps {
  db: Database;
  logger: Logger;
  metrics: Pick<Metrics, 'retentionDeleted'>;
}

export interface RetentionResult {
  challenges: number;
  sends: number;
  batches: number;
}

/**
 * Deletes finished challenges older than `retentionDays` with their sends,
 * batch after batch until one comes back short. Several workers may run it at
 * once: each batch skips the rows another has locked, so no row is deleted
 * twice and no run waits on another. Ledger lines and audit events stay.
 * Each batch is its own statement and transaction, so a long backlog never
 * holds locks for long.
 */
export async function runRetention(
  deps: RetentionDeps,
  input: { retentionDays: number; batchSize?: number; signal?: AbortSignal },
): Promise<RetentionResult> {
  const batchSize = input.batchSize ?? RETENTION_BATCH_SIZE;
  const result: RetentionResult = { challenges: 0, sends: 0, batches: 0 };
  // Between batches, a stopping worker ends the pass (the next run picks it up).
  while (!input.signal?.aborted) {
    const batch = await deleteFinishedChallenges(deps.db.sql, {
      retentionDays: input.retentionDays,
      batchSize,
    });
    result.batches++;
    result.challenges += batch.challenges;
    result.sends += batch.sends;
    deps.metrics.retentionDeleted.inc({ table: 'challenges' }, batch.challenges);
    deps.metrics.retentionDeleted.inc({ table: 'sms_sends' }, batch.sends);
    if (batch.challenges < batchSize) break;
  }
  deps.logger.info(
    { ...result, retentionDays: input.retentionDays },
    'retention: old finished challenges deleted',
  );
  return result;
}

/**
 * Deletes finished webhook deliveries (delivered or given up on) older than
 * `retentionDays`, in batches like the challenges: they hold copies of
 * events, and the delivery log only needs recent ones.
 */
export async function runWebhookRetention(
  deps: RetentionDeps,
  input: { retentionDays: number; batchSize?: number; signal?: AbortSignal },
): Promise<number> {
  const batchSize = input.batchSize ?? RETENTION_BATCH_SIZE;
  let deleted = 0;
  while (!input.signal?.aborted) {
    const batch = await deleteOldDeliveries(deps.db.sql, {
      retentionDays: input.retentionDays,
      batchSize,
    });
    deleted += batch;
    deps.metrics.retentionDeleted.inc({ table: 'webhook_deliveries' }, batch);
    if (batch < batchSize) break;
  }
  return deleted;
}

/**
 * Deletes what the hosted prompt's authorization server stored and no longer
 * reads (expired codes, pushed requests, interactions, sessions), in batches.
 */
export async function pruneExpiredOidcPayloads(
  deps: RetentionDeps,
  input: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const batchSize = input.batchSize ?? RETENTION_BATCH_SIZE;
  let deleted = 0;
  while (!input.signal?.aborted) {
    const batch = await deleteExpiredOidcPayloads(deps.db.sql, { batchSize });
    deleted += batch;
    if (batch < batchSize) break;
  }
  deps.metrics.retentionDeleted.inc({ table: 'oidc_payloads' }, deleted);
  return deleted;
}

/**
 * The worker's periodic retention pass, scheduled like the reconciler (a timer
 * per worker, jittered). The first pass waits a whole interval, so a fleet
 * restarting together does not start deleting at once.
 */
export function startRetention(
  deps: RetentionDeps,
  options: { retentionDays: number; intervalMs: number },
): { stop(): void } {
  return startPeriodic({ intervalMs: options.intervalMs }, async (signal) => {
    try {
      await runRetention(deps, { retentionDays: options.retentionDays, signal });
      await runWebhookRetention(deps, { retentionDays: options.retentionDays, signal });
      await pruneExpiredOidcPayloads(deps, { signal });
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message }, 'retention run failed; will try again');
    }
  });
}
