import { createServer, type Server } from 'node:http';
import type { Config } from '@twofa/config';
import { type Clock, systemClock } from '@twofa/core';
import { createDb } from '@twofa/db';
import {
  checkReadiness,
  createLogger,
  createMetrics,
  type Logger,
  notReadyProblem,
  READINESS_TIMEOUT_MS,
  recordQueueDepths,
} from '@twofa/observability';
import {
  createRedis,
  createSendCodeQueue,
  type Redis,
  SEND_CODE_QUEUE,
  type SendCodeJob,
} from '@twofa/queue';
import { createRedisSmsInbox, createSmsProvider, type SmsProvider } from '@twofa/sms';
import { type Job, Worker } from 'bullmq';
import type { WorkerDeps } from './deps.ts';
import { processSendCode } from './processors/send-code.ts';
import { startReconciler } from './reconciler.ts';

export interface WorkerRuntime {
  deps: WorkerDeps;
  worker: Worker<SendCodeJob>;
  /** Port of the health/metrics server, when one was started. */
  port: number | null;
  close(): Promise<void>;
}

/** Twilio's balance moves slowly; polling it often would only spend API calls. */
const PROVIDER_BALANCE_INTERVAL_MS = 5 * 60_000;
const JSON_TYPE = 'application/json';

/**
 * Polls the provider's account balance into a gauge, so a scrape reads the
 * cached value and never calls the provider itself.
 */
