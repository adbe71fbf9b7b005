import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import { hashSecret, safeEqual } from '@twofa/core';
import { Hono, type MiddlewareHandler } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import type { Services } from '../lib/services.ts';

export const ADMIN_QUEUES_PATH = '/admin/queues';

/** The dashboard takes the platform key as a Bearer token, or as the password of user "admin". */
const dashboardAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const { config } = c.get('services');
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
  const expected = hashSecret(config.appSecret, 'api-key', config.adminApiKey);
  if (presented && safeEqual(hashSecret(config.appSecret, 'api-key', presented), expected)) {
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

export function adminQueuesRouter(services: Services): Hono<AppEnv> {
  const serverAdapter = new HonoAdapter(serveStatic);
  createBullBoard({ queues: [new BullMQAdapter(services.sendQueue)], serverAdapter });
  serverAdapter.setBasePath(ADMIN_QUEUES_PATH);
  const router = new Hono<AppEnv>();
  router.use('*', dashboardAuth);
  router.route('/', serverAdapter.registerPlugin());
  return router;
}
