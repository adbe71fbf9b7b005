import type { Context, MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.ts';
import { ApiError } from './errors.ts';

function bearer(c: Context): string | null {
  const header = c.req.header('authorization');
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1] ?? null;
}

const unauthorized = () =>
  new ApiError('unauthorized', 'A valid API key is required.', {}, WWW_AUTHENTICATE);

/** RFC 9110: a 401 names the scheme it wants. */
export const WWW_AUTHENTICATE = { 'www-authenticate': 'Bearer realm="twofa"' };

export const platformAuth: MiddlewareHandler<AppEnv> = async (c, next) => {
  const token = bearer(c);
  if (!token) throw unauthorized();
  const { apiKeys } = c.get('services');
  const hash = apiKeys.hash(token);
  if (!apiKeys.isPlatform(hash)) {
    if (await apiKeys.organizationFor(hash, token)) {
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
  const { apiKeys } = c.get('services');
  const hash = apiKeys.hash(token);
  const organizationId = await apiKeys.organizationFor(hash, token);
  if (!organizationId) {
    if (apiKeys.isPlatform(hash))
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
