import type { Sql } from '../client.ts';

/**
 * The hashes of a challenge's earlier codes, those a resend replaced: the
 * code step tells a replaced code from a wrong one by them. Scoped by
 * organization like every tenant query.
 */
export async function replacedCodeHashes(
  sql: Sql,
  organizationId: string,
  challengeId: string,
): Promise<{ sendId: string; codeHash: string }[]> {
  return sql<{ sendId: string; codeHash: string }[]>`
    select s.id as "sendId", s.code_hash as "codeHash"
    from sms_sends s
    join challenges c on c.id = s.challenge_id and c.organization_id = s.organization_id
    where s.organization_id = ${organizationId} and s.challenge_id = ${challengeId}
      and s.code_hash is not null and s.id is distinct from c.current_send_id`;
}

/** Up to `limit` of the organization's administrators, for a stopped sign-in to contact. */
export async function administratorsOf(
  sql: Sql,
  organizationId: string,
  limit: number,
): Promise<{ id: string; email: string }[]> {
  return sql<{ id: string; email: string }[]>`
    select id, email from users
    where organization_id = ${organizationId} and role = 'admin'
    order by created_at, id
    limit ${limit}`;
}

/** The emails of those of `ids` who are users of the organization, by id: the audit log names people. */
export async function userEmails(
  sql: Sql,
  organizationId: string,
  ids: readonly string[],
): Promise<Map<string, string>> {
  if (ids.length === 0) return new Map();
  const rows = await sql<{ id: string; email: string }[]>`
    select id, email from users
    where organization_id = ${organizationId} and id = any(${ids as string[]}::uuid[])`;
  return new Map(rows.map((row) => [row.id, row.email]));
}
