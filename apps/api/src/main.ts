import { serve } from '@hono/node-server';
import { loadConfigOrExit } from '@twofa/config';
import { createApp } from './app.ts';
import { closeServices, createServices } from './lib/services.ts';

const config = loadConfigOrExit();
const services = createServices(config);
for (const warning of config.warnings) services.logger.warn(warning);
const app = createApp(services);

const server = serve(
  { fetch: app.fetch, port: config.env.PORT, hostname: config.env.HOST },
  (info) => {
    services.logger.info({ port: info.port }, 'api listening');
  },
);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  services.logger.info({ signal }, 'shutting down: finishing in-flight requests');
  // A hard deadline, unref'd so it never keeps a clean exit waiting.
  setTimeout(() => {
    services.logger.error('shutdown deadline passed; exiting');
    process.exit(1);
  }, config.env.SHUTDOWN_TIMEOUT_MS).unref();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await closeServices(services);
  services.logger.info('stopped');
  process.exit(0);
}

process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
