import type { Sql } from '../client.ts';

/**
 * The hosted prompt's Cancel: the interaction's challenge, while still open
 * (`phone_required` or `pending`), becomes `canceled` (as a phone or password
 * change cancels it), so a code already sent for it no longer verifies and it
 * no longer counts as open; the prompt's `prompt_completed` event is recorded
 * by the same statement, with `challengeCanceled` saying whether it was still
 * open. True when this call canceled it.
 */
export async function cancelPromptChallenge(
  sql: Sql,
  input: {
    organizationId: string;
    challengeId: string;
    actor: string;
    ip: string | null;
    /** The audit event's data (app, user, result, reason); `challengeId` is added. */
    data: Record<string, unknown>;
  },
): Promise<boolean> {
  const { organizationId, challengeId, actor, ip, data } = input;
  const [row] = await sql<{ canceled: boolean }[]>`
    with canceled as (
      update challenges set status = 'canceled', canceled_at = now(), updated_at = now()
      where organization_id = ${organizationId} and id = ${challengeId}
        and status in ('phone_required', 'pending')
      returning id
    ), audit as (
      insert into audit_events (organization_id, type, actor, ip, data)
      select ${organizationId}::uuid, 'prompt_completed', ${actor}::text, ${ip}::text,
        ${sql.json(data as never)}::jsonb || jsonb_build_object(
          'challengeId', ${challengeId}::text,
          'challengeCanceled', exists (select 1 from canceled))
    )
    select exists (select 1 from canceled) as canceled`;
  return row?.canceled ?? false;
}
