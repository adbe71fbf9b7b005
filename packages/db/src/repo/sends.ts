import {
  CODE_TTL_MS,
  type FailureReason,
  type Locale,
  MAX_SENDS_PER_CHALLENGE,
  type SendStatus,
  sqlList,
} from '@twofa/core';
import type { Sql } from '../client.ts';

/**
 * The refund-once rule, the one copy of it: CTEs `refunded` (the organization's
 * new balance) and `refund_entry` (its ledger line), after the caller's CTE
 * named `send` holding the send (`id`, `organization_id`). Gives back the credit
 * the send was debited, at most once (a debit and no refund yet in its ledger),
 * and only where `when` holds; the ledger line stamped by the database's clock
 * like every other.
 */
function refundOnce(sql: Sql, input: { sendId: string; send: string; when?: ReturnType<Sql> }) {
  const send = sql(input.send);
  return sql`refunded as (
      update organizations o set sms_balance = o.sms_balance + 1, updated_at = now()
      from ${send}
      where o.id = ${send}.organization_id ${input.when ? sql`and ${input.when}` : sql``}
        and exists (select 1 from sms_ledger l where l.send_id = ${send}.id and l.reason = 'sms_sent')
        and not exists (select 1 from sms_ledger l where l.send_id = ${send}.id and l.reason = 'refund')
      returning o.id, o.sms_balance
    ), refund_entry as (
      insert into sms_ledger (organization_id, delta, reason, send_id, balance_after, created_at)
      select refunded.id, 1, 'refund', ${input.sendId}, refunded.sms_balance, clock_timestamp()
      from refunded
    )`;
}

export type ClaimOutcome =
  /** Charged (or already charged, on a provider retry): hand it to the provider now. */
  | 'sending'
  /** No credit: nothing sent, nothing charged, the challenge failed. */
  | 'insufficient_balance'
  /** The challenge no longer needs this code (approved, expired, locked, or a newer send). */
  | 'not_needed';

export interface ClaimedSend {
  outcome: ClaimOutcome;
  sendId: string;
  organizationId: string;
  challengeId: string;
  phone: string;
  /** The organization's language, for the message text. */
  locale: Locale;
  /** The organization's name: the message says who sent it. */
  organizationName: string;
  /** Balance after the debit, when this claim debited. */
  balance: number | null;
  /** True when this debit took the balance below the low-balance threshold. */
  crossedLowBalance: boolean;
  /**
   * True when this claim refunded the send's credit: it was charged on an earlier
   * attempt, left `retrying` by the provider, and is no longer needed.
   */
  refunded: boolean;
}

/**
 * Takes a queued (or provider-retrying) send, debits one credit for a first
 * attempt and stores the new code's hash, all in one statement. The row lock
 * plus the status guard make a duplicated job a no-op; the ledger's unique
 * (send_id, reason) key is the last line against a second debit. Times come
 * from the database's clock, never the worker's: the ledger line's the moment
 * it is written (after the balance's row lock, so ledger order is time order).
 * The claim leaves the challenge's expiry as the request that queued this send
 * set it (ten minutes from then): the worker's clock never decides it, and the
 * `expiresAt` the start or resend answered is the one every later read gives. A retrying
 * send the challenge no longer needs (locked, expired, resent) was charged on
 * its first attempt and never sent: the same statement refunds it.
 */
