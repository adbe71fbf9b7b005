import type { Role } from '@twofa/core';
import type { TransactionSql } from 'postgres';
import type { Sql } from '../client.ts';

/** A live pages session and who it belongs to. */
export interface WebSession {
  sessionId: string;
  organizationId: string;
  userId: string;
  email: string;
  role: Role;
  expiresAt: Date;
}

/**
 * Stores a new session; the token itself never reaches the database, only its
 * hash. The session the browser held before (`replacesTokenHash`) ends in the
 * same statement: a login never leaves an older cookie of that browser alive.
 */
export async function createWebSession(
  sql: Sql,
  input: {
    organizationId: string;
    userId: string;
    tokenHash: string;
    expiresAt: Date;
    /** The hashes (one per configured secret) of the token of the session this one replaces. */
    replacesTokenHashes?: readonly string[] | undefined;
  },
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    with ended as (
      update web_sessions set revoked_at = now()
      where token_hash = any(${sql.array([...(input.replacesTokenHashes ?? [])])}::text[])
        and revoked_at is null
    )
    insert into web_sessions (organization_id, user_id, token_hash, expires_at)
    select ${input.organizationId}, u.id, ${input.tokenHash}, ${input.expiresAt}
    from users u where u.id = ${input.userId} and u.organization_id = ${input.organizationId}
    returning id`;
  if (!row) throw new Error('session user not found in its organization');
  return row.id;
}

/**
 * The session a token names (by any of its hashes, one per configured secret),
 * if it is neither expired nor revoked; its user's current role.
 */
export async function findWebSession(
  sql: Sql,
  tokenHashes: readonly string[],
  now: Date,
): Promise<WebSession | null> {
  const [row] = await sql<WebSession[]>`
    select s.id as "sessionId", s.organization_id as "organizationId", s.user_id as "userId",
      u.email, u.role, s.expires_at as "expiresAt"
    from web_sessions s
    join users u on u.id = s.user_id and u.organization_id = s.organization_id
    where s.token_hash = any(${sql.array([...tokenHashes])}::text[])
      and s.revoked_at is null and s.expires_at > ${now}`;
  return row ?? null;
}

/** Log-out: the session stops working at once. */
export async function revokeWebSession(
  sql: Sql,
  tokenHashes: readonly string[],
  now: Date,
): Promise<boolean> {
  const rows = await sql`
    update web_sessions set revoked_at = ${now}
    where token_hash = any(${sql.array([...tokenHashes])}::text[]) and revoked_at is null
    returning id`;
  return rows.length > 0;
}

/**
 * The statement that ends every live page session of the users a CTE names
 * (`users`: a CTE with an `id` column of user ids), for the statements of the
 * changes that must end them (see endUserSessions).
 */
export function endSessionsOf(sql: Sql | TransactionSql, organizationId: string, users: string) {
  return sql`
    update web_sessions s set revoked_at = now()
    from ${sql(users)} ended_for
    where s.organization_id = ${organizationId} and s.user_id = ended_for.id
      and s.revoked_at is null
    returning s.id`;
}

/**
 * Ends every live page session of one user: what a change of their credentials
 * (password, phone, second factors), a lock or a revocation of their trusted
 * devices does, so a stolen session cookie dies with them. Call it with the
 * transaction of the change. Returns how many sessions it ended.
 */
export async function endUserSessions(
  sql: Sql | TransactionSql,
  organizationId: string,
  userId: string,
): Promise<number> {
  const rows = await sql`
    with target as (select ${userId}::uuid as id)
    ${endSessionsOf(sql, organizationId, 'target')}`;
  return rows.length;
}
