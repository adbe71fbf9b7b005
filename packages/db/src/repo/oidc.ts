import type { Sql } from '../client.ts';

/**
 * oidc-provider's storage (its adapter interface), one table for every kind
 * of payload. Plain statements, each its own implicit transaction and no
 * session state, so they run unchanged behind PgBouncer in transaction mode.
 * Expiry is judged by the database's clock.
 */
export interface OidcPayloadInput {
  kind: string;
  id: string;
  payload: Record<string, unknown>;
  grantId: string | null;
  uid: string | null;
  expiresInSeconds: number | null;
}

export async function upsertOidcPayload(sql: Sql, input: OidcPayloadInput): Promise<void> {
  const expiresAt =
    input.expiresInSeconds === null
      ? sql`null`
      : sql`now() + ${input.expiresInSeconds} * interval '1 second'`;
  await sql`
    insert into oidc_payloads (kind, id, payload, grant_id, uid, expires_at)
    values (${input.kind}, ${input.id}, ${sql.json(input.payload as never)}, ${input.grantId},
      ${input.uid}, ${expiresAt})
    on conflict (kind, id) do update set payload = excluded.payload,
      grant_id = excluded.grant_id, uid = excluded.uid, expires_at = excluded.expires_at,
      consumed_at = null`;
}

/** Stores a payload unless one of that kind and id exists: true when this call stored it. */
export async function insertOidcPayloadOnce(sql: Sql, input: OidcPayloadInput): Promise<boolean> {
  const rows = await sql`
    insert into oidc_payloads (kind, id, payload, grant_id, uid, expires_at)
    values (${input.kind}, ${input.id}, ${sql.json(input.payload as never)}, ${input.grantId},
      ${input.uid}, now() + ${input.expiresInSeconds ?? 0} * interval '1 second')
    on conflict (kind, id) do nothing
    returning 1`;
  return rows.length > 0;
}

export interface OidcPayloadRow {
  payload: Record<string, unknown>;
  consumedAt: Date | null;
}

/** A payload that has not expired, or null. */
export async function findOidcPayload(
  sql: Sql,
  kind: string,
  id: string,
): Promise<OidcPayloadRow | null> {
  const [row] = await sql<OidcPayloadRow[]>`
    select payload, consumed_at as "consumedAt" from oidc_payloads
    where kind = ${kind} and id = ${id} and (expires_at is null or expires_at > now())`;
  return row ?? null;
}

export async function findOidcPayloadByUid(
  sql: Sql,
  kind: string,
  uid: string,
): Promise<OidcPayloadRow | null> {
  const [row] = await sql<OidcPayloadRow[]>`
    select payload, consumed_at as "consumedAt" from oidc_payloads
    where kind = ${kind} and uid = ${uid} and (expires_at is null or expires_at > now())
    limit 1`;
  return row ?? null;
}

/**
 * Marks a payload used (a code, a pushed request). True only for the call
 * that marked it: of two redemptions of one code racing, one wins.
 */
export async function consumeOidcPayload(sql: Sql, kind: string, id: string): Promise<boolean> {
  const rows = await sql`
    update oidc_payloads set consumed_at = now()
    where kind = ${kind} and id = ${id} and consumed_at is null
    returning 1`;
  return rows.length > 0;
}

export async function destroyOidcPayload(sql: Sql, kind: string, id: string): Promise<void> {
  await sql`delete from oidc_payloads where kind = ${kind} and id = ${id}`;
}

/** Everything issued under a grant, of every kind: a replayed code revokes them all. */
export async function revokeOidcGrant(sql: Sql, grantId: string): Promise<void> {
  await sql`delete from oidc_payloads where grant_id = ${grantId}`;
}

/**
 * Drops up to `batchSize` payloads that expired more than `graceSeconds` ago
 * (codes, pushed requests, interactions, sessions the provider no longer
 * reads); returns how many.
 */
export async function deleteExpiredOidcPayloads(
  sql: Sql,
  input: { batchSize: number; graceSeconds?: number },
): Promise<number> {
  const rows = await sql`
    delete from oidc_payloads p using (
      select kind, id from oidc_payloads
      where expires_at < now() - ${input.graceSeconds ?? 3600} * interval '1 second'
      limit ${input.batchSize}
      for update skip locked
    ) doomed
    where p.kind = doomed.kind and p.id = doomed.id
    returning 1`;
  return rows.length;
}

// ---- signing keys ------------------------------------------------------------

export interface OidcSigningKeyRow {
  kid: string;
  publicJwk: Record<string, unknown>;
  sealedPrivateJwk: string;
  createdAt: Date;
  retiredAt: Date | null;
}

const keyColumns = (sql: Sql) => sql`
  kid, public_jwk as "publicJwk", sealed_private_jwk as "sealedPrivateJwk",
  created_at as "createdAt", retired_at as "retiredAt"`;

/**
 * Stores a key as the active one unless another is already active: the
 * partial unique index on the active key makes two replicas starting at once
 * agree on one. True when this key became the active one.
 */
export async function insertFirstOidcSigningKey(
  sql: Sql,
  key: { kid: string; publicJwk: Record<string, unknown>; sealedPrivateJwk: string },
): Promise<boolean> {
  const rows = await sql`
    insert into oidc_signing_keys (kid, public_jwk, sealed_private_jwk)
    values (${key.kid}, ${sql.json(key.publicJwk as never)}, ${key.sealedPrivateJwk})
    on conflict do nothing
    returning kid`;
  return rows.length > 0;
}

/**
 * Retires the active key and makes `key` the active one, in one statement
 * (the retire runs first, so the one-active index holds throughout).
 */
export async function rotateOidcSigningKey(
  sql: Sql,
  key: { kid: string; publicJwk: Record<string, unknown>; sealedPrivateJwk: string },
): Promise<{ retired: string[] }> {
  const rows = await sql.begin(async (tx) => {
    const retired = await tx<{ kid: string }[]>`
      update oidc_signing_keys set retired_at = now() where retired_at is null returning kid`;
    await tx`
      insert into oidc_signing_keys (kid, public_jwk, sealed_private_jwk)
      values (${key.kid}, ${tx.json(key.publicJwk as never)}, ${key.sealedPrivateJwk})`;
    return retired;
  });
  return { retired: rows.map((r) => r.kid) };
}

/**
 * The keys to publish: the active one first (it signs), then those retired
 * less than `retiredPublishedSeconds` ago, newest first, so tokens they signed
 * still verify until they expire.
 */
export async function publishedOidcSigningKeys(
  sql: Sql,
  retiredPublishedSeconds: number,
): Promise<OidcSigningKeyRow[]> {
  return sql<OidcSigningKeyRow[]>`
    select ${keyColumns(sql)} from oidc_signing_keys
    where retired_at is null
      or retired_at > now() - ${retiredPublishedSeconds} * interval '1 second'
    order by retired_at is not null, created_at desc`;
}
