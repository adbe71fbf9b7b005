import { randomUUID } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { isDatabaseUnavailable } from '@twofa/db';
import { isRedisUnavailable } from '@twofa/queue';
import type { Context, ErrorHandler, MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { routePath } from 'hono/route';
import type { ZodError } from 'zod';
import { WWW_AUTHENTICATE } from './auth.ts';
import { type EndUser, resolveClientAddress, resolveEndUser } from './client-address.ts';
import type { AppEnv } from './env.ts';
import { ApiError, problem } from './errors.ts';
import { Uuid } from './schemas.ts';
import type { Services } from './services.ts';

/** Puts services, a request id and a request-scoped logger on the context; logs and measures. */
export function requestContext(services: Services): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && /^[\w.-]{1,128}$/.test(incoming) ? incoming : randomUUID();
    c.set('services', services);
    c.set('requestId', requestId);
    c.set('logger', services.logger.child({ requestId }));
    // Set before the handler builds its response: setting it afterwards would
    // clone the response and push it off @hono/node-server's fast write path.
    c.header('x-request-id', requestId);
    const started = performance.now();
    await next();
    const route = routePath(c) || 'unmatched';
    const status = String(c.res.status);
    const seconds = (performance.now() - started) / 1000;
    const labels = { method: c.req.method, route, status };
    services.metrics.httpRequests.inc(labels);
    services.metrics.httpDuration.observe(labels, seconds);
    const organizationId = c.get('organizationId');
    c.get('logger').info(
      {
        method: c.req.method,
        route,
        status: c.res.status,
        durationMs: Math.round(seconds * 1e4) / 10,
        remoteAddress: clientAddress(c),
        ...(organizationId ? { organizationId } : {}),
      },
      'request',
    );
  };
}

const isDown = (error: unknown) => isDatabaseUnavailable(error) || isRedisUnavailable(error);

/**
 * The error that says Postgres or Redis did not answer: the error itself, or
 * what it wraps (the hosted prompt's `temporarily_unavailable` carries its
 * cause); null for any other error.
 */
export function unavailability(error: unknown): Error | null {
  if (isDown(error)) return error as Error;
  const cause = error instanceof Error ? error.cause : undefined;
  return isDown(cause) ? (cause as Error) : null;
}

/** A browser asking for a page (not the JSON API): it is shown a page, not a problem document. */
function wantsPage(c: Context): boolean {
  return !c.req.path.startsWith('/v1/') && (c.req.header('accept') ?? '').includes('text/html');
}

/**
 * The API's errors as problem documents. A page request that found Postgres or
 * Redis down gets `unavailablePage` (HTML, 503) instead: nothing was decided,
 * so the same address works again once they answer.
 */
export function errorHandler(
  unavailablePage: (c: Context<AppEnv>) => Promise<Response>,
): ErrorHandler<AppEnv> {
  return (error, c) => {
    if (error instanceof ApiError)
      return problem(c, error.code, error.detail, error.extra, error.headers);
    if (error instanceof HTTPException) {
      if (error.status === 413) return problem(c, 'payload_too_large', 'The body is over 64 KiB.');
      if (error.status === 400) return problem(c, 'invalid_request', 'The body is not valid JSON.');
      if (error.status === 415) {
        return problem(
          c,
          'invalid_request',
          'The body must be JSON (Content-Type: application/json).',
        );
      }
      if (error.status === 401) {
        return problem(c, 'unauthorized', 'A valid API key is required.', {}, WWW_AUTHENTICATE);
      }
    }
    const logger = c.get('logger');
    const down = unavailability(error);
    if (down) {
      const database = isDatabaseUnavailable(down);
      logger?.error({ err: down.message }, database ? 'database unavailable' : 'redis unavailable');
      if (wantsPage(c)) return unavailablePage(c);
      return database
        ? problem(c, 'database_unavailable', 'The database is not reachable; try again shortly.')
        : problem(c, 'queue_unavailable', 'The queue is not reachable; try again shortly.');
    }
    logger?.error({ err: error }, 'unhandled error');
    return problem(c, 'internal_error', 'Something went wrong; the request id identifies it.');
  };
}

export function validationProblem(c: Context, error: ZodError): Response {
  const errors = error.issues.map((issue) => ({
    path: issue.path.join('.') || '(body)',
    message: issue.message,
  }));
  const first = errors[0];
  const detail = first ? `${first.path}: ${first.message}` : 'The request is not valid.';
  return problem(c, 'invalid_request', detail, { errors });
}

/** A malformed id can name nothing: it is a 404 like an unknown one. */
export function parseId(value: string, what: string): string {
  const id = Uuid.safeParse(value);
  if (!id.success) throw new ApiError('not_found', `${what} not found`);
  return id.data;
}

function socketAddress(c: Context): string | null {
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    // app.request() in tests and other non-socket adapters have no connection to ask.
    return null;
  }
}

/**
 * The caller's address for the service's own records (audit events, request
 * logs): from the socket, or from X-Forwarded-For when the socket peer is a
 * proxy listed in TRUST_PROXY. The API's login decisions never use it: they
 * take the end user's address from the request body; the pages use endUser.
 */
export function clientAddress(c: Context<AppEnv>): string | null {
  const peer = socketAddress(c);
  const forwardedFor = c.req.header('x-forwarded-for');
  const { trustedProxies } = c.get('services');
  const found = resolveEndUser(peer, forwardedFor, trustedProxies);
  warnIfUnlisted(c, found, peer);
  // Unless a peer not listed forwarded, the end user's address is the records' one
  // (resolveEndUser resolved it): every request logs it, so it is resolved once.
  return found.unlistedForwarder
    ? resolveClientAddress(peer, forwardedFor, trustedProxies)
    : found.ip;
}

/** Who made a change through the JSON API, for the audit log: the organization key, from here. */
export function organizationKeyActor(c: Context<AppEnv>): {
  actor: 'organization_key';
  ip: string | null;
} {
  return { actor: 'organization_key', ip: clientAddress(c) };
}

/** The end user of a page request: see resolveEndUser. */
export function endUser(c: Context<AppEnv>): EndUser {
  const peer = socketAddress(c);
  const found = resolveEndUser(
    peer,
    c.req.header('x-forwarded-for'),
    c.get('services').trustedProxies,
  );
  warnIfUnlisted(c, found, peer);
  return found;
}

function warnIfUnlisted(c: Context<AppEnv>, found: EndUser, peer: string | null): void {
  if (!found.unlistedForwarder || !peer) return;
  c.get('services').trustedProxies.warnUnlistedForwarder(peer, c.get('logger'));
}
