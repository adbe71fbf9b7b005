import { type Config, DEFAULT_WORKER_METRICS_PORT } from '@twofa/config';
import type { LookupAll } from '@twofa/core';
import { type Clock, systemClock } from '@twofa/core';
import { createDb, type Database } from '@twofa/db';
import { createLogger, createMetrics, type Logger } from '@twofa/observability';
import {
  createQueueConnections,
  SEND_CODE_QUEUE,
  type SendCodeJob,
  WEBHOOK_DELIVERY_QUEUE,
  type WebhookDeliveryJob,
} from '@twofa/queue';
import { type ConsoleInbox, createRedisSmsInbox, type SmsProvider } from '@twofa/sms';
import { type Job, Worker } from 'bullmq';
import type { WorkerDeps } from './deps.ts';
import { type OpsPort, type OpsServer, startOpsServer } from './ops-server.ts';
import {
  ProviderUnavailableError,
  processSendCode,
  SendFailedError,
  sendCommits,
} from './processors/send-code.ts';
import {
  DeliveryFailedError,
  DeliveryRetryError,
  processWebhookDelivery,
  type WebhookDeliveryDeps,
} from './processors/webhook-delivery.ts';
import { PROVIDER_BALANCE_INTERVAL_MS, startProviderBalancePoll } from './provider-balance.ts';
import { startReconciler } from './reconciler.ts';
import { RETENTION_INTERVAL_MS, startRetention } from './retention.ts';
import { smsProviderFromConfig } from './sms-provider.ts';
import { startWebhookDispatcher } from './webhook-dispatch.ts';
import { systemLookupAll } from './webhook-http.ts';

export interface WorkerRuntime {
  deps: WorkerDeps;
  worker: Worker<SendCodeJob>;
  webhookWorker: Worker<WebhookDeliveryJob>;
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
  /** The resolver webhook targets are checked with (tests make names resolve to loopback). */
  webhookLookup?: LookupAll;
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

/** Concurrent webhook attempts per worker: each waits at most the deadline on a receiver. */
const WEBHOOK_CONCURRENCY = 20;

/**
 * The webhook delivery processor as BullMQ runs it. Retries follow the delay
 * the processor recorded in the row (thrown with the error), through a
 * custom backoff strategy; an error it did not expect (the database away)
 * retries after the first delay of the schedule.
 */
function webhookDeliveryWorker(
  deps: WebhookDeliveryDeps & { metrics: WorkerDeps['metrics']; lockDurationMs: number },
  connection: Worker['opts']['connection'],
  prefix: string,
) {
  const { metrics, logger } = deps;
  const worker = new Worker<WebhookDeliveryJob>(
    WEBHOOK_DELIVERY_QUEUE,
    async (job: Job<WebhookDeliveryJob>) => {
      const started = performance.now();
      let result: string = 'error';
      try {
        result = await processWebhookDelivery(job, deps);
        return result;
      } catch (error) {
        if (error instanceof DeliveryRetryError) result = 'retrying';
        else if (error instanceof DeliveryFailedError) result = 'failed';
        throw error;
      } finally {
        metrics.webhookDeliveries.inc({ result });
        metrics.jobDuration.observe(
          { queue: WEBHOOK_DELIVERY_QUEUE, outcome: result },
          (performance.now() - started) / 1000,
        );
      }
    },
    {
      connection,
      prefix,
      concurrency: WEBHOOK_CONCURRENCY,
      // Renewed while the worker lives; a dead worker's jobs go back to the queue once it
      // lapses, as for sends. A delivery run twice is at least once, which receivers dedupe.
      lockDuration: deps.lockDurationMs,
      stalledInterval: Math.min(30_000, deps.lockDurationMs),
      maxStalledCount: 2,
      settings: {
        backoffStrategy: (_attemptsMade, _type, error) =>
          error instanceof DeliveryRetryError ? error.delayMs : deps.retryFirstDelayMs,
      },
    },
  );
  worker.on('error', (error) => logger.warn({ err: error.message }, 'webhook worker error'));
  worker.on('failed', (job, error) => {
    if (job && !(error instanceof DeliveryRetryError) && !(error instanceof DeliveryFailedError)) {
      logger.warn({ jobId: job.id, err: error.message }, 'webhook job failed');
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
          webhookQueue: queue.webhookQueue,
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
  // Each batcher's transactions go down a connection of its own.
  const commitClients: Database[] = [];
  const commits = sendCommits(db.sql, {
    groupCommit: env.WORKER_GROUP_COMMIT,
    maxBatch: env.WORKER_CONCURRENCY,
    ownConnection: () => {
      const client = createDb(env.DATABASE_URL, {
        max: 1,
        applicationName: 'twofa-worker',
        prepare: env.DATABASE_PREPARED_STATEMENTS,
      });
      commitClients.push(client);
      return client.sql;
    },
  });
  const deps: WorkerDeps = {
    config,
    clock,
    logger,
    metrics,
    db,
    sms,
    sendQueue: queue.sendQueue,
    commits,
  };
  const worker = sendCodeWorker(deps, queue.workerRedis, queue.prefix);
  const webhookWorker = webhookDeliveryWorker(
    {
      db,
      logger,
      metrics,
      appSecrets: config.appSecrets,
      allowPrivateTargets: env.WEBHOOK_ALLOW_PRIVATE_TARGETS,
      timeoutMs: env.WEBHOOK_TIMEOUT_MS,
      retryFirstDelayMs: env.WEBHOOK_RETRY_FIRST_DELAY_MS,
      lookup: overrides.webhookLookup ?? systemLookupAll,
      lockDurationMs: env.WORKER_LOCK_DURATION_MS,
    },
    queue.workerRedis,
    queue.prefix,
  );
  const dispatcher = startWebhookDispatcher(
    { db, webhookQueue: queue.webhookQueue, logger },
    env.WEBHOOK_DISPATCH_INTERVAL_MS,
  );
  const reconciler = startReconciler(
    { ...deps, providerTimeoutMs: env.TWILIO_TIMEOUT_MS, webhookQueue: queue.webhookQueue },
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
    webhookWorker,
    port: ops?.port ?? null,
    async close() {
      dispatcher.stop();
      reconciler.stop();
      retention.stop();
      balancePoll.stop();
      // Waits for active jobs to finish; takes no new ones.
      await Promise.all([worker.close(), webhookWorker.close()]);
      await queue.close();
      ops?.close();
      await Promise.all([db.close(), ...commitClients.map((client) => client.close())]);
    },
  };
}
