import { type Config, DEFAULT_WORKER_METRICS_PORT } from '@twofa/config';
import { type Clock, systemClock } from '@twofa/core';
import { createDb } from '@twofa/db';
import { createLogger, createMetrics, type Logger } from '@twofa/observability';
import { createQueueConnections, SEND_CODE_QUEUE, type SendCodeJob } from '@twofa/queue';
import { type ConsoleInbox, createRedisSmsInbox, type SmsProvider } from '@twofa/sms';
import { type Job, Worker } from 'bullmq';
import type { WorkerDeps } from './deps.ts';
import { type OpsPort, type OpsServer, startOpsServer } from './ops-server.ts';
import {
  ProviderUnavailableError,
  processSendCode,
  SendFailedError,
} from './processors/send-code.ts';
import { PROVIDER_BALANCE_INTERVAL_MS, startProviderBalancePoll } from './provider-balance.ts';
import { startReconciler } from './reconciler.ts';
import { RETENTION_INTERVAL_MS, startRetention } from './retention.ts';
import { smsProviderFromConfig } from './sms-provider.ts';

export interface WorkerRuntime {
  deps: WorkerDeps;
  worker: Worker<SendCodeJob>;
  /** Port of the health/metrics server, when one was started. */
  port: number | null;
  close(): Promise<void>;
}

export interface WorkerOverrides {
  clock?: Clock;
  logger?: Logger;
  sms?: SmsProvider;
  /** A port for the health/metrics server (0: any free one), or null for none. */
  metricsPort?: number | null;
  reconcileIntervalMs?: number;
  providerBalanceIntervalMs?: number;
  retentionIntervalMs?: number;
}

/** An explicit port (override or WORKER_METRICS_PORT) is kept; the default may give way. */
function opsPort(config: Config, override: number | null | undefined): OpsPort | null {
  if (override === null) return null;
  if (override !== undefined) return { port: override, fallBackToFreePort: false };
  const configured = config.env.WORKER_METRICS_PORT;
  return configured === undefined
    ? { port: DEFAULT_WORKER_METRICS_PORT, fallBackToFreePort: true }
    : { port: configured, fallBackToFreePort: false };
}

/** The send-code processor as BullMQ runs it: metrics by outcome around every attempt. */
function sendCodeWorker(
  deps: WorkerDeps,
  connection: Worker['opts']['connection'],
  prefix: string,
) {
  const { config, metrics, logger } = deps;
  const env = config.env;
  const worker = new Worker<SendCodeJob>(
    SEND_CODE_QUEUE,
    async (job: Job<SendCodeJob>) => {
      const started = performance.now();
      let outcome: string = 'error';
      try {
        outcome = await processSendCode(job, deps);
        return outcome;
      } catch (error) {
        if (error instanceof SendFailedError) outcome = error.outcome;
        else if (error instanceof ProviderUnavailableError) outcome = 'retrying';
        throw error;
      } finally {
        metrics.codesSent.inc({ outcome });
        metrics.jobDuration.observe(
          { queue: SEND_CODE_QUEUE, outcome },
          (performance.now() - started) / 1000,
        );
      }
    },
    {
      connection,
      prefix,
      concurrency: env.WORKER_CONCURRENCY,
      // A provider call is bounded by its timeout, far below the lock. A job whose worker
      // died is taken over once its lock lapses, found by the next stalled check.
      lockDuration: env.WORKER_LOCK_DURATION_MS,
      stalledInterval: Math.min(30_000, env.WORKER_LOCK_DURATION_MS),
      maxStalledCount: 2,
    },
  );
  metrics.workerConcurrency.set(env.WORKER_CONCURRENCY);
  worker.on('error', (error) => logger.warn({ err: error.message }, 'worker error'));
  worker.on('failed', (job, error) => {
    // Failures the processor recorded were logged there, with the challenge.
    if (
      job &&
      !(error instanceof SendFailedError) &&
      !(error instanceof ProviderUnavailableError)
    ) {
      logger.warn({ jobId: job.id, err: error.message, attempts: job.attemptsMade }, 'job failed');
    }
  });
  return worker;
}

/**
 * Boots one worker process: its health/metrics server first (a worker that
 * cannot serve them takes no jobs), then the BullMQ worker, the reconciler, the retention pass
 * and the provider balance poll. Nothing starts at import time.
 */
export async function startWorker(
  config: Config,
  overrides: WorkerOverrides = {},
): Promise<WorkerRuntime> {
  const env = config.env;
  const logger = overrides.logger ?? createLogger({ name: 'worker', level: env.LOG_LEVEL });
  // Before any connection opens, so a refused provider leaves nothing behind. The
  // dev inbox is written through the queue's Redis once that connection exists.
  let inboxTarget: ConsoleInbox | undefined;
  const inbox: ConsoleInbox = {
    push: (message) => inboxTarget?.push(message) ?? Promise.resolve(),
  };
  const sms = overrides.sms ?? smsProviderFromConfig(config, inbox);
  const metrics = createMetrics('worker');
  const db = createDb(env.DATABASE_URL, {
    // Each job holds a connection only for its short statements, never across the provider call.
    max: Math.min(env.WORKER_CONCURRENCY + 2, env.DB_POOL_SIZE),
    applicationName: 'twofa-worker',
    prepare: env.DATABASE_PREPARED_STATEMENTS,
  });
  const queue = createQueueConnections(env, 'worker', { logger });
  inboxTarget = createRedisSmsInbox(queue.redis, env.QUEUE_PREFIX);

  let ops: OpsServer | null = null;
  const wanted = opsPort(config, overrides.metricsPort);
  if (wanted) {
    try {
      ops = await startOpsServer(
        {
          db,
          redis: queue.redis,
          sendQueue: queue.sendQueue,
          metrics,
          metricsToken: env.METRICS_TOKEN,
        },
        { ...wanted, host: env.HOST },
        logger,
      );
    } catch (error) {
      await queue.close();
      await db.close();
      throw error;
    }
  }

  const clock = overrides.clock ?? systemClock;
  const deps: WorkerDeps = { config, clock, logger, metrics, db, sms, sendQueue: queue.sendQueue };
  const worker = sendCodeWorker(deps, queue.workerRedis, queue.prefix);
  const reconciler = startReconciler(
    { ...deps, providerTimeoutMs: env.TWILIO_TIMEOUT_MS },
    overrides.reconcileIntervalMs ?? env.RECONCILE_INTERVAL_MS,
  );
  const retention = startRetention(
    { db, logger, metrics },
    {
      retentionDays: env.CHALLENGE_RETENTION_DAYS,
      intervalMs: overrides.retentionIntervalMs ?? RETENTION_INTERVAL_MS,
    },
  );
  const balancePoll = startProviderBalancePoll(
    sms,
    deps,
    overrides.providerBalanceIntervalMs ?? PROVIDER_BALANCE_INTERVAL_MS,
  );

  return {
    deps,
    worker,
    port: ops?.port ?? null,
    async close() {
      reconciler.stop();
      retention.stop();
      balancePoll.stop();
      // Waits for active jobs to finish; takes no new ones.
      await worker.close();
      await queue.close();
      ops?.close();
      await db.close();
    },
  };
}