function startProviderBalancePoll(
  sms: SmsProvider,
  deps: Pick<WorkerDeps, 'metrics' | 'logger'>,
  intervalMs: number,
): { stop(): void } {
  if (!sms.balance) return { stop() {} };
  const poll = async () => {
    try {
      const balance = await sms.balance?.();
      if (!balance) return;
      deps.metrics.providerBalance.set(
        { provider: sms.name, currency: balance.currency },
        balance.balance,
      );
      deps.metrics.providerBalanceUpdated.set({ provider: sms.name }, Date.now() / 1000);
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message }, 'provider balance poll failed');
    }
  };
  void poll();
  const timer = setInterval(poll, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The worker's own /health, /ready and /metrics, answering like the API's. */
async function handleOpsRequest(
  url: string,
  parts: Pick<WorkerDeps, 'db' | 'metrics' | 'sendQueue'> & { queueRedis: Redis },
): Promise<{ status: number; type: string; body: string }> {
  const path = new URL(url, 'http://worker').pathname;
  if (path === '/health') return { status: 200, type: JSON_TYPE, body: '{"status":"ok"}' };
  if (path === '/ready') {
    const result = await checkReadiness({
      postgres: () => parts.db.sql`select 1`,
      redis: () => parts.queueRedis.ping(),
    });
    if (result.ready) {
      return {
        status: 200,
        type: JSON_TYPE,
        body: JSON.stringify({ status: 'ready', checks: result.checks }),
      };
    }
    return {
      status: 503,
      type: 'application/problem+json',
      body: JSON.stringify(notReadyProblem(result)),
    };
  }
  if (path === '/metrics') {
    await recordQueueDepths(parts.metrics, [parts.sendQueue], READINESS_TIMEOUT_MS);
    return {
      status: 200,
      type: parts.metrics.registry.contentType,
      body: await parts.metrics.registry.metrics(),
    };
  }
  return { status: 404, type: JSON_TYPE, body: '{"code":"not_found"}' };
}

export function smsProviderFromConfig(config: Config, inboxRedis?: Redis): SmsProvider {
  const env = config.env;
  return createSmsProvider({
    provider: env.SMS_PROVIDER,
    nodeEnv: env.NODE_ENV,
    twilio: {
      accountSid: env.TWILIO_ACCOUNT_SID,
      authToken: env.TWILIO_AUTH_TOKEN,
      from: env.TWILIO_FROM,
      apiBaseUrl: env.TWILIO_API_BASE_URL,
      statusCallbackBaseUrl: env.PUBLIC_BASE_URL,
      timeoutMs: env.TWILIO_TIMEOUT_MS,
    },
    // The dev inbox page (/dev/sms on the API) reads the console provider's messages from Redis.
    inbox: inboxRedis ? createRedisSmsInbox(inboxRedis, env.QUEUE_PREFIX) : undefined,
    // The console provider is the development inbox: it prints the message, code
    // included, straight to stdout, outside the structured (redacted) log.
    // createSmsProvider refuses it when NODE_ENV=production.
    logger: {
      info: (obj) => {
        const { to, body } = obj as { to?: string; body?: string };
        process.stdout.write(`[console sms] to ${to}: ${body}\n`);
      },
    },
  });
}

/**
 * Boots one worker process's parts: the BullMQ worker, the reconciler, the
 * provider balance poll and a small health/metrics server. Nothing starts at
 * import time.
 */
export async function startWorker(
  config: Config,
  overrides: {
    clock?: Clock;
    logger?: Logger;
    sms?: SmsProvider;
    metricsPort?: number | null;
    reconcileIntervalMs?: number;
    providerBalanceIntervalMs?: number;
  } = {},
): Promise<WorkerRuntime> {
  const env = config.env;
  const logger = overrides.logger ?? createLogger({ name: 'worker', level: env.LOG_LEVEL });
  const metrics = createMetrics('worker');
  const db = createDb(env.DATABASE_URL, {
    // Each job holds a connection only for its short statements, never across the provider call.
    max: Math.min(env.WORKER_CONCURRENCY + 2, env.DB_POOL_SIZE),
    applicationName: 'twofa-worker',
  });
  const queueRedis = createRedis(env.REDIS_URL, 'worker');
  queueRedis.on('error', (error) => logger.debug({ err: error.message }, 'redis error'));
  const sendQueue = createSendCodeQueue(queueRedis, env.QUEUE_PREFIX, {
    retryBaseDelayMs: env.SEND_RETRY_BASE_DELAY_MS,
  });
  sendQueue.on('error', (error) => logger.debug({ err: error.message }, 'queue error'));
  const sms = overrides.sms ?? smsProviderFromConfig(config, queueRedis);
  const deps: WorkerDeps = {
    config,
    clock: overrides.clock ?? systemClock,
    logger,
    metrics,
    db,
    sms,
    sendQueue,
  };

  // BullMQ does not close a connection it was handed: close() does.
  const workerRedis = createRedis(env.REDIS_URL, 'worker');
  workerRedis.on('error', (error) => logger.debug({ err: error.message }, 'redis error'));
  const worker = new Worker<SendCodeJob>(
    SEND_CODE_QUEUE,
    async (job: Job<SendCodeJob>) => {
      const started = performance.now();
      let outcome = 'error';
      try {
        outcome = await processSendCode(job, deps);
        return outcome;
      } catch (error) {
        outcome = (error as Error).name === 'ProviderUnavailableError' ? 'retrying' : 'error';
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
      connection: workerRedis,
      prefix: env.QUEUE_PREFIX,
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
    if (job && error.name !== 'ProviderUnavailableError') {
      logger.warn({ jobId: job.id, err: error.message, attempts: job.attemptsMade }, 'job failed');
    }
  });

  const reconciler = startReconciler(
    deps,
    overrides.reconcileIntervalMs ?? env.RECONCILE_INTERVAL_MS,
  );

  const balancePoll = startProviderBalancePoll(
    sms,
    deps,
    overrides.providerBalanceIntervalMs ?? PROVIDER_BALANCE_INTERVAL_MS,
  );

  let server: Server | null = null;
  let port: number | null = null;
  const metricsPort =
    overrides.metricsPort === undefined ? env.WORKER_METRICS_PORT : overrides.metricsPort;
  if (metricsPort !== null) {
    server = createServer((req, res) => {
      handleOpsRequest(req.url ?? '/', { db, queueRedis, sendQueue, metrics }).then(
        ({ status, type, body }) => res.writeHead(status, { 'content-type': type }).end(body),
        (error: unknown) => {
          logger.warn({ err: (error as Error).message }, 'ops request failed');
          res
            .writeHead(500, { 'content-type': 'application/json' })
            .end('{"code":"internal_error"}');
        },
      );
    });
    await new Promise<void>((resolve, reject) => {
      server?.once('error', reject);
      server?.listen(metricsPort, env.HOST, resolve);
    });
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : null;
  }

  return {
    deps,
    worker,
    port,
    async close() {
      reconciler.stop();
      balancePoll.stop();
      // Waits for active jobs to finish; takes no new ones.
      await worker.close();
      await sendQueue.close();
      workerRedis.disconnect();
      queueRedis.disconnect();
      server?.closeAllConnections();
      server?.close();
      await db.close();
    },
  };
}
