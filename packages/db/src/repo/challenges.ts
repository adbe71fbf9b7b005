import {
  CODE_TTL_MS,
  type FailureReason,
  MAX_SENDS_PER_CHALLENGE,
  MAX_WRONG_ATTEMPTS,
  RESEND_COOLDOWN_MS,
  type SendStatus,
  type StoredChallengeStatus,
} from '@twofa/core';
import type { Sql } from '../client.ts';
import { claimFence, IdempotencyClaimLost, type StoredAnswer, storeAnswer } from './idempotency.ts';

export interface ChallengeRow {
  id: string;
  organizationId: string;
  userId: string;
  status: StoredChallengeStatus;
  phone: string | null;
  phoneSubmitted: boolean;
  /** The end user's address the host reported when the challenge started. */
  ip: string;
  expiresAt: Date;
  wrongAttempts: number;
  sendCount: number;
  lastSendAt: Date | null;
  currentSendId: string | null;
  failureReason: FailureReason | null;
  createdAt: Date;
  latestSend: { status: SendStatus; errorCode: string | null } | null;
}

const challengeColumns = (sql: Sql, c = 'c') => sql`
  ${sql(c)}.id, ${sql(c)}.organization_id as "organizationId", ${sql(c)}.user_id as "userId",
  ${sql(c)}.status, ${sql(c)}.phone, ${sql(c)}.phone_submitted as "phoneSubmitted", ${sql(c)}.ip,
  ${sql(c)}.expires_at as "expiresAt", ${sql(c)}.wrong_attempts as "wrongAttempts",
  ${sql(c)}.send_count as "sendCount", ${sql(c)}.last_send_at as "lastSendAt",
  ${sql(c)}.current_send_id as "currentSendId", ${sql(c)}.failure_reason as "failureReason",
  ${sql(c)}.created_at as "createdAt"`;

const ttl = (now: Date) => new Date(now.getTime() + CODE_TTL_MS);

export async function getChallenge(
  sql: Sql,
  organizationId: string,
  id: string,
): Promise<(ChallengeRow & { codeHash: string | null }) | null> {
  const [row] = await sql<(ChallengeRow & { codeHash: string | null })[]>`
    select ${challengeColumns(sql)},
      case when s.id is null then null
        else json_build_object('status', s.status, 'errorCode', s.error_code) end as "latestSend",
      s.code_hash as "codeHash"
    from challenges c
    left join sms_sends s on s.id = c.current_send_id
    where c.organization_id = ${organizationId} and c.id = ${id}`;
  return row ?? null;
}

/**
 * Stores a challenge and, when the destination is known, its first send
 * request, in one statement: the outbox row the worker and reconciler act on.
 */
export async function createChallenge(
  sql: Sql,
  input: {
    organizationId: string;
    userId: string;
    ip: string;
    phone: string | null;
    sendId: string;
    now: Date;
    /** The challenge's id, when the caller needs it before the insert (an idempotent answer). */
    id?: string;
    /** Under an Idempotency-Key: the answer, stored by this same statement, fenced on the claim. */
    idempotency?: StoredAnswer;
  },
): Promise<ChallengeRow> {
  const { organizationId, userId, ip, phone, sendId, now, idempotency } = input;
  const [row] = await sql<ChallengeRow[]>`
    with k as (${claimFence(sql, idempotency)}), c as (
      insert into challenges (id, organization_id, user_id, status, phone, ip, expires_at,
        send_count, last_send_at, current_send_id, created_at, updated_at)
      select coalesce(${input.id ?? null}::uuid, gen_random_uuid()), ${organizationId}::uuid,
        ${userId}::uuid, ${phone ? 'pending' : 'phone_required'}::text, ${phone}::text, ${ip}::text,
        ${ttl(now)}::timestamptz, ${phone ? 1 : 0}::int, ${phone ? now : null}::timestamptz,
        ${phone ? sendId : null}::uuid, ${now}::timestamptz, ${now}::timestamptz
      where exists (select 1 from k)
      returning *
    ), s as (
      insert into sms_sends (id, organization_id, challenge_id, seq, phone, created_at, updated_at)
      select ${sendId}, organization_id, id, 1, phone, ${now}, ${now} from c where c.phone is not null
    ), i as (${storeAnswer(sql, idempotency, 'c')})
    select ${challengeColumns(sql)},
      case when c.phone is null then null
        else json_build_object('status', 'queued', 'errorCode', null) end as "latestSend"
    from c`;
  // Only a claim taken over (it went stale) leaves nothing inserted.
  if (!row) throw new IdempotencyClaimLost('idempotency claim taken over; nothing was stored');
  return row;
}

