import {
  CODE_TTL_MS,
  type FailureReason,
  locksUserSql,
  MAX_SENDS_PER_CHALLENGE,
  MAX_WRONG_ATTEMPTS,
  newId,
  RESEND_COOLDOWN_MS,
  type SecondFactorMethod,
  type SendStatus,
  type SkipReason,
  type StoredChallengeStatus,
  USER_LOCK_MS,
} from '@twofa/core';
import type { PendingQuery, Row } from 'postgres';
import type { Sql } from '../client.ts';

/** A piece of SQL built with `sql` to put inside another statement. */
type Fragment = PendingQuery<Row[]>;

import { claimFence, IdempotencyClaimLost, type StoredAnswer, storeAnswer } from './idempotency.ts';
import { endSessionsOf } from './sessions.ts';
import {
  type DeviceTokenHash,
  type LoginContext,
  type LoginContextRow,
  loginContextSelect,
  toLoginContext,
} from './users.ts';

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
  methods: SecondFactorMethod[];
}

const challengeColumns = (sql: Sql, c = 'challenge') => sql`
  ${sql(c)}.id, ${sql(c)}.organization_id as "organizationId", ${sql(c)}.user_id as "userId",
  ${sql(c)}.status, ${sql(c)}.phone, ${sql(c)}.phone_submitted as "phoneSubmitted", ${sql(c)}.ip,
  ${sql(c)}.expires_at as "expiresAt", ${sql(c)}.wrong_attempts as "wrongAttempts",
  ${sql(c)}.send_count as "sendCount", ${sql(c)}.last_send_at as "lastSendAt",
  ${sql(c)}.current_send_id as "currentSendId", ${sql(c)}.failure_reason as "failureReason",
  ${sql(c)}.created_at as "createdAt", ${sql(c)}.methods`;

/**
 * One clock decides a challenge's life, the database's. Guards compare with `now()`; the `now`
 * a write takes is the database's clock as the request's first read saw it (`dbNow` from
 * `getChallenge`, `now` from `loadLoginContext`), so an answer rendered before the write shows
 * what the write stores. No API or worker clock sets or judges an expiry, a cooldown or a lock.
 */
const ttl = (now: Date) => new Date(now.getTime() + CODE_TTL_MS);

export type LoadedChallengeRow = ChallengeRow & { codeHash: string | null; dbNow: Date };

export async function getChallenge(
  sql: Sql,
  organizationId: string,
  id: string,
): Promise<LoadedChallengeRow | null> {
  const [row] = await sql<LoadedChallengeRow[]>`${challengeRead(sql, organizationId, id)}`;
  return row ?? null;
}

/** The select `getChallenge` runs: the row, its latest send, its code's hash and `dbNow`. */
function challengeRead(sql: Sql, organizationId: string, id: string) {
  return sql`
    select ${challengeColumns(sql)}, now() as "dbNow",
      case when send.id is null then null
        else json_build_object('status', send.status, 'errorCode', send.error_code) end as "latestSend",
      send.code_hash as "codeHash"
    from challenges challenge
    left join sms_sends send on send.id = challenge.current_send_id
    where challenge.organization_id = ${organizationId} and challenge.id = ${id}`;
}

