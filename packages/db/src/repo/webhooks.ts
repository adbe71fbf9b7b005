import type { Sql } from '../client.ts';

/**
 * Webhooks and their deliveries. Delivery rows are the outbox: the triggers of
 * migration 0005 write them in the transaction of the change they report
 * (every audit event, and a challenge turning approved or failed); the
 * worker enqueues, sends and records them here.
 */

export interface WebhookRow {
  id: string;
  organizationId: string;
  url: string;
  events: string[];
  createdAt: Date;
  failingSince: Date | null;
  lastSuccessAt: Date | null;
  disabledAt: Date | null;
  /** `consecutive_failures` when no delivery succeeded for too long. */
  disabledReason: string | null;
}

/** Why a webhook was disabled: no delivery succeeded for the disable window. */
export const WEBHOOK_DISABLED_FAILING = 'consecutive_failures';

const webhookColumns = (sql: Sql) => sql`
  id, organization_id as "organizationId", url, events, created_at as "createdAt",
  failing_since as "failingSince", last_success_at as "lastSuccessAt",
  disabled_at as "disabledAt", disabled_reason as "disabledReason"`;

export async function createWebhook(
  sql: Sql,
  input: {
    id: string;
    organizationId: string;
    url: string;
    events: string[];
    secretSealed: string;
  },
): Promise<WebhookRow> {
  const [row] = await sql<WebhookRow[]>`
    insert into webhooks (id, organization_id, url, events, secret_sealed)
    values (${input.id}, ${input.organizationId}, ${input.url}, ${input.events},
      ${input.secretSealed})
    returning ${webhookColumns(sql)}`;
  return row!;
}

export async function listWebhooks(sql: Sql, organizationId: string): Promise<WebhookRow[]> {
  return sql<WebhookRow[]>`
    select ${webhookColumns(sql)} from webhooks
    where organization_id = ${organizationId}
    order by created_at, id`;
}

export async function getWebhook(
  sql: Sql,
  organizationId: string,
  id: string,
): Promise<WebhookRow | null> {
  const [row] = await sql<WebhookRow[]>`
    select ${webhookColumns(sql)} from webhooks
    where organization_id = ${organizationId} and id = ${id}`;
  return row ?? null;
}

/** Why a webhook was disabled: `PATCH /v1/webhooks/{id}` with `enabled: false`. */
export const WEBHOOK_DISABLED_BY_REQUEST = 'disabled_by_request';

/**
 * Turns a webhook on or off, recording `webhook_updated` (with what it was)
 * in the same statement. On clears `disabledAt`, its reason and the failing
 * streak, so the webhook starts a fresh disable window and gets events from
 * now on (none were recorded for it while it was off). Off does what the
 * automatic disable does: no new events, its pending deliveries fail. The
 * audit event reaches the webhook itself once it is on: the outbox trigger
 * runs after the statement. Null when the organization has no such webhook.
 */
export async function setWebhookEnabled(
  sql: Sql,
  input: {
    organizationId: string;
    id: string;
    enabled: boolean;
    actor: string;
    ip: string | null;
  },
): Promise<WebhookRow | null> {
  const { organizationId, id, enabled, actor, ip } = input;
  const [row] = await sql<WebhookRow[]>`
    with before as (
      select id, disabled_at, disabled_reason, failing_since from webhooks
      where organization_id = ${organizationId} and id = ${id}
      for update
    ), w as (
      update webhooks w set
        disabled_at = case when ${enabled} then null else coalesce(w.disabled_at, now()) end,
        disabled_reason = case when ${enabled} then null
          else coalesce(w.disabled_reason, ${WEBHOOK_DISABLED_BY_REQUEST}) end,
        failing_since = case when ${enabled} then null else w.failing_since end,
        updated_at = now()
      from before b
      where w.id = b.id
      returning w.*
    ), failed as (
      update webhook_deliveries d set status = 'failed', last_error = 'webhook disabled',
        updated_at = now()
      from before b
      where not ${enabled} and d.organization_id = ${organizationId} and d.webhook_id = b.id
        and d.status = 'pending'
    ), audit as (
      insert into audit_events (organization_id, type, actor, ip, data)
      select ${organizationId}::uuid, 'webhook_updated', ${actor}::text, ${ip}::text,
        jsonb_build_object('webhookId', b.id, 'enabled', ${enabled}::boolean,
          'wasDisabledAt', b.disabled_at, 'wasDisabledReason', b.disabled_reason,
          'wasFailingSince', b.failing_since)
      from before b
    )
    select ${webhookColumns(sql)} from w`;
  return row ?? null;
}

