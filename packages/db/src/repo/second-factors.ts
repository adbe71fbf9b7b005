import type { AuthenticatorStatus } from '@twofa/core';
import type { Sql } from '../client.ts';
import { getUser, type UserRow } from './users.ts';

/** Who made a change, for the audit event written with it. */
export interface Actor {
  actor: string;
  ip: string | null;
}

export interface AuthenticatorRow {
  userId: string;
  secretSealed: string;
  status: AuthenticatorStatus;
  lastUsedStep: number | null;
}

export async function getAuthenticator(
  sql: Sql,
  organizationId: string,
  userId: string,
): Promise<AuthenticatorRow | null> {
  const [row] = await sql<AuthenticatorRow[]>`
    select user_id as "userId", secret_sealed as "secretSealed", status,
      last_used_step::float8 as "lastUsedStep"
    from authenticators
    where organization_id = ${organizationId} and user_id = ${userId}`;
  return row ?? null;
}

/**
 * Stores a new pending enrollment, replacing a pending one; an active one is
 * left alone. `user_missing` when there is no such user in the organization.
 */
export async function startTotpEnrollment(
  sql: Sql,
  input: { organizationId: string; userId: string; secretSealed: string },
): Promise<'stored' | 'already_active' | 'user_missing'> {
  const { organizationId, userId, secretSealed } = input;
  const [row] = await sql<{ found: boolean; stored: boolean }[]>`
    with usr as (
      select id from users where organization_id = ${organizationId} and id = ${userId}
      for update
    ), up as (
      insert into authenticators (user_id, organization_id, secret_sealed, status)
      select id, ${organizationId}, ${secretSealed}, 'pending' from usr
      on conflict (user_id) do update set secret_sealed = excluded.secret_sealed,
        created_at = now(), last_used_step = null
      where authenticators.status = 'pending'
      returning user_id
    )
    select exists (select 1 from usr) as found, exists (select 1 from up) as stored`;
  if (!row?.found) return 'user_missing';
  return row.stored ? 'stored' : 'already_active';
}

/**
 * Activates the pending enrollment that was read (the same sealed secret: a
 * replacement in between is not activated by the old one's code), with the
 * confirming step as used, and records `totp_enabled`, in one statement.
 */
export async function confirmTotpEnrollment(
  sql: Sql,
  input: { organizationId: string; userId: string; secretSealed: string; step: number } & Actor,
): Promise<boolean> {
  const { organizationId, userId, secretSealed, step, actor, ip } = input;
  const rows = await sql`
    with a as (
      update authenticators set status = 'active', confirmed_at = now(), last_used_step = ${step}
      where organization_id = ${organizationId} and user_id = ${userId}
        and status = 'pending' and secret_sealed = ${secretSealed}
      returning user_id
    ), audit as (
      insert into audit_events (organization_id, type, actor, ip, data)
      select ${organizationId}::uuid, 'totp_enabled', ${actor}::text, ${ip}::text,
        jsonb_build_object('userId', user_id)
      from a
    )
    select user_id from a`;
  return rows.length > 0;
}

/** Removes the user's authenticator (pending or active); `totp_disabled` when an active one went. */
export async function removeTotp(
  sql: Sql,
  input: { organizationId: string; userId: string } & Actor,
): Promise<UserRow | null> {
  const { organizationId, userId, actor, ip } = input;
  await sql`
    with d as (
      delete from authenticators
      where organization_id = ${organizationId} and user_id = ${userId}
      returning user_id, status
    )
    insert into audit_events (organization_id, type, actor, ip, data)
    select ${organizationId}::uuid, 'totp_disabled', ${actor}::text, ${ip}::text,
      jsonb_build_object('userId', user_id)
    from d where status = 'active'`;
  return getUser(sql, organizationId, userId);
}

/**
 * Replaces the user's backup codes with a new set (hashes only) and records
 * `backup_codes_generated`, in one statement. False when there is no such user.
 */