/**
 * Stores a challenge and, when the destination is known, its first send
 * request, in one statement: the outbox row the worker and reconciler act on.
 * The user's row is share-locked and checked first: a user locked since the
 * lookup, or whose phone changed since, gets nothing (null), and a lock or a
 * phone change in flight waits for this one, then sees it to cancel.
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
    /** What the challenge accepts, in order (default: SMS, then backup codes). */
    methods?: readonly SecondFactorMethod[];
    /**
     * Whether the first SMS goes out now (default). When not (an authenticator user),
     * the challenge starts pending with no send: `POST .../resend` sends the first.
     */
    smsNow?: boolean;
    /** The challenge's id, when the caller needs it before the insert (an idempotent answer). */
    id?: string;
    /** Under an Idempotency-Key: the answer, stored by this same statement, fenced on the claim. */
    idempotency?: StoredAnswer;
  },
): Promise<ChallengeRow | null> {
  const { organizationId, userId, ip, phone, sendId, now, idempotency } = input;
  const methods = input.methods ?? ['sms', 'backup_code'];
  const smsNow = input.smsNow ?? true;
  // Without an SMS now, the challenge waits for an app or backup code (or a resend): pending.
  const sends = smsNow && phone !== null;
  const status = sends || !smsNow ? 'pending' : 'phone_required';
  const [row] = await sql<(ChallengeRow & { claimHeld: boolean })[]>`
    with usr as (
      select id from users
      where organization_id = ${organizationId} and id = ${userId}
        and (locked_until is null or locked_until <= now())
        and phone is not distinct from ${phone}::text
      for share
    ), claim as (${claimFence(sql, idempotency)}), challenge as (
      insert into challenges (id, organization_id, user_id, status, phone, ip, expires_at,
        send_count, last_send_at, current_send_id, created_at, updated_at, methods)
      select ${input.id ?? newId()}::uuid, ${organizationId}::uuid,
        usr.id, ${status}::text, ${phone}::text, ${ip}::text,
        ${ttl(now)}::timestamptz, ${sends ? 1 : 0}::int, ${sends ? now : null}::timestamptz,
        ${sends ? sendId : null}::uuid, ${now}::timestamptz, ${now}::timestamptz,
        ${methods as string[]}::text[]
      from usr
      where exists (select 1 from claim)
      returning *
    ), send as (
      insert into sms_sends (id, organization_id, challenge_id, seq, phone, created_at, updated_at)
      select ${sendId}, organization_id, id, 1, phone, ${now}, ${now} from challenge
      where challenge.current_send_id is not null
    ), answer as (${storeAnswer(sql, idempotency, 'challenge')})
    select exists (select 1 from claim) as "claimHeld", ${challengeColumns(sql)},
      case when challenge.current_send_id is null then null
        else json_build_object('status', 'queued', 'errorCode', null) end as "latestSend"
    from (select 1) as one left join challenge on true`;
  // A claim taken over (it went stale) stores nothing and is not ours to answer.
  if (!row?.claimHeld) {
    throw new IdempotencyClaimLost('idempotency claim taken over; nothing was stored');
  }
  const { claimHeld: _held, ...challenge } = row;
  // Nothing inserted: the user was locked or their phone changed since the lookup.
  return challenge.id ? challenge : null;
}

/**
 * The facts a login's skip relied on, beyond the organization and the address the
 * caller already judged: none (the organization needs no second step), the user is
 * not exempt (a trusted network), or not exempt and the presented device theirs,
 * unrevoked and unexpired (a trusted device).
 */
export type SkipFacts = 'none' | 'not_exempt' | 'trusted_device';

/**
 * `SkipFacts` as the guard of the `signed_in` insert, over `loginContextSelect`'s
 * `u` and `d`: `isDeviceTrusted` in SQL, checked against it by tests/integration/rule-guards.
 */
function skipGuard(sql: Sql, facts: SkipFacts) {
  if (facts === 'none') return sql`true`;
  const notExempt = sql`not u.two_factor_disabled`;
  if (facts === 'not_exempt') return notExempt;
  return sql`${notExempt} and d.user_id = u.id and d.organization_id = u.organization_id
    and d.revoked_at is null and d.expires_at > now()`;
}

/**
 * A start expected to need no code, in one round trip: the login context (as
 * `loadLoginContext` reads it) and, when the facts the expected skip relied on
 * hold in that same snapshot, its `signed_in` audit event. `recorded` false: the
 * facts did not hold and nothing was written; the caller decides again on `context`.
 * Null when there is no such user.
 */
export async function loadContextRecordingSkip(
  sql: Sql,
  input: {
    organizationId: string;
    userId: string;
    deviceTokenHash: DeviceTokenHash;
    ip: string;
    skip: { reason: SkipReason; facts: SkipFacts };
  },
): Promise<{ context: LoginContext; recorded: boolean } | null> {
  const { organizationId, userId, deviceTokenHash, ip, skip } = input;
  const [row] = await sql<(LoginContextRow & { holds: boolean; recorded: boolean })[]>`
    with context as (${loginContextSelect(
      sql,
      organizationId,
      { userId },
      deviceTokenHash,
      sql`, (${skipGuard(sql, skip.facts)}) is true as holds`,
    )}), signed_in as (
      insert into audit_events (organization_id, type, actor, ip, data)
      select ${organizationId}::uuid, 'signed_in', 'user', ${ip}::text,
        jsonb_build_object('userId', context.id, 'method', ${skip.reason}::text)
      from context where context.holds
      returning 1
    )
    select context.*, exists (select 1 from signed_in) as recorded from context`;
  if (!row) return null;
  const { holds: _holds, recorded, ...context } = row;
  return { context: toLoginContext(context), recorded };
}

