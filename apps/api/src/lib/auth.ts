import { hashSecret, safeEqual } from '@twofa/core';
import { findOrganizationIdByKeyHash } from '@twofa/db';
import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';
import { ApiError } from './errors.ts';

const KEY_CACHE_TTL_MS = 60_000;

function bearer(c: Context): string | null {
  const header = c.req.header('authorization');
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

function isPlatformKey(c: Context<AppEnv>, token: string): boolean {
  const { config } = c.get('services');
  return safeEqual(
    hashSecret(config.appSecret, 'api-key', token),
    hashSecret(config.appSecret, 'api-key', config.adminApiKey),
  );
}

async function organizationFor(c: Context<AppEnv>, token: string): Promise<string | null> {
  const services = c.get('services');
  const hash = hashSecret(services.config.appSecret, 'api-key', token);
  const now = services.clock.now().getTime();
  const cached = services.apiKeyCache.get(hash);
  if (cached && now - cached.at < KEY_CACHE_TTL_MS) return cached.organizationId;
  const organizationId = await findOrganizationIdByKeyHash(services.db.sql, hash);
  if (organizationId) services.apiKeyCache.set(hash, { organizationId, at: now });
  return organizationId;
}

const unauthorized = () =>
  new ApiError('unauthorized', 'A valid API key is required.', {}, WWW_AUTHENTICATE);

/** RFC 9110: a 401 names the scheme it wants. */
export const WWW_AUTHENTICATE = { 'www-authenticate': 'Bearer realm="twofa"' };

export const platformAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearer(c);
  if (!token) throw unauthorized();
  if (!isPlatformKey(c, token)) {
    if (await organizationFor(c, token)) {
      throw new ApiError('forbidden', 'This route takes the platform key.');
    }
    throw unauthorized();
  }
  c.set('principal', { kind: 'platform' });
  await next();
};

export const organizationAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearer(c);
  if (!token) throw unauthorized();
  const organizationId = await organizationFor(c, token);
  if (!organizationId) {
    if (isPlatformKey(c, token))
      throw new ApiError('forbidden', 'This route takes an organization key.');
    throw unauthorized();
  }
  // Loaded once here, so no handler looks its organization up again.
  const organization = await c.get('services').organizations.get(organizationId);
  if (!organization) throw unauthorized();
  c.set('principal', { kind: 'organization', organizationId });
  c.set('organizationId', organizationId);
  c.set('organization', organization);
  await next();
};