/** Deletes a webhook and its deliveries; a job still queued for one finds nothing and ends. */
export async function deleteWebhook(
  sql: Sql,
  organizationId: string,
  id: string,
): Promise<boolean> {
  const rows = await sql`
    delete from webhooks where organization_id = ${organizationId} and id = ${id} returning id`;
  return rows.length > 0;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface DeliveryRow {
  id: string;
  eventId: string;
  type: string;
  status: DeliveryStatus;
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: Date | null;
  createdAt: Date;
  deliveredAt: Date | null;
}

/** Newest first; `before` is the id of the last delivery of the previous page. */
export async function listDeliveries(
  sql: Sql,
  organizationId: string,
  webhookId: string,
  options: { limit: number; before?: number | undefined },
): Promise<DeliveryRow[]> {
  return sql<DeliveryRow[]>`
    select id::text as id, event_id as "eventId", type, status, attempts,
      last_status_code as "lastStatusCode", last_error as "lastError",
      case when status = 'pending' then next_attempt_at end as "nextAttemptAt",
      created_at as "createdAt", delivered_at as "deliveredAt"
    from webhook_deliveries
    where organization_id = ${organizationId} and webhook_id = ${webhookId}
      ${options.before !== undefined ? sql`and id < ${options.before}` : sql``}
    order by webhook_deliveries.id desc
    limit ${options.limit}`;
}

/**
 * A `webhook_test` event for this webhook alone (the settings page's button);
 * null when the organization has no such webhook.
 */
export async function createTestDelivery(
  sql: Sql,
  input: { organizationId: string; webhookId: string; actor: string; ip: string | null },
): Promise<{ id: string; eventId: string } | null> {
  const [row] = await sql<{ id: string; eventId: string }[]>`
    insert into webhook_deliveries
      (organization_id, webhook_id, event_id, type, actor, ip, data, event_created_at)
    select organization_id, id, gen_random_uuid()::text, 'webhook_test', ${input.actor},
      ${input.ip}, jsonb_build_object('webhookId', id), now()
    from webhooks
    where organization_id = ${input.organizationId} and id = ${input.webhookId}
    returning id::text as id, event_id as "eventId"`;
  return row ?? null;
}

export interface DueDelivery {
  id: string;
  /** When its next attempt is due (a delay for the job when it is in the future). */
  nextAttemptAt: Date;
  /** The database's clock when it was read. */
  now: Date;
}

/**
 * Marks a batch of new deliveries as handed to the queue and returns them.
 * `skip locked` lets several workers dispatch at once without sharing a row.
 * A worker that stops between this and the enqueue leaves rows the
 * reconciler's overdue pass finds.
 */
export async function claimUnqueuedDeliveries(sql: Sql, limit: number): Promise<DueDelivery[]> {
  return sql<DueDelivery[]>`
    update webhook_deliveries d set enqueued_at = now()
    where d.id in (
      select id from webhook_deliveries
      where status = 'pending' and enqueued_at is null
      order by id
      limit ${limit}
      for update skip locked)
    returning d.id::text as id, d.next_attempt_at as "nextAttemptAt", now() as now`;
}

/**
 * Undelivered rows whose attempt is overdue by more than `graceMs`: their job
 * may be gone (Redis lost its data); the caller checks the queue.
 */
export async function findOverdueDeliveries(
  sql: Sql,
  input: { graceMs: number; limit: number },
): Promise<DueDelivery[]> {
  return sql<DueDelivery[]>`
    select id::text as id, next_attempt_at as "nextAttemptAt", now() as now
    from webhook_deliveries
    where status = 'pending'
      and next_attempt_at < now() - ${input.graceMs}::int * interval '1 millisecond'
    order by created_at
    limit ${input.limit}`;
}

export interface DeliveryToSend {
  id: string;
  organizationId: string;
  webhookId: string;
  eventId: string;
  type: string;
  actor: string;
  ip: string | null;
  data: Record<string, unknown>;
  eventCreatedAt: Date;
  status: DeliveryStatus;
  attempts: number;
  url: string;
  secretSealed: string;
  webhookDisabled: boolean;
}

export async function loadDelivery(sql: Sql, id: string): Promise<DeliveryToSend | null> {
  const [row] = await sql<DeliveryToSend[]>`
    select d.id::text as id, d.organization_id as "organizationId", d.webhook_id as "webhookId",
      d.event_id as "eventId", d.type, d.actor, d.ip, d.data,
      d.event_created_at as "eventCreatedAt", d.status, d.attempts, w.url,
      w.secret_sealed as "secretSealed", w.disabled_at is not null as "webhookDisabled"
    from webhook_deliveries d
    join webhooks w on w.id = d.webhook_id and w.organization_id = d.organization_id
    where d.id = ${id}`;
  return row ?? null;
}

/** A 2xx: the delivery is done and its webhook's failing streak ends. */
export async function recordDeliverySuccess(
  sql: Sql,
  input: { id: string; statusCode: number },
): Promise<boolean> {
  const rows = await sql`
    with d as (
      update webhook_deliveries set status = 'delivered', attempts = attempts + 1,
        last_status_code = ${input.statusCode}, last_error = null, delivered_at = now(),
        updated_at = now()
      where id = ${input.id} and status = 'pending'
      returning webhook_id, organization_id
    )
    update webhooks w set failing_since = null, last_success_at = now(), updated_at = now()
    from d
    where w.id = d.webhook_id and w.organization_id = d.organization_id
    returning w.id`;
  return rows.length > 0;
}

export interface DeliveryFailure {
  status: DeliveryStatus;
  attempts: number;
  /** This failure disabled the webhook (no success within the disable window). */
  webhookDisabled: boolean;
}

/**
 * An attempt that did not get a 2xx: counted, and either scheduled again
 * (`retryDelayMs`) or, with null, the delivery's last. The webhook's failing
 * streak starts at its first failure since a success; a streak older than
 * `disableAfterMs` disables the webhook, fails its other pending deliveries,
 * and stops new ones (the outbox triggers skip disabled webhooks).
 */
export async function recordDeliveryFailure(
  sql: Sql,
  input: {
    id: string;
    statusCode: number | null;
    error: string;
    retryDelayMs: number | null;
    disableAfterMs: number;
  },
): Promise<DeliveryFailure | null> {
  const { id, statusCode, error, retryDelayMs, disableAfterMs } = input;
  const window = sql`${disableAfterMs}::bigint * interval '1 millisecond'`;
  const [row] = await sql<DeliveryFailure[]>`
    with d as (
      update webhook_deliveries set attempts = attempts + 1,
        status = ${retryDelayMs === null ? 'failed' : 'pending'},
        last_status_code = ${statusCode}, last_error = ${error.slice(0, 500)},
        next_attempt_at = now() + ${retryDelayMs ?? 0}::int * interval '1 millisecond',
        updated_at = now()
      where id = ${id} and status = 'pending'
      returning id, webhook_id, organization_id, status, attempts
    ), w as (
      update webhooks w set failing_since = coalesce(w.failing_since, now()),
        disabled_at = case when w.failing_since < now() - ${window} then now() end,
        disabled_reason = case when w.failing_since < now() - ${window}
          then ${WEBHOOK_DISABLED_FAILING} end,
        updated_at = now()
      from d
      where w.id = d.webhook_id and w.organization_id = d.organization_id
        and w.disabled_at is null
      returning w.id, w.disabled_at is not null as disabled
    ), others as (
      update webhook_deliveries o set status = 'failed', last_error = 'webhook disabled',
        updated_at = now()
      from w
      where w.disabled and o.webhook_id = w.id and o.status = 'pending'
        and o.id <> ${id}
    )
    select d.status, d.attempts, coalesce((select disabled from w), false) as "webhookDisabled"
    from d`;
  return row ?? null;
}

/** A delivery for a webhook disabled since it was queued: not attempted, failed. */
export async function failDelivery(sql: Sql, input: { id: string; error: string }): Promise<void> {
  await sql`
    update webhook_deliveries set status = 'failed', last_error = ${input.error},
      updated_at = now()
    where id = ${input.id} and status = 'pending'`;
}

/**
 * Seconds since the oldest undelivered event was recorded (0 when none): of
 * those never attempted yet (the pipeline's own lag: dispatch, queue, workers)
 * and of those whose receiver failed so far (the receivers' health).
 */
export async function oldestUndeliveredAgeSeconds(
  sql: Sql,
): Promise<{ unattempted: number; failing: number }> {
  const [row] = await sql<{ unattempted: number; failing: number }[]>`
    select
      coalesce(extract(epoch from now() - min(created_at) filter (where attempts = 0)), 0)::float8
        as unattempted,
      coalesce(extract(epoch from now() - min(created_at) filter (where attempts > 0)), 0)::float8
        as failing
    from webhook_deliveries where status = 'pending'`;
  return row ?? { unattempted: 0, failing: 0 };
}

/**
 * Deletes one batch of finished deliveries (delivered or failed) older than
 * `retentionDays`, like the challenges they often describe.
 */
export async function deleteOldDeliveries(
  sql: Sql,
  input: { retentionDays: number; batchSize: number },
): Promise<number> {
  const [row] = await sql<{ deleted: number }[]>`
    with doomed as (
      select id from webhook_deliveries
      where created_at < now() - make_interval(days => ${input.retentionDays}::int)
        and status <> 'pending'
      order by created_at
      limit ${input.batchSize}
      for update skip locked
    ), gone as (
      delete from webhook_deliveries d using doomed where d.id = doomed.id returning d.id
    )
    select count(*)::int as deleted from gone`;
  return row?.deleted ?? 0;
}
