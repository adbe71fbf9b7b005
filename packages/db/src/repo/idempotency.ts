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

/**
 * Stores the answer on the claim. Run inside the transaction that commits the
 * work, so the two commit together or not at all. Throws IdempotencyClaimLost
 * (rolling the work back) when the claim is no longer ours.
 */
export async function completeIdempotencyKey(
  sql: Sql,
  claim: IdempotencyClaim,
  answer: { status: number; body: string },
): Promise<void> {
  const rows = await sql`
    update idempotency_keys set response_status = ${answer.status},
      response_body = ${sql.json(answer.body)}
    where scope = ${claim.scope} and key = ${claim.key} and created_at = ${claim.claimedAt}
      and response_status is null
    returning key`;
  if (rows.length === 0) throw new IdempotencyClaimLost('idempotency claim taken over');
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

/**
 * Runs a repo statement and renders its answer; under a claim, the answer is
 * stored in the same transaction as the statement's work, so both commit or
 * neither does. A null rendering (the statement was refused, or there is
 * nothing worth keeping) stores nothing: the caller releases the claim.
 */
export async function withIdempotentAnswer<T, A>(
  sql: Sql,
  answer: IdempotentAnswer | undefined,
  work: (sql: Sql) => Promise<T>,
  render: (result: T) => A,
): Promise<{ result: T; answer: A }> {
  if (!answer) {
    const result = await work(sql);
    return { result, answer: render(result) };
  }
  return (await sql.begin(async (tx) => {
    // A transaction has the tagged-template and helper calls the statements use.
    const txSql = tx as unknown as Sql;
    const result = await work(txSql);
    const body = render(result);
    if (body !== null && body !== undefined) {
      await completeIdempotencyKey(txSql, answer.claim, {
        status: answer.status,
        body: JSON.stringify(body),
      });
    }
    return { result, answer: body };
  })) as { result: T; answer: A };
}
