/**
 * Lever: per-request work in the API's auth. A Hono app with the API's request context
 * (request id, child logger, metrics, access line) and its auth middleware, before and after:
 * before, the API key's HMAC made once per check (the platform key's own hash made again on
 * every check), key lookups in an unbounded Map; after, lib/auth.ts as it is (one HMAC per
 * request, the platform hash made at start, a bounded single-flight key cache). Real Postgres
 * and Redis (the services as the API builds them); the caches are warm, as in steady state.
 * The access line goes to a discarding destination in both.
 *
 *   node --import tsx bench/levers/api-auth.ts        LEVERS_N=5000 LEVERS_ROUNDS=6
 */
import { randomBytes } from 'node:crypto';
import { loadConfig } from '@twofa/config';
import { hashSecret, safeEqual } from '@twofa/core';
import { findOrganizationIdByKeyHash, migrateDatabase } from '@twofa/db';
import { createLogger } from '@twofa/observability';
import { type Context, Hono, type MiddlewareHandler } from 'hono';
import { createApp } from '../../apps/api/src/app.ts';
import { organizationAuth, platformAuth } from '../../apps/api/src/lib/auth.ts';
import type { AppEnv } from '../../apps/api/src/lib/env.ts';
import { ApiError } from '../../apps/api/src/lib/errors.ts';
import { errorHandler, requestContext } from '../../apps/api/src/lib/http.ts';
import { closeServices, createServices, type Services } from '../../apps/api/src/lib/services.ts';
import { createDatabase } from '../lib/stack.ts';
import { ab, intEnv, printTable } from './ab.ts';

const N = intEnv('LEVERS_N', 5000);
const ROUNDS = intEnv('LEVERS_ROUNDS', 6);
const ADMIN_KEY = `bench-platform-${randomBytes(8).toString('hex')}`;
const PG_BASE = process.env.BENCH_PG_BASE ?? 'postgres://postgres@127.0.0.1:5432';

// ---- before: the request context and auth as they were, kept here for the A/B only ----

const oldKeyCache = new Map<string, { organizationId: string; at: number }>();

function bearer(c: Context): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header('authorization') ?? '');
  return match?.[1] ?? null;
}

function isPlatformKeyBefore(c: Context<AppEnv>, token: string): boolean {
  const { config } = c.get('services');
  return safeEqual(
    hashSecret(config.appSecret, 'api-key', token),
    hashSecret(config.appSecret, 'api-key', config.adminApiKey),
  );
}

async function organizationForBefore(c: Context<AppEnv>, token: string) {
  const services = c.get('services');
  const hash = hashSecret(services.config.appSecret, 'api-key', token);
  const now = services.clock.now().getTime();
  const cached = oldKeyCache.get(hash);
  if (cached && now - cached.at < 60_000) return cached.organizationId;
  const organizationId = await findOrganizationIdByKeyHash(services.db.sql, hash);
  if (organizationId) oldKeyCache.set(hash, { organizationId, at: now });
  return organizationId;
}

const unauthorized = () => new ApiError('unauthorized', 'A valid API key is required.');

const platformAuthBefore: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearer(c);
  if (!token) throw unauthorized();
  if (!isPlatformKeyBefore(c, token)) {
    if (await organizationForBefore(c, token)) throw new ApiError('forbidden', 'platform key');
    throw unauthorized();
  }
  c.set('principal', { kind: 'platform' });
  await next();
};

const organizationAuthBefore: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearer(c);
  if (!token) throw unauthorized();
  const organizationId = await organizationForBefore(c, token);
  if (!organizationId) {
    if (isPlatformKeyBefore(c, token)) throw new ApiError('forbidden', 'organization key');
    throw unauthorized();
  }
  const organization = await c.get('services').organizations.get(organizationId);
  if (!organization) throw unauthorized();
  c.set('principal', { kind: 'organization', organizationId });
  c.set('organizationId', organizationId);
  c.set('organization', organization);
  await next();
};

// ---- the bench ----

function app(
  services: Services,
  context: (s: Services) => MiddlewareHandler<AppEnv>,
  auth: { organization: MiddlewareHandler<AppEnv>; platform: MiddlewareHandler<AppEnv> },
) {
  const a = new Hono<AppEnv>();
  a.use(context(services));
  a.onError(errorHandler);
  a.get('/org', auth.organization, (c) => c.json({ organizationId: c.get('organizationId') }));
  a.get('/platform', auth.platform, (c) => c.json({ ok: true }));
  return a;
}

const db = await createDatabase(PG_BASE, 'levers');
let services: Services | undefined;
try {
  await migrateDatabase(db.url);
  const config = loadConfig({
    NODE_ENV: 'test',
    DATABASE_URL: db.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: `twofa-levers-${randomBytes(4).toString('hex')}`,
    ADMIN_API_KEY: ADMIN_KEY,
    APP_SECRET: randomBytes(24).toString('hex'),
    SMS_PROVIDER: 'console',
    LOG_LEVEL: 'info',
  });
  const logger = createLogger({ name: 'api', level: 'info', destination: { write() {} } });
  services = createServices(config, { logger });
  const created = await createApp(services).request('/v1/organizations', {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Bench Clinic', country: 'FI' }),
  });
  const { apiKey } = (await created.json()) as { apiKey: string };

  const before = app(services, requestContext, {
    organization: organizationAuthBefore,
    platform: platformAuthBefore,
  });
  const after = app(services, requestContext, {
    organization: organizationAuth,
    platform: platformAuth,
  });
  const round = (a: Hono<AppEnv>, path: string, key: string) => async () => {
    const headers = { authorization: `Bearer ${key}` };
    for (let i = 0; i < N; i++) {
      const res = await a.request(path, { headers });
      if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
      await res.arrayBuffer();
    }
    return N;
  };
  const results = [
    await ab(
      'API request, organization key',
      { before: round(before, '/org', apiKey), after: round(after, '/org', apiKey) },
      { rounds: ROUNDS },
    ),
    await ab(
      'API request, platform key',
      {
        before: round(before, '/platform', ADMIN_KEY),
        after: round(after, '/platform', ADMIN_KEY),
      },
      { rounds: ROUNDS },
    ),
  ];
  printTable(results);
} finally {
  if (services) await closeServices(services);
  await db.drop();
}
