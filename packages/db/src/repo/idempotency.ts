import type { Sql } from '../client.ts';

/**
 * A request that holds an `Idempotency-Key`: the claim row exists with no
 * answer yet. `claimedAt` is the fencing token: the answer is only written
 * while the row still carries it, so a claim taken over after it went stale
 * can never commit its work.
 */
export interface IdempotencyClaim {
  scope: string;
  key: string;
  route: string;
  requestHash: string;
  claimedAt: Date;
}

export type IdempotencyLookup =
  | { kind: 'claimed'; claim: IdempotencyClaim }
  /** The first request finished: answer what it answered. */
  | { kind: 'replay'; status: number; body: string }
  /** The first request is still being processed. */
  | { kind: 'in_use' }
  /** The key was used for another route or another body. */
  | { kind: 'reused' };

/** The work under a claim and its answer were lost to a takeover: nothing was committed. */
export class IdempotencyClaimLost extends Error {
  override name = 'IdempotencyClaimLost';
}

/**
 * Claims a key in its own short statement. An expired row (past its 24 h), or
 * an unanswered claim older than `staleBefore` (its request died without
 * releasing it), is taken over; any other existing row answers as a replay,
 * in-use or reuse.
 */
export async function claimIdempotencyKey(
  sql: Sql,
  input: {
    scope: string;
    key: string;
    route: string;
    requestHash: string;
    now: Date;
    expiresAt: Date;
    staleBefore: Date;
  },
): Promise<IdempotencyLookup> {
  const { scope, key, route, requestHash, now, expiresAt, staleBefore } = input;
  for (let attempt = 0; attempt < 3; attempt++) {
    const [claimed] = await sql<{ claimedAt: Date }[]>`
      insert into idempotency_keys (scope, key, route, request_hash, created_at, expires_at)
      values (${scope}, ${key}, ${route}, ${requestHash}, ${now}, ${expiresAt})
      on conflict (scope, key) do update set route = excluded.route,
        request_hash = excluded.request_hash, response_status = null, response_body = null,
        created_at = excluded.created_at, expires_at = excluded.expires_at
      where idempotency_keys.expires_at <= ${now}
        or (idempotency_keys.response_status is null and idempotency_keys.created_at < ${staleBefore})
      returning created_at as "claimedAt"`;
    if (claimed) {
      return { kind: 'claimed', claim: { scope, key, route, requestHash, claimedAt: now } };
    }
    const [existing] = await sql<
      { route: string; requestHash: string; status: number | null; body: string | null }[]
    >`
      select route, request_hash as "requestHash", response_status as status,
        response_body as body
      from idempotency_keys where scope = ${scope} and key = ${key}`;
    // Released between the two statements: claim again.
    if (!existing) continue;
    if (existing.route !== route || existing.requestHash !== requestHash) return { kind: 'reused' };
    if (existing.status === null || existing.body === null) return { kind: 'in_use' };
    return { kind: 'replay', status: existing.status, body: existing.body };
  }
  return { kind: 'in_use' };
}

/** Gives an unanswered claim back, so a retry with the key runs the request afresh. */
export async function releaseIdempotencyKey(sql: Sql, claim: IdempotencyClaim): Promise<void> {
  await sql`
    delete from idempotency_keys
    where scope = ${claim.scope} and key = ${claim.key} and created_at = ${claim.claimedAt}
      and response_status is null`;
}

/** Deletes rows past their 24 h, a batch at a time (the worker's reconciler calls it). */
export async function deleteExpiredIdempotencyKeys(
  sql: Sql,
  now: Date,
  limit = 1_000,
): Promise<number> {
  const rows = await sql`
    delete from idempotency_keys where ctid in (
      select ctid from idempotency_keys where expires_at <= ${now} limit ${limit})
    returning key`;
  return rows.length;
}

/** The claim to answer under, and the status its answer carries. */
export interface IdempotentAnswer {
  claim: IdempotencyClaim;
  status: number;
}

/** What a work statement stores with its work: the claim and the exact answer text. */
export interface StoredAnswer extends IdempotentAnswer {
  /** The answer's JSON text, as sent; computed by the statement when absent. */
  body?: string;
}

/**
 * The fence a work statement starts with: `k` holds a row only while the
 * claim is still ours (unanswered, same timestamp), locked for the rest of
 * the statement, so a takeover waits for it or finds it answered. Without a
 * claim `k` is one constant row and gates nothing.
 */
export function claimFence(sql: Sql, answer: StoredAnswer | undefined) {
  if (!answer) return sql`select 1 as fenced`;
  const { claim } = answer;
  return sql`
    select 1 as fenced from idempotency_keys
    where scope = ${claim.scope} and key = ${claim.key} and created_at = ${claim.claimedAt}
      and response_status is null
    for update`;
}

/**
 * The statement's last step: writes the answer on the claim, if the work
 * (`done`, a CTE name) produced a row. `bodySql` computes the body in SQL
 * when the caller could not know it in advance.
 */
export function storeAnswer(
  sql: Sql,
  answer: StoredAnswer | undefined,
  done: string,
  bodySql?: ReturnType<Sql>,
) {
  if (!answer) return sql`select 1`;
  const { claim, status } = answer;
  const body = answer.body !== undefined ? sql`${sql.json(answer.body)}::jsonb` : bodySql;
  if (!body) throw new Error('storeAnswer needs a body or a SQL expression for it');
  return sql`
    update idempotency_keys ik set response_status = ${status}, response_body = ${body}
    from ${sql(done)}
    where ik.scope = ${claim.scope} and ik.key = ${claim.key} and ik.created_at = ${claim.claimedAt}
      and ik.response_status is null
    returning 1`;
}
