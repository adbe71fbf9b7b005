import type { Sql } from '../client.ts';

/*
 * oidc-provider's short-lived models live in Redis (apps/api/src/prompt/store.ts) since round 8.
 * Earlier versions kept them in `oidc_payloads`; the table stays, unwritten, for one release so a
 * rolling upgrade's old replicas keep working, and the worker's retention drains what they left.
 */

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
