import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database } from '@twofa/db';
import {
  checkReadiness,
  type Logger,
  METRICS_CHALLENGE,
  type Metrics,
  metricsAuthorized,
  notReadyProblem,
  READINESS_TIMEOUT_MS,
  recordQueueDepths,
  recordReadiness,
} from '@twofa/observability';
import type { Queue, RedisConnection, SendCodeJob, WebhookDeliveryJob } from '@twofa/queue';
import { recordWebhookBacklog } from './webhook-dispatch.ts';

const JSON_TYPE = 'application/json';

interface OpsParts {
  db: Database;
  redis: RedisConnection;
  sendQueue: Queue<SendCodeJob>;
  webhookQueue: Queue<WebhookDeliveryJob>;
  metrics: Metrics;
  /** METRICS_TOKEN: when set, /metrics wants it as a Bearer token. */
  metricsToken: string | undefined;
}

interface OpsAnswer {
  status: number;
  type: string;
  body: string;
  headers?: Record<string, string>;
}

/** The worker's own /health, /ready and /metrics, answering like the API's. */
async function handleOpsRequest(
  url: string,
  authorization: string | undefined,
  parts: OpsParts,
): Promise<OpsAnswer> {
  const path = new URL(url, 'http://worker').pathname;
  if (path === '/health') return { status: 200, type: JSON_TYPE, body: '{"status":"ok"}' };
  const ready = async () => {
    const result = await checkReadiness({
      postgres: () => parts.db.sql`select 1`,
      redis: () => parts.redis.ping(),
    });
    recordReadiness(parts.metrics, result);
    return result;
  };
  if (path === '/ready') {
    const result = await ready();
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
    if (!metricsAuthorized(parts.metricsToken, authorization)) {
      return {
        status: 401,
        type: 'application/problem+json',
        headers: { 'www-authenticate': METRICS_CHALLENGE },
        body: JSON.stringify({
          type: 'about:blank',
          title: 'Unauthorized',
          status: 401,
          code: 'unauthorized',
          detail: 'Send the metrics token as Authorization: Bearer <METRICS_TOKEN>.',
        }),
      };
    }
    await Promise.all([
      ready(),
      recordQueueDepths(parts.metrics, [parts.sendQueue, parts.webhookQueue], READINESS_TIMEOUT_MS),
      // Postgres away: keep the last reading; /ready says what is down.
      recordWebhookBacklog(parts.db, parts.metrics).catch(() => {}),
    ]);
    return {
      status: 200,
      type: parts.metrics.registry.contentType,
      body: await parts.metrics.registry.metrics(),
    };
  }
  return { status: 404, type: JSON_TYPE, body: '{"code":"not_found"}' };
}

/** Which port to serve on, and whether another may do when it is taken. */
export interface OpsPort {
  port: number;
  /**
   * True for the default port, which every worker on a host shares: the second
   * one serves on a free port instead (and logs it). A port set by hand is kept
   * or the start fails.
   */
  fallBackToFreePort: boolean;
}

export interface OpsServer {
  port: number;
  close(): void;
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts the health/metrics server; resolves once it listens, on the port it got. */
export async function startOpsServer(
  parts: OpsParts,
  where: OpsPort & { host: string },
  logger: Logger,
): Promise<OpsServer> {
  const server = createServer((req, res) => {
    handleOpsRequest(req.url ?? '/', req.headers.authorization, parts).then(
      ({ status, type, body, headers }) =>
        res.writeHead(status, { ...headers, 'content-type': type }).end(body),
      (error: unknown) => {
        logger.warn({ err: (error as Error).message }, 'ops request failed');
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"code":"internal_error"}');
      },
    );
  });
  let port: number;
  try {
    port = await listen(server, where.port, where.host);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EADDRINUSE') throw error;
    if (!where.fallBackToFreePort) {
      throw new Error(
        `WORKER_METRICS_PORT ${where.port} is taken (EADDRINUSE on ${where.host}): ` +
          'set a free port, or leave WORKER_METRICS_PORT unset to take any free one',
        { cause: error },
      );
    }
    port = await listen(server, 0, where.host);
    logger.info(
      { wanted: where.port, metricsPort: port },
      'metrics port taken, likely by another worker on this host; serving on a free port',
    );
  }
  return {
    port,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