export async function replaceBackupCodes(
  sql: Sql,
  input: { organizationId: string; userId: string; codeHashes: readonly string[] } & Actor,
): Promise<boolean> {
  const { organizationId, userId, codeHashes, actor, ip } = input;
  const [row] = await sql<{ found: boolean }[]>`
    with usr as (
      select id from users where organization_id = ${organizationId} and id = ${userId}
      for update
    ), old as (
      delete from backup_codes b using usr
      where b.organization_id = ${organizationId} and b.user_id = usr.id
      returning b.id
    ), ins as (
      insert into backup_codes (organization_id, user_id, code_hash)
      select ${organizationId}, usr.id, h from usr, unnest(${codeHashes as string[]}::text[]) as h
    ), audit as (
      insert into audit_events (organization_id, type, actor, ip, data)
      select ${organizationId}::uuid, 'backup_codes_generated', ${actor}::text, ${ip}::text,
        jsonb_build_object('userId', usr.id, 'count', ${codeHashes.length}::int,
          'replaced', (select count(*) from old))
      from usr
    )
    select exists (select 1 from usr) as found`;
  return row?.found ?? false;
}

export interface SecondFactorsReset {
  user: UserRow;
  revokedDevices: number;
  canceledChallenges: number;
  endedSessions: number;
}

/**
 * Starts a user over, in one transaction: phone, authenticator and backup
 * codes cleared, trusted devices revoked, open challenges canceled, page
 * sessions ended, `second_factors_reset` recorded. The user's row is locked
 * first, so a challenge start or approval in flight lands before (and is
 * canceled or revoked here) or after (and sees the reset).
 */
export async function resetSecondFactors(
  sql: Sql,
  input: { organizationId: string; userId: string } & Actor,
): Promise<SecondFactorsReset | null> {
  const { organizationId, userId, actor, ip } = input;
  const counts = await sql.begin(async (tx) => {
    const [found] = await tx`
      select id from users where organization_id = ${organizationId} and id = ${userId}
      for update`;
    if (!found) return null;
    const [row] = await tx<
      {
        revokedDevices: number;
        canceledChallenges: number;
        endedSessions: number;
        hadPhone: boolean;
        hadTotp: boolean;
        backupCodes: number;
      }[]
    >`
      with before as (
        select phone from users where organization_id = ${organizationId} and id = ${userId}
      ), u as (
        update users set phone = null, updated_at = now()
        where organization_id = ${organizationId} and id = ${userId}
      ), a as (
        delete from authenticators where organization_id = ${organizationId} and user_id = ${userId}
        returning status
      ), b as (
        delete from backup_codes where organization_id = ${organizationId} and user_id = ${userId}
        returning used_at
      ), d as (
        update trusted_devices set revoked_at = now()
        where organization_id = ${organizationId} and user_id = ${userId} and revoked_at is null
        returning id
      ), c as (
        update challenges set status = 'canceled', canceled_at = now(), updated_at = now()
        where organization_id = ${organizationId} and user_id = ${userId}
          and status in ('phone_required', 'pending')
        returning id
      ), s as (
        update web_sessions set revoked_at = now()
        where organization_id = ${organizationId} and user_id = ${userId} and revoked_at is null
        returning id
      ), counts as (
        select (select count(*)::int from d) as "revokedDevices",
          (select count(*)::int from c) as "canceledChallenges",
          (select count(*)::int from s) as "endedSessions",
          (select phone is not null from before) as "hadPhone",
          exists (select 1 from a where status = 'active') as "hadTotp",
          (select count(*)::int from b where used_at is null) as "backupCodes"
      ), audit as (
        insert into audit_events (organization_id, type, actor, ip, data)
        select ${organizationId}::uuid, 'second_factors_reset', ${actor}::text, ${ip}::text,
          jsonb_build_object('userId', ${userId}::uuid) || to_jsonb(counts.*)
        from counts
      )
      select * from counts`;
    return row ?? null;
  });
  if (!counts) return null;
  const user = await getUser(sql, organizationId, userId);
  if (!user) return null;
  return {
    user,
    revokedDevices: counts.revokedDevices,
    canceledChallenges: counts.canceledChallenges,
    endedSessions: counts.endedSessions,
  };
}

/** The second factor an approval claims, in the same transaction as the approval. */
export type ClaimedFactor =
  | { method: 'totp'; step: number }
  | { method: 'backup_code'; codeHashes: readonly string[] };