export async function claimSend(
  sql: Sql,
  input: { sendId: string; codeHash: string },
): Promise<ClaimedSend | null> {
  const { sendId, codeHash } = input;
  const [row] = await sql<ClaimedSend[]>`
    with s as (
      select s.id, s.organization_id, s.challenge_id, s.phone, s.status,
        (c.status = 'pending' and c.current_send_id = s.id and c.expires_at > now()) as live
      from sms_sends s
      join challenges c on c.id = s.challenge_id
      where s.id = ${sendId} and s.status in ('queued', 'retrying')
      for update of s
    ), debit as (
      update organizations o set sms_balance = o.sms_balance - 1, updated_at = now()
      from s
      where s.status = 'queued' and s.live and o.id = s.organization_id and o.sms_balance >= 1
      returning o.id, o.sms_balance, o.low_balance_threshold
    ), ledger as (
      insert into sms_ledger (organization_id, delta, reason, send_id, balance_after, created_at)
      select d.id, -1, 'sms_sent', ${sendId}, d.sms_balance, clock_timestamp() from debit d
    ), low as (
      insert into audit_events (organization_id, type, actor, data, created_at)
      select d.id, 'sms_balance_low', 'system',
        jsonb_build_object('balance', d.sms_balance, 'threshold', d.low_balance_threshold),
        clock_timestamp()
      from debit d where d.sms_balance = d.low_balance_threshold - 1
    ), ${refundOnce(sql, { sendId, send: 's', when: sql`s.status = 'retrying' and not s.live` })}, upd as (
      update sms_sends ss set
        status = case
          when not s.live then 'failed'
          when s.status = 'retrying' or exists (select 1 from debit) then 'sending'
          else 'insufficient_balance' end,
        error_code = case when not s.live then 'not_needed' else ss.error_code end,
        code_hash = case when s.live then ${codeHash} else null end,
        sending_at = now(),
        provider_attempts = ss.provider_attempts + case when s.live then 1 else 0 end,
        updated_at = now()
      from s
      where ss.id = s.id
      returning ss.id, ss.status, ss.organization_id, ss.challenge_id, ss.phone
    ), ch as (
      update challenges c set
        status = 'failed', failure_reason = 'sms_balance_exhausted',
        updated_at = now()
      from upd u
      where c.id = u.challenge_id and c.current_send_id = u.id and c.status = 'pending'
        and u.status = 'insufficient_balance'
    )
    select
      case when u.status = 'failed' then 'not_needed' else u.status end as outcome,
      u.id as "sendId", u.organization_id as "organizationId", u.challenge_id as "challengeId",
      u.phone, d.sms_balance as balance,
      coalesce(d.sms_balance = d.low_balance_threshold - 1, false) as "crossedLowBalance",
      o.locale, o.name as "organizationName",
      exists (select 1 from refunded) as refunded
    from upd u left join debit d on true
    join organizations o on o.id = u.organization_id`;
  return row ?? null;
}

/**
 * Locks the organizations of these sends in id order, for a transaction about
 * to claim them all (the worker's group commit): claims lock their organization
 * as they run, so two transactions claiming sends of the same organizations in
 * another order would deadlock. Takes no other lock and changes nothing.
 */
export async function lockOrganizationsOfSends(
  sql: Sql,
  sendIds: readonly string[],
): Promise<void> {
  await sql`
    select o.id from organizations o
    where o.id in (select s.organization_id from sms_sends s where s.id = any(${sendIds as string[]}::uuid[]))
    order by o.id
    for update of o`;
}

/**
 * After claimSend failed on a lost connection, tells whether its statement
 * committed anyway: the claim is ours when the row carries our code's hash.
 * Null when the send is still claimable (the statement did not commit).
 */
export async function findOwnClaim(
  sql: Sql,
  input: { sendId: string; codeHash: string },
): Promise<{ claimed: ClaimedSend | null } | null> {
  const [row] = await sql<
    {
      status: SendStatus;
      codeHash: string | null;
      organizationId: string;
      challengeId: string;
      phone: string;
      locale: Locale;
      organizationName: string;
    }[]
  >`
    select s.status, s.code_hash as "codeHash", s.organization_id as "organizationId",
      s.challenge_id as "challengeId", s.phone, o.locale, o.name as "organizationName"
    from sms_sends s join organizations o on o.id = s.organization_id
    where s.id = ${input.sendId}`;
  if (!row) return { claimed: null };
  if (row.status === 'queued' || row.status === 'retrying') return null;
  const ours = row.codeHash === input.codeHash;
  if (!ours || (row.status !== 'sending' && row.status !== 'insufficient_balance')) {
    return { claimed: null };
  }
  return {
    claimed: {
      outcome: row.status,
      sendId: input.sendId,
      organizationId: row.organizationId,
      challengeId: row.challengeId,
      phone: row.phone,
      locale: row.locale,
      organizationName: row.organizationName,
      balance: null,
      crossedLowBalance: false,
      refunded: false,
    },
  };
}

/**
 * A send found in `sending` when its job starts again was handed to a worker
 * that stopped mid-call: the SMS may or may not have gone out. Mark it, never
 * resend it blindly.
 */
export async function markSendUnknown(sql: Sql, sendId: string): Promise<boolean> {
  const rows = await sql`
    update sms_sends set status = 'unknown', updated_at = now()
    where id = ${sendId} and status = 'sending'
    returning id`;
  return rows.length > 0;
}

export async function recordSendAccepted(
  sql: Sql,
  input: { sendId: string; providerSid: string },
): Promise<void> {
  await sql`
    update sms_sends set
      status = case when status in ('sending', 'unknown') then 'sent' else status end,
      provider_sid = coalesce(provider_sid, ${input.providerSid}),
      updated_at = now()
    where id = ${input.sendId}`;
}