/** Sets the destination of a phone_required challenge and queues its first send. */
export async function submitChallengePhone(
  sql: Sql,
  input: { organizationId: string; challengeId: string; phone: string; sendId: string; now: Date },
): Promise<ChallengeRow | null> {
  const { organizationId, challengeId, phone, sendId, now } = input;
  const [row] = await sql<ChallengeRow[]>`
    with challenge as (
      update challenges set status = 'pending', phone = ${phone}, phone_submitted = true,
        send_count = 1, last_send_at = ${now}, expires_at = ${ttl(now)},
        current_send_id = ${sendId}, updated_at = ${now}
      where organization_id = ${organizationId} and id = ${challengeId}
        and status = 'phone_required' and expires_at > now()
      returning *
    ), send as (
      insert into sms_sends (id, organization_id, challenge_id, seq, phone, created_at, updated_at)
      select ${sendId}, organization_id, id, 1, phone, ${now}, ${now} from challenge
    )
    select ${challengeColumns(sql)},
      json_build_object('status', 'queued', 'errorCode', null) as "latestSend"
    from challenge`;
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
  const [row] = await sql<ChallengeRow[]>`
    with claim as (${claimFence(sql, idempotency)}), challenge as (
      update challenges set send_count = send_count + 1, last_send_at = ${now},
        expires_at = ${ttl(now)}, current_send_id = ${sendId}, updated_at = ${now}
      where organization_id = ${organizationId} and id = ${challengeId}
        and status = 'pending' and expires_at > now()
        and send_count < ${MAX_SENDS_PER_CHALLENGE}
        and (last_send_at is null
          or last_send_at <= now() - ${RESEND_COOLDOWN_MS} * interval '1 millisecond')
        and exists (select 1 from claim)
        ${idempotency ? sql`and wrong_attempts = ${idempotency.wrongAttempts}` : sql``}
      returning *
    ), send as (
      insert into sms_sends (id, organization_id, challenge_id, seq, phone, created_at, updated_at)
      select ${sendId}, organization_id, id, send_count, phone, ${now}, ${now} from challenge
    ), answer as (${storeAnswer(sql, idempotency, 'challenge')})
    select ${challengeColumns(sql)},
      json_build_object('status', 'queued', 'errorCode', null) as "latestSend"
    from challenge`;
  return row ?? null;
}