export type FactorApproval =
  | { result: 'approved'; userId: string; backupCodesRemaining: number }
  /** The step was used already, or no unused code matched: a wrong code. */
  | { result: 'factor_refused' }
  /** The challenge no longer takes a code (approved, locked, expired, canceled meanwhile). */
  | { result: 'challenge_changed' };

class RollBack extends Error {}

/**
 * Approves a challenge with an authenticator step or a backup code, claiming
 * it atomically: the user's row is locked first, in a statement of its own,
 * so parallel verifies of one user run one after another, each on a fresh
 * snapshot; the claim (a step later than the last used one, or an unused
 * code) and the approval then commit together, or neither does. Of 20
 * parallel verifies of one code, exactly one gets `approved`.
 */
export async function approveWithFactor(
  sql: Sql,
  input: {
    organizationId: string;
    challengeId: string;
    factor: ClaimedFactor;
    /** The statuses that take this factor (backup codes: pending, phone_required, failed). */
    statuses: readonly string[];
    maxWrongAttempts: number;
    deviceTokenHash: string;
    deviceExpiresAt: Date;
  },
): Promise<FactorApproval> {
  const { organizationId, challengeId, factor, deviceTokenHash, deviceExpiresAt } = input;
  try {
    return await sql.begin(async (tx) => {
      const [user] = await tx<{ id: string }[]>`
        select u.id from users u
        join challenges c on c.user_id = u.id and c.organization_id = u.organization_id
        where c.organization_id = ${organizationId} and c.id = ${challengeId}
        for update of u`;
      if (!user) return { result: 'challenge_changed' as const };
      const claimed =
        factor.method === 'totp'
          ? await tx`
              update authenticators set last_used_step = ${factor.step}
              where organization_id = ${organizationId} and user_id = ${user.id}
                and status = 'active'
                and (last_used_step is null or last_used_step < ${factor.step})
              returning user_id`
          : await tx`
              update backup_codes set used_at = now()
              where organization_id = ${organizationId} and user_id = ${user.id}
                and code_hash = any(${factor.codeHashes as string[]}::text[]) and used_at is null
              returning id`;
      if (claimed.length === 0) return { result: 'factor_refused' as const };
      const [approved] = await tx<{ userId: string; backupCodesRemaining: number }[]>`
        with c as (
          update challenges ch set status = 'approved', approved_at = now(), updated_at = now()
          from users u
          where ch.organization_id = ${organizationId} and ch.id = ${challengeId}
            and u.id = ch.user_id and u.organization_id = ch.organization_id
            and ch.status = any(${input.statuses as string[]}::text[])
            and ch.expires_at > now() and ch.wrong_attempts < ${input.maxWrongAttempts}
            and (u.locked_until is null or u.locked_until <= now())
            and ${factor.method}::text = any(ch.methods)
          returning ch.id, ch.user_id, ch.ip
        ), u as (
          update users set consecutive_code_failures = 0, updated_at = now()
          from c where users.id = c.user_id and users.organization_id = ${organizationId}
        ), d as (
          insert into trusted_devices (organization_id, user_id, token_hash, expires_at, created_at)
          select ${organizationId}, user_id, ${deviceTokenHash}, ${deviceExpiresAt}, now() from c
        ), a as (
          insert into audit_events (organization_id, type, actor, ip, data)
          select ${organizationId}::uuid, 'backup_code_used', 'user', c.ip,
            jsonb_build_object('userId', c.user_id, 'challengeId', c.id,
              'remaining', (select count(*) from backup_codes b
                where b.organization_id = ${organizationId} and b.user_id = c.user_id
                  and b.used_at is null))
          from c where ${factor.method}::text = 'backup_code'
        )
        select c.user_id as "userId",
          (select count(*)::int from backup_codes b
            where b.organization_id = ${organizationId} and b.user_id = c.user_id
              and b.used_at is null) as "backupCodesRemaining"
        from c`;
      // The claim must not outlive a challenge that could not be approved.
      if (!approved) throw new RollBack();
      return { result: 'approved' as const, ...approved };
    });
  } catch (error) {
    if (error instanceof RollBack) return { result: 'challenge_changed' };
    throw error;
  }
}