/** Sets the destination of a phone_required challenge and queues its first send. */
export async function submitChallengePhone(
  sql: Sql,
  input: { organizationId: string; challengeId: string; phone: string; sendId: string; now: Date },
): Promise<ChallengeRow | null> {
  const { organizationId, challengeId, phone, sendId, now } = input;
  const [row] = await sql<ChallengeRow[]>`
    with c as (
      update challenges set status = 'pending', phone = ${phone}, phone_submitted = true,
        send_count = 1, last_send_at = ${now}, expires_at = ${ttl(now)},
        current_send_id = ${sendId}, updated_at = ${now}
      where organization_id = ${organizationId} and id = ${challengeId}
        and status = 'phone_required' and expires_at > ${now}
      returning *
    ), s as (
      insert into sms_sends (id, organization_id, challenge_id, seq, phone, created_at, updated_at)
      select ${sendId}, organization_id, id, 1, phone, ${now}, ${now} from c
    )
    select ${challengeColumns(sql)},
      json_build_object('status', 'queued', 'errorCode', null) as "latestSend"
    from c`;
  return row ?? null;
}

/**
 * Queues another code. Every rule (pending, not expired, under the cap, past
 * the cooldown) is in the WHERE clause, so parallel resends cannot overshoot.
 */
export async function resendChallenge(
  sql: Sql,
  input: {
    organizationId: string;
    challengeId: string;
    sendId: string;
    now: Date;
    /**
     * Under an Idempotency-Key: the answer, stored by this same statement and
     * fenced on the claim. Its body was rendered from the row as read with
     * `wrongAttempts`, so the resend only happens while that still holds.
     */
    idempotency?: StoredAnswer & { wrongAttempts: number };
  },
): Promise<ChallengeRow | null> {
  const { organizationId, challengeId, sendId, now, idempotency } = input;
  const cooldownEdge = new Date(now.getTime() - RESEND_COOLDOWN_MS);
  const [row] = await sql<ChallengeRow[]>`
    with k as (${claimFence(sql, idempotency)}), c as (
      update challenges set send_count = send_count + 1, last_send_at = ${now},
        expires_at = ${ttl(now)}, current_send_id = ${sendId}, updated_at = ${now}
      where organization_id = ${organizationId} and id = ${challengeId}
        and status = 'pending' and expires_at > ${now}
        and send_count < ${MAX_SENDS_PER_CHALLENGE}
        and (last_send_at is null or last_send_at <= ${cooldownEdge})
        and exists (select 1 from k)
        ${idempotency ? sql`and wrong_attempts = ${idempotency.wrongAttempts}` : sql``}
      returning *
    ), s as (
      insert into sms_sends (id, organization_id, challenge_id, seq, phone, created_at, updated_at)
      select ${sendId}, organization_id, id, send_count, phone, ${now}, ${now} from c
    ), i as (${storeAnswer(sql, idempotency, 'c')})
    select ${challengeColumns(sql)},
      json_build_object('status', 'queued', 'errorCode', null) as "latestSend"
    from c`;
  return row ?? null;
}

export interface Approval {
  userId: string;
  phone: string | null;
  phoneSaved: boolean;
  revokedDevices: number;
}