/** The provider did not take it but may later: the next job attempt retries the call. */
export async function markSendRetrying(
  sql: Sql,
  input: { sendId: string; errorCode: string | null },
): Promise<void> {
  await sql`
    update sms_sends set status = 'retrying', error_code = ${input.errorCode}, updated_at = now()
    where id = ${input.sendId} and status = 'sending'`;
}

/**
 * The provider definitively did not take the message: fail the send, refund
 * its credit (once: the ledger key), and fail the challenge if this was its
 * latest send.
 */
export async function failSendWithRefund(
  sql: Sql,
  input: { sendId: string; errorCode: string | null; reason: FailureReason },
): Promise<{ refunded: boolean } | null> {
  const { sendId, errorCode, reason } = input;
  const [row] = await sql<{ refunded: boolean }[]>`
    with s as (
      update sms_sends set status = 'failed', error_code = ${errorCode}, updated_at = now()
      where id = ${sendId} and status in ('sending', 'retrying')
      returning id, organization_id, challenge_id
    ), ${refundOnce(sql, { sendId, send: 's' })}, c as (
      update challenges c set status = 'failed', failure_reason = ${reason}, updated_at = now()
      from s
      where c.id = s.challenge_id and c.current_send_id = s.id and c.status = 'pending'
    )
    select exists (select 1 from refunded) as refunded from s`;
  return row ?? null;
}

/** Delivery states only move forward; equal ranks do not replace each other. */
export const STATUS_RANK: Readonly<Record<SendStatus, number>> = {
  queued: 0,
  sending: 1,
  retrying: 1,
  unknown: 1,
  sent: 2,
  delivered: 3,
  undelivered: 3,
  failed: 3,
  insufficient_balance: 4,
};

/** The stored status's rank, as a SQL expression built from STATUS_RANK (one copy of the map). */
const STATUS_RANK_SQL_TEXT = `(case status ${Object.entries(STATUS_RANK)
  .map(([name, rank]) => `when ${sqlList([name])} then ${rank}`)
  .join(' ')} end)`;

/** Whether a receipt moves a send from one status to another: forward only. */
export function advancesDelivery(from: SendStatus, to: SendStatus): boolean {
  return STATUS_RANK[from] < STATUS_RANK[to];
}

/**
 * Applies a delivery receipt. Status only moves forward: a late "sent" never
 * overwrites "delivered". A receipt settles an `unknown` send.
 */
export async function applyDeliveryReceipt(
  sql: Sql,
  input: {
    sendId: string;
    providerSid: string;
    status: SendStatus;
    errorCode: string | null;
  },
): Promise<boolean> {
  const { sendId, providerSid, status, errorCode } = input;
  const STATUS_RANK_SQL = sql.unsafe(STATUS_RANK_SQL_TEXT);
  const rows = await sql`
    update sms_sends set status = ${status}, provider_sid = coalesce(provider_sid, ${providerSid}),
      error_code = coalesce(${errorCode}, error_code), updated_at = now()
    where id = ${sendId}
      and (provider_sid is null or provider_sid = ${providerSid})
      and status <> 'insufficient_balance'
      and not (status = 'failed' and provider_sid is null)
      and ${STATUS_RANK_SQL} < ${STATUS_RANK[status]}
    returning id`;
  return rows.length > 0;
}

export interface StaleSend {
  id: string;
  status: SendStatus;
}

/**
 * Sends that should be moving but may have lost their job (Redis flushed or
 * down when the API enqueued): queued or retrying past a grace period, and
 * sending for longer than any provider call can take.
 */
export async function findStaleSends(
  sql: Sql,
  input: { queuedGraceMs: number; sendingGraceMs: number; limit: number },
): Promise<StaleSend[]> {
  return sql<StaleSend[]>`
    select id, status from sms_sends
    where status in ('queued', 'retrying', 'sending')
      and updated_at < now() - ${input.queuedGraceMs}::int * interval '1 millisecond'
      and (status <> 'sending'
        or sending_at < now() - ${input.sendingGraceMs}::int * interval '1 millisecond')
    order by updated_at
    limit ${input.limit}`;
}

export interface UnknownSend {
  id: string;
  organizationId: string;
  challengeId: string;
  phone: string;
  codeHash: string | null;
  /** When the send was claimed: the provider cannot have it from before. */
  sendingAt: Date;
}

