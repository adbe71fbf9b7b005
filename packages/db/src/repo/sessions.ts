import type { Role } from '@twofa/core';
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

/** Stores a new session; the token itself never reaches the database, only its hash. */
export async function createWebSession(
  sql: Sql,
  input: { organizationId: string; userId: string; tokenHash: string; expiresAt: Date },
): Promise<string> {
  const [row] = await sql<{ id: string }[]>`
    insert into web_sessions (organization_id, user_id, token_hash, expires_at)
    select ${input.organizationId}, u.id, ${input.tokenHash}, ${input.expiresAt}
    from users u where u.id = ${input.userId} and u.organization_id = ${input.organizationId}
    returning id`;
  if (!row) throw new Error('session user not found in its organization');
  return row.id;
}

/** The session a token hash names, if it is neither expired nor revoked; its user's current role. */
export async function findWebSession(
  sql: Sql,
  tokenHash: string,
  now: Date,
): Promise<WebSession | null> {
  const [row] = await sql<WebSession[]>`
    select s.id as "sessionId", s.organization_id as "organizationId", s.user_id as "userId",
      u.email, u.role, s.expires_at as "expiresAt"
    from web_sessions s
    join users u on u.id = s.user_id and u.organization_id = s.organization_id
    where s.token_hash = ${tokenHash} and s.revoked_at is null and s.expires_at > ${now}`;
  return row ?? null;
}

/** Log-out: the session stops working at once. */
export async function revokeWebSession(sql: Sql, tokenHash: string, now: Date): Promise<boolean> {
  const rows = await sql`
    update web_sessions set revoked_at = ${now}
    where token_hash = ${tokenHash} and revoked_at is null
    returning id`;
  return rows.length > 0;
}
