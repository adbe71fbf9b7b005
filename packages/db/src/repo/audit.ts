import type { Sql } from '../client.ts';

export interface AuditInput {
  organizationId: string;
  type: string;
  actor: string;
  ip?: string | null;
  data?: Record<string, unknown>;
}

/**
 * Records an audit event. It is also the webhook outbox: a trigger on
 * `audit_events` (migration 0005) adds one `webhook_deliveries` row per
 * subscribed webhook of the organization in the same transaction.
 */
export async function recordAudit(sql: Sql, event: AuditInput): Promise<void> {
  await sql`
    insert into audit_events (organization_id, type, actor, ip, data)
    values (${event.organizationId}, ${event.type}, ${event.actor}, ${event.ip ?? null},
            ${sql.json((event.data ?? {}) as never)})`;
}

export interface AuditRow {
  id: string;
  type: string;
  actor: string;
  ip: string | null;
  data: Record<string, unknown>;
  createdAt: Date;
}

/** Newest first; `before` is the id of the last event of the previous page. */
export async function listAudit(
  sql: Sql,
  organizationId: string,
  options: { limit: number; before?: number | undefined },
): Promise<AuditRow[]> {
  return sql<AuditRow[]>`
    select id::text as id, type, actor, ip, data, created_at as "createdAt"
    from audit_events
    where organization_id = ${organizationId}
      ${options.before !== undefined ? sql`and id < ${options.before}` : sql``}
    -- The column, not the text alias of the same name: numeric order, read off the index.
    order by audit_events.id desc
    limit ${options.limit}`;
}
