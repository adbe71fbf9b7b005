import { loadConfigOrExit } from '@twofa/config';
import { createLogger, runUntilSignal } from '@twofa/observability';
import { startWorker, type WorkerRuntime } from './boot.ts';

const config = loadConfigOrExit();
const logger = createLogger({ name: 'worker', level: config.env.LOG_LEVEL });
for (const warning of config.warnings) logger.warn(warning);

let runtime: WorkerRuntime | null = null;
try {
  runtime = await startWorker(config, { logger });
} catch (error) {
  // Everything it opened is closed again: the process ends on its own.
  logger.fatal({ err: (error as Error).message }, 'worker failed to start');
  process.exitCode = 1;
}

if (runtime) {
  const started = runtime;
  logger.info(
    {
      concurrency: config.env.WORKER_CONCURRENCY,
      metricsPort: started.port,
      provider: started.deps.sms.name,
    },
    'worker started',
  );
  runUntilSignal({
    logger,
    shutdownTimeoutMs: config.env.SHUTDOWN_TIMEOUT_MS,
    drainingMessage: 'draining: finishing active jobs, taking no new ones',
    stop: () => started.close(),
  });
}
