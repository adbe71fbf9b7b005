import { serve } from '@hono/node-server';
import { loadConfigOrExit } from '@twofa/config';
import { runUntilSignal } from '@twofa/observability';
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

runUntilSignal({
  logger: services.logger,
  shutdownTimeoutMs: config.env.SHUTDOWN_TIMEOUT_MS,
  drainingMessage: 'shutting down: finishing in-flight requests',
  async stop() {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closeServices(services);
  },
});
