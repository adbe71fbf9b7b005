import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { Hono, type MiddlewareHandler } from 'hono';
import { selfOnlyCsp } from '../lib/csp.ts';
import type { AppEnv } from '../lib/env.ts';
import type { Services } from '../lib/services.ts';

export const ADMIN_QUEUES_PATH = '/admin/queues';

/** The dashboard takes the platform key as a Bearer token, or as the password of user "admin". */
const dashboardAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { apiKeys } = c.get('services');
  const header = c.req.header('authorization') ?? '';
  let presented: string | null = null;
  const bearer = /^Bearer\s+(\S+)$/i.exec(header);
  if (bearer) presented = bearer[1] ?? null;
  const basic = /^Basic\s+(\S+)$/i.exec(header);
  if (basic?.[1]) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0 && decoded.slice(0, colon) === 'admin') presented = decoded.slice(colon + 1);
  }
  if (presented && apiKeys.isPlatform(apiKeys.hash(presented))) {
    await next();
    return;
  }
  return c.json(
    {
      type: 'about:blank',
      title: 'Unauthorized',
      status: 401,
      code: 'unauthorized',
      detail: 'The queue dashboard takes the platform key.',
    },
    401,
    {
      'content-type': 'application/problem+json',
      'www-authenticate': 'Basic realm="queues", charset="UTF-8"',
    },
  );
};

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The dashboard's state-changing calls (retry, promote, clean, add, ...) are
 * authorized by whatever basic auth the browser has cached, so a page on
 * another site could make them. Refused unless they come from the dashboard's
 * own origin: `Sec-Fetch-Site` other than same-origin/none, or an `Origin`
 * (or, lacking both, a `Referer`) whose host is not this request's host.
 * Requests without any of these headers (curl, the CLI) carry no browser
 * credentials by accident, and pass.
 */
const sameOriginWrites: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (SAFE_METHODS.has(c.req.method)) return next();
  const site = c.req.header('sec-fetch-site')?.toLowerCase();
  const origin = c.req.header('origin') ?? null;
  const referer = c.req.header('referer') ?? null;
  const ownHost = c.req.header('host') ?? new URL(c.req.url).host;
  const hostOf = (value: string): string | null => {
    try {
      return new URL(value).host;
    } catch {
      return null;
    }
  };
  let crossOrigin = false;
  if (site !== undefined && site !== 'same-origin' && site !== 'none') crossOrigin = true;
  else if (origin !== null) crossOrigin = hostOf(origin) !== ownHost;
  else if (site === undefined && referer !== null) crossOrigin = hostOf(referer) !== ownHost;
  if (!crossOrigin) return next();
  return c.json(
    {
      type: 'about:blank',
      title: 'Forbidden',
      status: 403,
      code: 'forbidden',
      detail: 'The queue dashboard takes changes only from its own pages.',
    },
    403,
    { 'content-type': 'application/problem+json' },
  );
};

/**
 * The dashboard's page loads everything from here: bull-board's own bundle asks Google for its
 * fonts, which would tell Google who operates this service and when, and hangs offline. Its
 * inline loading styles are allowed; nothing runs from, or connects to, anywhere else.
 */
const DASHBOARD_CSP = selfOnlyCsp({ baseAndForms: true });

const dashboardHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.header('content-security-policy', DASHBOARD_CSP);
  c.header('x-content-type-options', 'nosniff');
  await next();
};

export function adminQueuesRouter(services: Services): Hono<AppEnv> {
  const serverAdapter = new HonoAdapter(serveStatic);
  createBullBoard({
    queues: [
      new BullMQAdapter(services.sendQueue),
      new BullMQAdapter(services.queueConnections.webhookQueue),
    ],
    serverAdapter,
  });
  serverAdapter.setBasePath(ADMIN_QUEUES_PATH);
  const router = new Hono<AppEnv>();
  router.use('*', sameOriginWrites);
  router.use('*', dashboardAuth);
  router.use('*', dashboardHeaders);
  router.route('/', serverAdapter.registerPlugin());
  return router;
}
