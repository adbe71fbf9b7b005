import { createServer, type Server } from 'node:http';
import type { Config } from '@twofa/config';
import { type Clock, systemClock } from '@twofa/core';
import { createDb } from '@twofa/db';
import { createLogger, createMetrics, type Logger } from '@twofa/observability';
import { createRedis, createSendCodeQueue, SEND_CODE_QUEUE, type SendCodeJob } from '@twofa/queue';
import { createSmsProvider, type SmsProvider } from '@twofa/sms';
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

const PROVIDER_BALANCE_INTERVAL_MS = 5 * 60_000;

export function smsProviderFromConfig(config: Config, logger: Logger): SmsProvider {
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
    logger: { info: (obj, msg) => logger.info(obj, msg) },
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
  } = {},
): Promise<WorkerRuntime> {
  const env = config.env;
  const logger = overrides.logger ?? createLogger({ name: 'worker', level: env.LOG_LEVEL });
  const metrics = createMetrics('worker');
  const db = createDb(env.DATABASE_URL, {
    max: Math.min(env.WORKER_CONCURRENCY + 2, 20),
    applicationName: 'twofa-worker',
  });
  const queueRedis = createRedis(env.REDIS_URL, 'worker');
  queueRedis.on('error', (error) => logger.debug({ err: error.message }, 'redis error'));
  const sendQueue = createSendCodeQueue(queueRedis, env.QUEUE_PREFIX);
  sendQueue.on('error', (error) => logger.debug({ err: error.message }, 'queue error'));
  const sms = overrides.sms ?? smsProviderFromConfig(config, logger);
  const deps: WorkerDeps = {
    config,
    clock: overrides.clock ?? systemClock,
    logger,
    metrics,
    db,
    sms,
    sendQueue,
  };

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
      connection: createRedis(env.REDIS_URL, 'worker'),
      prefix: env.QUEUE_PREFIX,
      concurrency: env.WORKER_CONCURRENCY,
      // A provider call is bounded by its timeout, far below the lock.
      lockDuration: 30_000,
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

  let balanceTimer: NodeJS.Timeout | undefined;
  if (sms.balance) {
    const poll = async () => {
      try {
        const balance = await sms.balance?.();
        if (balance) metrics.providerBalance.set({ currency: balance.currency }, balance.balance);
      } catch (error) {
        logger.debug({ err: (error as Error).message }, 'provider balance poll failed');
      }
    };
    void poll();
    balanceTimer = setInterval(poll, PROVIDER_BALANCE_INTERVAL_MS);
    balanceTimer.unref();
  }

  let server: Server | null = null;
  let port: number | null = null;
  const metricsPort =
    overrides.metricsPort === undefined ? env.WORKER_METRICS_PORT : overrides.metricsPort;
  if (metricsPort !== null) {
    server = createServer(async (req, res) => {
      if (req.url === '/health') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      } else if (req.url === '/ready') {
        const checks = {
          postgres: await db.sql`select 1`.then(
            () => 'ok',
            () => 'unavailable',
          ),
          redis: await queueRedis.ping().then(
            () => 'ok',
            () => 'unavailable',
          ),
        };
        const ready = checks.postgres === 'ok' && checks.redis === 'ok';
        res.writeHead(ready ? 200 : 503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: ready ? 'ready' : 'not_ready', checks }));
      } else if (req.url === '/metrics') {
        res.writeHead(200, { 'content-type': metrics.registry.contentType });
        res.end(await metrics.registry.metrics());
      } else {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"not_found"}');
      }
    });
    await new Promise<void>((resolve) => server?.listen(metricsPort, '127.0.0.1', resolve));
    const address = server.address();
    port = typeof address === 'object' && address ? address.port : null;
  }

  return {
    deps,
    worker,
    port,
    async close() {
      reconciler.stop();
      if (balanceTimer) clearInterval(balanceTimer);
      // Waits for active jobs to finish; takes no new ones.
      await worker.close();
      await sendQueue.close();
      queueRedis.disconnect();
      server?.close();
      await db.close();
    },
  };
}
