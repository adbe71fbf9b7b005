import { serve } from '@hono/node-server';
import { loadConfigOrExit } from '@twofa/config';
import { runUntilSignal } from '@twofa/observability';
import { createApp } from './app.ts';
import { closeServices, createServices } from './lib/services.ts';
import { promptIssuer } from './prompt/provider.ts';
import { loadSigningKeys } from './prompt/signing-keys.ts';

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

// The hosted prompt's signing key is made on the first start (replicas agree on one), not
// on the first sign-in; a failure here only delays it to the first prompt.
if (promptIssuer(services)) {
  loadSigningKeys(services.db, config.appSecrets).catch((error: Error) =>
    services.logger.warn({ err: error.message }, 'prompt signing keys not loaded yet'),
  );
}

runUntilSignal({
  logger: services.logger,
  shutdownTimeoutMs: config.env.SHUTDOWN_TIMEOUT_MS,
  drainingMessage: 'shutting down: finishing in-flight requests',
  async stop() {
    // Fail readiness first and keep serving for SHUTDOWN_DRAIN_MS, so a load balancer sees the
    // 503 and stops routing here before the listener closes; answers meanwhile close their
    // keep-alive connections, so no client is left holding a socket that is about to go.
    services.lifecycle.draining = true;
    const drainMs = config.env.SHUTDOWN_DRAIN_MS;
    if (drainMs > 0) {
      services.logger.info({ drainMs }, 'draining: /ready answers 503, still serving');
      await new Promise((resolve) => setTimeout(resolve, drainMs));
    }
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await closeServices(services);
  },
});