/**
 * Approves a pending challenge whose latest send carried the right code and
 * issues a trusted device, in one statement. Only one of many parallel
 * verifications can win the conditional update. A phone entered through
 * /phone lands on the profile now, which revokes older trusted devices.
 */
export async function approveChallenge(
  sql: Sql,
  input: {
    organizationId: string;
    challengeId: string;
    sendId: string;
    deviceTokenHash: string;
    deviceExpiresAt: Date;
    now: Date;
  },
): Promise<Approval | null> {
  const { organizationId, challengeId, sendId, deviceTokenHash, deviceExpiresAt, now } = input;
  const [row] = await sql<Approval[]>`
    with c as (
      update challenges set status = 'approved', approved_at = ${now}, updated_at = ${now}
      where organization_id = ${organizationId} and id = ${challengeId} and status = 'pending'
        and current_send_id = ${sendId} and expires_at > ${now}
        and wrong_attempts < ${MAX_WRONG_ATTEMPTS}
      returning user_id, organization_id, phone, phone_submitted
    ), u as (
      update users set phone = c.phone, updated_at = ${now}
      from c
      where users.id = c.user_id and users.organization_id = c.organization_id
        and c.phone_submitted and users.phone is distinct from c.phone
      returning users.id
    ), r as (
      update trusted_devices d set revoked_at = ${now}
      from u
      where d.user_id = u.id and d.organization_id = ${organizationId} and d.revoked_at is null
      returning d.id
    ), d as (
      insert into trusted_devices (organization_id, user_id, token_hash, expires_at, created_at)
      select organization_id, user_id, ${deviceTokenHash}, ${deviceExpiresAt}, ${now} from c
    ), v as (
      update sms_sends set verified_at = ${now}
      where id = ${sendId} and organization_id = ${organizationId} and exists (select 1 from c)
    )
    select c.user_id as "userId", c.phone, exists (select 1 from u) as "phoneSaved",
      (select count(*)::int from r) as "revokedDevices"
    from c`;
  return row ?? null;
}

/** Counts one wrong code; the last allowed one locks the challenge. */
export async function recordWrongCode(
  sql: Sql,
  input: { organizationId: string; challengeId: string; now: Date },
): Promise<{ wrongAttempts: number; status: StoredChallengeStatus } | null> {
  const { organizationId, challengeId, now } = input;
  const [row] = await sql<{ wrongAttempts: number; status: StoredChallengeStatus }[]>`
    update challenges set
      wrong_attempts = wrong_attempts + 1,
      status = case when wrong_attempts + 1 >= ${MAX_WRONG_ATTEMPTS} then 'locked' else status end,
      updated_at = ${now}
    where organization_id = ${organizationId} and id = ${challengeId} and status = 'pending'
      and expires_at > ${now} and wrong_attempts < ${MAX_WRONG_ATTEMPTS}
    returning wrong_attempts as "wrongAttempts", status`;
  return row ?? null;
}

/** What the SMS pumping circuit breaker looks at. */
export async function sendStats(
  sql: Sql,
  organizationId: string,
  since: Date,
): Promise<{ sent: number; verified: number }> {
  const [row] = await sql<{ sent: number; verified: number }[]>`
    select
      count(*) filter (where status in ('sending', 'sent', 'delivered', 'undelivered', 'unknown'))::int as sent,
      count(verified_at)::int as verified
    from sms_sends
    where organization_id = ${organizationId} and created_at >= ${since}`;
  return row ?? { sent: 0, verified: 0 };
}

export async function destinationVerifiedBefore(
  sql: Sql,
  organizationId: string,
  phone: string,
): Promise<boolean> {
  const [row] = await sql<{ found: boolean }[]>`
    select exists (
      select 1 from sms_sends
      where organization_id = ${organizationId} and phone = ${phone} and verified_at is not null
    ) as found`;
  return row?.found ?? false;
}