/** What an approval approves, and the device it trusts. */
interface ApprovalTarget {
  organizationId: string;
  challengeId: string;
  sendId: string;
  deviceTokenHash: string;
  /** How the second step was passed, for the `signed_in` audit event. */
  method?: string;
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
 * verifications can win the conditional update. The user's row is locked
 * first, so a phone or password change, or a lock, either lands before (and
 * the challenge is no longer pending, or no longer matches) or waits for
 * this. The challenge's number must still be the user's; a phone entered
 * through /phone lands on the profile now (which revokes older trusted
 * devices), and only while the profile has none, so it never overwrites a
 * phone an admin set meanwhile. A right code ends the user's run of wrong ones.
 */
export async function approveChallenge(
  sql: Sql,
  input: ApprovalTarget & { deviceExpiresAt: Date },
): Promise<Approval | null> {
  const [row] = await sql<Approval[]>`
    with ${approval(sql, { ...input, deviceExpiresAt: sql`${input.deviceExpiresAt}::timestamptz` })}
    select approved.user_id as "userId", approved.phone, approved.phone_submitted as "phoneSaved",
      (select count(*)::int from revoked) as "revokedDevices"
    from approved`;
  return row ?? null;
}

/**
 * A verify whose send the caller already knows (a hint), in one round trip: approves
 * as `approveChallenge` does, and only when that send is still the challenge's current
 * one, carried this code (`codeHash`, the keyed hash the worker stored) and the
 * challenge takes SMS codes. The device stays trusted `deviceTtlMs` from the database's
 * clock (to the millisecond, as the answer shows it). With the approval (null when any
 * guard failed) comes the challenge as `getChallenge` reads it, from the same snapshot,
 * before this statement: what the caller decides on when nothing was approved. Null
 * when there is no such challenge.
 */
export async function approveWithCode(
  sql: Sql,
  input: {
    organizationId: string;
    challengeId: string;
    sendId: string;
    codeHash: string;
    deviceTokenHash: string;
    deviceTtlMs: number;
  },
): Promise<{
  approval: (Approval & { deviceExpiresAt: Date }) | null;
  challenge: LoadedChallengeRow;
} | null> {
  const { organizationId, challengeId, sendId, codeHash, deviceTtlMs } = input;
  const deviceExpiresAt = sql`date_trunc('milliseconds', now())
    + ${deviceTtlMs} * interval '1 millisecond'`;
  const guard = sql`and 'sms' = any(ch.methods) and exists (select 1 from sms_sends code
    where code.id = ${sendId} and code.organization_id = ${organizationId}
      and code.code_hash = ${codeHash})`;
  const [row] = await sql<
    (LoadedChallengeRow & {
      approval: (Approval & { deviceExpiresAt: string }) | null;
    })[]
  >`
    with ${approval(sql, { ...input, deviceExpiresAt, guard })}, challenge_read as (
      ${challengeRead(sql, organizationId, challengeId)}
    )
    select challenge_read.*, (select json_build_object('userId', approved.user_id,
        'phone', approved.phone, 'phoneSaved', approved.phone_submitted,
        'revokedDevices', (select count(*)::int from revoked),
        'deviceExpiresAt', ${deviceExpiresAt}) from approved) as approval
    from challenge_read`;
  if (!row) return null;
  const { approval: approved, ...challenge } = row;
  return {
    challenge,
    approval: approved && { ...approved, deviceExpiresAt: new Date(approved.deviceExpiresAt) },
  };
}

/**
 * The approval's CTEs (`usr`, `approved`, `user_reset`, `revoked`, `phone_saved`,
 * `ended`, `device`, `verified`, `signed_in`): see `approveChallenge`. `guard` adds
 * conditions on the challenge (`ch`).
 */
function approval(
  sql: Sql,
  input: ApprovalTarget & { deviceExpiresAt: Fragment; guard?: Fragment },
) {
  const { organizationId, challengeId, sendId, deviceTokenHash, deviceExpiresAt } = input;
  const method = input.method ?? 'sms';
  return sql`usr as (
      select id, phone, locked_until from users
      where organization_id = ${organizationId} and id = (
        select user_id from challenges
        where organization_id = ${organizationId} and id = ${challengeId})
      for update
    ), approved as (
      update challenges ch set status = 'approved', approved_at = now(), updated_at = now()
      from usr
      where ch.organization_id = ${organizationId} and ch.id = ${challengeId}
        and ch.user_id = usr.id and ch.status = 'pending'
        and ch.current_send_id = ${sendId} and ch.expires_at > now()
        and ch.wrong_attempts < ${MAX_WRONG_ATTEMPTS}
        and (usr.locked_until is null or usr.locked_until <= now())
        and case when ch.phone_submitted then usr.phone is null
          else usr.phone is not distinct from ch.phone end
        ${input.guard ?? sql``}
      returning ch.user_id, ch.organization_id, ch.phone, ch.phone_submitted, ch.ip
    ), user_reset as (
      update users set consecutive_code_failures = 0,
        phone = case when approved.phone_submitted then approved.phone else users.phone end,
        updated_at = now()
      from approved
      where users.id = approved.user_id and users.organization_id = approved.organization_id
        -- Written only when something changes: a run of wrong codes to end, or a phone to save.
        and (users.consecutive_code_failures <> 0 or approved.phone_submitted)
      returning users.id, approved.phone_submitted as saved
    ), revoked as (
      update trusted_devices d set revoked_at = now()
      from user_reset
      where user_reset.saved and d.user_id = user_reset.id and d.organization_id = ${organizationId}
        and d.revoked_at is null
      returning d.id
    ), phone_saved as (select id from user_reset where user_reset.saved
    ), ended as (${endSessionsOf(sql, organizationId, 'phone_saved')}
    ), device as (
      insert into trusted_devices (organization_id, user_id, token_hash, expires_at, created_at)
      select organization_id, user_id, ${deviceTokenHash}, ${deviceExpiresAt}, now() from approved
    ), verified as (
      update sms_sends set verified_at = now()
      where id = ${sendId} and organization_id = ${organizationId} and exists (select 1 from approved)
    ), signed_in as (
      insert into audit_events (organization_id, type, actor, ip, data)
      select organization_id, 'signed_in', 'user', ip,
        jsonb_build_object('userId', user_id, 'method', ${method}::text)
      from approved
    )`;
}

export interface WrongCode {
  wrongAttempts: number;
  status: StoredChallengeStatus;
  /** The user's wrong codes in a row, this one included. */
  consecutiveFailures: number;
  /** Whether this wrong code locked the user. */
  userLocked: boolean;
  lockedUntil: Date | null;
}

/**
 * Counts one wrong code on the challenge and on its user, in one statement:
 * the last allowed one locks the challenge (audit `challenge_locked`), and the
 * user's MAX_CONSECUTIVE_CODE_FAILURES-th in a row locks the user for
 * USER_LOCK_MS, cancels their open challenges and records `user_locked`. The
 * user's row is locked first, so parallel wrong codes on several challenges
 * count one after another and exactly one of them locks.
 */
export async function recordWrongCode(
  sql: Sql,
  input: {
    organizationId: string;
    challengeId: string;
    maxConsecutiveFailures: number;
    /**
     * The statuses that take a code of this kind: pending (default); a backup code is
     * also taken, and so counted when wrong, on phone_required and failed challenges.
     */
    statuses?: readonly StoredChallengeStatus[];
  },
): Promise<WrongCode | null> {
  const { organizationId, challengeId, maxConsecutiveFailures } = input;
  const statuses = (input.statuses ?? ['pending']) as string[];
  const [row] = await sql<(WrongCode & { userId: string })[]>`
    with usr as (
      select id, ${sql.unsafe(locksUserSql('consecutive_code_failures + 1', maxConsecutiveFailures))} as locks
      from users
      where organization_id = ${organizationId} and id = (
        select user_id from challenges
        where organization_id = ${organizationId} and id = ${challengeId})
      for update
    ), c as (
      update challenges ch set
        wrong_attempts = ch.wrong_attempts + 1,
        status = case when ch.wrong_attempts + 1 >= ${MAX_WRONG_ATTEMPTS} then 'locked'
          when usr.locks then 'canceled' else ch.status end,
        canceled_at = case when ch.wrong_attempts + 1 < ${MAX_WRONG_ATTEMPTS} and usr.locks
          then now() else ch.canceled_at end,
        updated_at = now()
      from usr
      where ch.organization_id = ${organizationId} and ch.id = ${challengeId}
        and ch.user_id = usr.id and ch.status = any(${statuses}::text[])
        and ch.expires_at > now() and ch.wrong_attempts < ${MAX_WRONG_ATTEMPTS}
      returning ch.id, ch.user_id, ch.ip, ch.wrong_attempts, ch.status, usr.locks
    ), u as (
      update users set consecutive_code_failures = users.consecutive_code_failures + 1,
        locked_until = case when c.locks then now() + ${USER_LOCK_MS} * interval '1 millisecond' else users.locked_until end,
        updated_at = now()
      from c
      where users.id = c.user_id and users.organization_id = ${organizationId}
      returning users.id, users.consecutive_code_failures as failures, users.locked_until
    ), locked_user as (select u.id from u, c where c.locks
    ), ended as (${endSessionsOf(sql, organizationId, 'locked_user')}
    ), others as (
      update challenges o set status = 'canceled', canceled_at = now(), updated_at = now()
      from c
      where c.locks and o.organization_id = ${organizationId} and o.user_id = c.user_id
        and o.id <> c.id and o.status in ('phone_required', 'pending')
      returning o.id
    ), a as (
      insert into audit_events (organization_id, type, actor, ip, data)
      select ${organizationId}::uuid, 'challenge_locked', 'system', c.ip, jsonb_build_object(
        'challengeId', c.id, 'userId', c.user_id, 'wrongAttempts', c.wrong_attempts)
      from c where c.status = 'locked'
      union all
      select ${organizationId}::uuid, 'user_locked', 'system', c.ip, jsonb_build_object(
        'userId', c.user_id, 'challengeId', c.id, 'consecutiveFailures', u.failures,
        'lockedUntil', u.locked_until,
        'canceledChallenges', (select count(*) from others) + (c.status = 'canceled')::int)
      from c, u where c.locks
    )
    select c.user_id as "userId", c.wrong_attempts as "wrongAttempts", c.status,
      u.failures as "consecutiveFailures", c.locks as "userLocked", u.locked_until as "lockedUntil"
    from c, u`;
  if (!row) return null;
  if (row.userLocked) {
    // A challenge whose insert held the user's row while this statement waited for it
    // committed after this statement's snapshot: cancel it too (later inserts see the lock).
    await sql`
      update challenges set status = 'canceled', canceled_at = now(), updated_at = now()
      where organization_id = ${organizationId} and user_id = ${row.userId}
        and status in ('phone_required', 'pending')`;
  }
  const { userId: _userId, ...counted } = row;
  return counted;
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
