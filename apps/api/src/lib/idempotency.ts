import { createHash } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import {
  claimIdempotencyKey,
  IdempotencyClaimLost,
  type IdempotentAnswer,
  releaseIdempotencyKey,
} from '@twofa/db';
import type { Context, TypedResponse } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { JSONParsed } from 'hono/utils/types';
import type { AppEnv } from './env.ts';
import { ApiError } from './errors.ts';

/** How long a key and its answer are kept (the contract's 24 hours). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * An unanswered claim older than this belongs to a request that died (or
 * whose release was lost with the database); a retry may take it over. The
 * claim's timestamp fences the old request: its work can no longer commit.
 */
export const IDEMPOTENCY_IN_FLIGHT_STALE_MS = 30_000;

export const IDEMPOTENCY_HEADER_DOC =
  'Optional. 1 to 255 printable ASCII characters. A repeat with the same key and body within 24 hours answers what the first answered and does nothing again; the same key with another body or route is 422 idempotency_key_reused; a repeat while the first is in flight is 409 idempotency_key_in_use.';

/** The optional `Idempotency-Key` request header, for a route's `request.headers`. */
export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x20-\x7e]+$/, 'printable ASCII characters only')
    .optional()
    .openapi({
      param: { in: 'header' },
      description: IDEMPOTENCY_HEADER_DOC,
      example: 'login-7c9e6679-attempt-1',
    }),
});

/** Canonical JSON (sorted keys), so key order and whitespace do not make a body "different". */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function requestHash(body: unknown): string {
  return createHash('sha256').update(canonical(body)).digest('hex');
}

/** What the route would answer itself: `c.json(result, status)`. */
type IdempotentResponse<T, S extends ContentfulStatusCode> = Response &
  TypedResponse<JSONParsed<T>, S, 'json'>;

/**
 * Runs a route's work under its `Idempotency-Key`, when the request has one.
 * The key is claimed first in a short statement of its own; `run` receives
 * the claim and must store its answer in the very statement that commits its
 * work (the repo statements take `idempotency`; `claimFence`/`storeAnswer`). A repeat answers the stored status and body
 * byte for byte. Whatever was not stored (an error, an answer with no work
 * behind it) releases the key, so a retry runs afresh.
 */
export async function idempotent<T extends object, S extends ContentfulStatusCode>(
  // biome-ignore lint/suspicious/noExplicitAny: any route's context
  c: Context<AppEnv, any, any>,
  opts: { key: string | undefined; scope: string; body: unknown; status: S },
  run: (answer: IdempotentAnswer | undefined) => Promise<T>,
): Promise<IdempotentResponse<T, S>> {
  const json = (value: T) => c.json(value, opts.status) as unknown as IdempotentResponse<T, S>;
  if (opts.key === undefined) return json(await run(undefined));
  const { db, clock } = c.get('services');
  const now = clock.now();
  const lookup = await claimIdempotencyKey(db.sql, {
    scope: opts.scope,
    key: opts.key,
    route: `${c.req.method} ${c.req.path}`,
    requestHash: requestHash(opts.body),
    now,
    expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS),
    staleBefore: new Date(now.getTime() - IDEMPOTENCY_IN_FLIGHT_STALE_MS),
  });
  switch (lookup.kind) {
    case 'replay':
      // The stored text as it was first sent; typed as the route's own answer.
      return c.body(lookup.body, lookup.status as ContentfulStatusCode, {
        'content-type': 'application/json',
        'idempotent-replayed': 'true',
      }) as unknown as IdempotentResponse<T, S>;
    case 'in_use':
      throw new ApiError(
        'idempotency_key_in_use',
        'A request with this Idempotency-Key is still being processed; retry shortly.',
        {},
        { 'retry-after': '1' },
      );
    case 'reused':
      throw new ApiError(
        'idempotency_key_reused',
        'This Idempotency-Key was used with another request body or route; use a new key.',
      );
  }
  const { claim } = lookup;
  try {
    return json(await run({ claim, status: opts.status }));
  } catch (error) {
    if (error instanceof IdempotencyClaimLost) {
      throw new ApiError(
        'idempotency_key_in_use',
        'A later request with this Idempotency-Key took it over; nothing was done by this one.',
      );
    }
    throw error;
  } finally {
    // A no-op when the answer was stored with the work.
    await releaseIdempotencyKey(db.sql, claim).catch((error: unknown) =>
      c
        .get('logger')
        .warn(
          { err: (error as Error).message },
          'idempotency key not released; it frees itself once stale',
        ),
    );
  }
}
