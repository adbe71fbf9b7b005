import { loadConfigOrExit } from '@twofa/config';
import { startWorker } from './boot.ts';

const config = loadConfigOrExit();
const runtime = await startWorker(config);
const { logger } = runtime.deps;
for (const warning of config.warnings) logger.warn(warning);
logger.info(
  {
    concurrency: config.env.WORKER_CONCURRENCY,
    metricsPort: runtime.port,
    provider: runtime.deps.sms.name,
  },
  'worker started',
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'draining: finishing active jobs, taking no new ones');
  setTimeout(() => {
    logger.error('shutdown deadline passed; exiting with jobs still active');
    process.exit(1);
  }, config.env.SHUTDOWN_TIMEOUT_MS).unref();
  await runtime.close();
  logger.info('stopped');
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