/** Sends whose outcome was lost, claimed before `claimedBefore` (past the provider's consistency window). */
export async function findUnknownSends(
  sql: Sql,
  input: { claimedBefore: Date; limit: number },
): Promise<UnknownSend[]> {
  return sql<UnknownSend[]>`
    select id, organization_id as "organizationId", challenge_id as "challengeId", phone,
      code_hash as "codeHash", sending_at as "sendingAt"
    from sms_sends
    where status = 'unknown' and sending_at < ${input.claimedBefore}
    order by sending_at
    limit ${input.limit}`;
}

/**
 * The provider's own record shows the message: the send was sent. Records its
 * sid (when the match is certain) and an `sms_unknown_settled` audit event;
 * a no-op unless the send is still `unknown`.
 */
export async function settleUnknownAsSent(
  sql: Sql,
  input: { sendId: string; providerSid: string | null; match: string; now: Date },
): Promise<boolean> {
  const { sendId, providerSid, match, now } = input;
  const rows = await sql`
    with s as (
      update sms_sends set status = 'sent', provider_sid = coalesce(provider_sid, ${providerSid}),
        updated_at = ${now}
      where id = ${sendId} and status = 'unknown'
      returning id, organization_id, challenge_id, provider_sid
    )
    insert into audit_events (organization_id, type, actor, data, created_at)
    select organization_id, 'sms_unknown_settled', 'system',
      jsonb_build_object('sendId', id, 'challengeId', challenge_id, 'outcome', 'sent',
        'match', ${match}::text, 'providerSid', provider_sid), ${now}
    from s
    returning id`;
  return rows.length > 0;
}

export interface SettledMissing {
  refunded: boolean;
  /** The replacement send queued for the challenge, when it still waited for this code. */
  resendId: string | null;
}

/**
 * The provider's own record has no such message, past its consistency window:
 * it never took it. In one statement: the send fails (`not_at_provider`), its
 * credit is refunded, and a challenge still waiting for this very code
 * (pending, this its current send, not expired) gets one fresh send in its
 * place, counted among its 5; with none left it fails as
 * `sms_provider_unavailable`. An `sms_unknown_settled` audit event records it.
 */
export async function settleUnknownAsMissing(
  sql: Sql,
  input: { sendId: string; resendId: string; now: Date },
): Promise<SettledMissing | null> {
  const { sendId, resendId, now } = input;
  const expiresAt = new Date(now.getTime() + CODE_TTL_MS);
  const [row] = await sql<SettledMissing[]>`
    with s as (
      update sms_sends set status = 'failed', error_code = 'not_at_provider', updated_at = ${now}
      where id = ${sendId} and status = 'unknown'
      returning id, organization_id, challenge_id
    ), ${refundOnce(sql, { sendId, send: 's' })}, c as (
      update challenges c set
        send_count = c.send_count + case when c.send_count < ${MAX_SENDS_PER_CHALLENGE} then 1 else 0 end,
        current_send_id = case when c.send_count < ${MAX_SENDS_PER_CHALLENGE}
          then ${resendId}::uuid else c.current_send_id end,
        last_send_at = case when c.send_count < ${MAX_SENDS_PER_CHALLENGE}
          then ${now}::timestamptz else c.last_send_at end,
        expires_at = case when c.send_count < ${MAX_SENDS_PER_CHALLENGE}
          then ${expiresAt}::timestamptz else c.expires_at end,
        status = case when c.send_count < ${MAX_SENDS_PER_CHALLENGE} then c.status else 'failed' end,
        failure_reason = case when c.send_count < ${MAX_SENDS_PER_CHALLENGE}
          then c.failure_reason else 'sms_provider_unavailable' end,
        updated_at = ${now}
      from s
      where c.id = s.challenge_id and c.current_send_id = s.id and c.status = 'pending'
        and c.expires_at > ${now}
      returning c.id, c.organization_id, c.phone, c.send_count,
        c.current_send_id = ${resendId}::uuid as resent
    ), r as (
      insert into sms_sends (id, organization_id, challenge_id, seq, phone, created_at, updated_at)
      select ${resendId}, organization_id, id, send_count, phone, ${now}, ${now}
      from c where c.resent
      returning id
    ), a as (
      insert into audit_events (organization_id, type, actor, data, created_at)
      select s.organization_id, 'sms_unknown_settled', 'system',
        jsonb_build_object('sendId', s.id, 'challengeId', s.challenge_id,
          'outcome', 'not_at_provider', 'refunded', exists (select 1 from refunded),
          'resendId', (select id from r)), ${now}
      from s
    )
    select exists (select 1 from refunded) as refunded, (select id from r) as "resendId" from s`;
  return row ?? null;
}
