import type { Role } from '@twofa/core';
import type { TransactionSql } from 'postgres';
import type { Sql } from '../client.ts';
import { endSessionsOf } from './sessions.ts';

export interface UserRow {
  id: string;
  organizationId: string;
  email: string;
  phone: string | null;
  twoFactorDisabled: boolean;
  role: Role;
  lockedUntil: Date | null;
  createdAt: Date;
  /** An authenticator app is confirmed (pending enrollments do not count). */
  totpEnabled: boolean;
  /** Unused backup codes. */
  backupCodesRemaining: number;
}

const columns = (sql: Sql | TransactionSql, u = 'users') => sql`
  ${sql(u)}.id, ${sql(u)}.organization_id as "organizationId", ${sql(u)}.email, ${sql(u)}.phone,
  ${sql(u)}.two_factor_disabled as "twoFactorDisabled", ${sql(u)}.role,
  ${sql(u)}.locked_until as "lockedUntil", ${sql(u)}.created_at as "createdAt",
  exists (select 1 from authenticators a
    where a.user_id = ${sql(u)}.id and a.organization_id = ${sql(u)}.organization_id
      and a.status = 'active') as "totpEnabled",
  (select count(*)::int from backup_codes b
    where b.user_id = ${sql(u)}.id and b.organization_id = ${sql(u)}.organization_id
      and b.used_at is null) as "backupCodesRemaining"`;

/** Returns null when the email is already taken in this organization. */
export async function createUser(
  sql: Sql,
  input: {
    organizationId: string;
    email: string;
    passwordHash: string | null;
    phone: string | null;
    role?: Role | undefined;
  },
): Promise<UserRow | null> {
  const [user] = await sql<UserRow[]>`
    insert into users (organization_id, email, password_hash, phone, role)
    values (${input.organizationId}, ${input.email}, ${input.passwordHash}, ${input.phone},
      ${input.role ?? 'member'})
    on conflict (organization_id, lower(email)) do nothing
    returning ${columns(sql)}`;
  return user ?? null;
}

export async function getUser(
  sql: Sql,
  organizationId: string,
  userId: string,
): Promise<UserRow | null> {
  const [user] = await sql<UserRow[]>`
    select ${columns(sql)} from users
    where users.organization_id = ${organizationId} and users.id = ${userId}`;
  return user ?? null;
}

export interface UserPatch {
  phone?: string | null | undefined;
  twoFactorDisabled?: boolean | undefined;
  passwordHash?: string | undefined;
  role?: Role | undefined;
}

/**
 * Updates a user. A new phone or password is a new authenticator, so the
 * user's trusted devices are revoked and their open challenges (phone_required
 * or pending) canceled, in the same transaction. The user's row is locked
 * first, in a statement of its own, so the change's statement sees every
 * challenge and trusted device that a start or an approval in flight commits
 * (they hold or wait for the same row).
 */
export async function updateUser(
  sql: Sql,
  organizationId: string,
  userId: string,
  patch: UserPatch,
): Promise<{
  user: UserRow;
  previous: UserRow;
  revokedDevices: number;
  canceledChallenges: number;
} | null> {
  const setPhone = patch.phone !== undefined;
  const newPassword = patch.passwordHash !== undefined;
  type Row = UserRow & { previous: UserRow; revokedDevices: number; canceledChallenges: number };
  const row = await sql.begin(async (tx) => {
    const [found] = await tx`
      select id from users where organization_id = ${organizationId} and id = ${userId}
      for update`;
    if (!found) return null;
    const [updated] = await tx<Row[]>`
      with before as (
        select ${columns(tx)} from users
        where users.organization_id = ${organizationId} and users.id = ${userId}
      ), updated as (
        update users u set
          phone = case when ${setPhone} then ${patch.phone ?? null} else u.phone end,
          two_factor_disabled = coalesce(${patch.twoFactorDisabled ?? null}::boolean, u.two_factor_disabled),
          password_hash = coalesce(${patch.passwordHash ?? null}, u.password_hash),
          role = coalesce(${patch.role ?? null}, u.role),
          updated_at = now()
        from before b
        where u.id = b.id
        returning ${columns(tx, 'u')}
      ), changed as (
        select u.id from updated u, before b
        where u.phone is distinct from b.phone or ${newPassword}
      ), revoked as (
        update trusted_devices d set revoked_at = now()
        from changed u
        where d.user_id = u.id and d.organization_id = ${organizationId} and d.revoked_at is null
        returning d.id
      ), ended as (${endSessionsOf(tx, organizationId, 'changed')}
      ), canceled as (
        update challenges c set status = 'canceled', canceled_at = now(), updated_at = now()
        from changed u
        where c.organization_id = ${organizationId} and c.user_id = u.id
          and c.status in ('phone_required', 'pending')
        returning c.id
      )
      select u.*, row_to_json(b.*) as previous,
        (select count(*)::int from revoked) as "revokedDevices",
        (select count(*)::int from canceled) as "canceledChallenges"
      from updated u, before b`;
    return updated ?? null;
  });
  if (!row) return null;
  const { previous, revokedDevices, canceledChallenges, ...user } = row;
  return { user, previous, revokedDevices, canceledChallenges };
}

/**
 * Lifts a user's lock and ends their run of wrong codes, recording
 * `user_unlocked` in the same statement. Null when there is no such user.
 */
export async function unlockUser(
  sql: Sql,
  input: { organizationId: string; userId: string; actor: string; ip: string | null },
): Promise<UserRow | null> {
  const { organizationId, userId, actor, ip } = input;
  const [user] = await sql<UserRow[]>`
    with before as (
      select id, locked_until, consecutive_code_failures from users
      where organization_id = ${organizationId} and id = ${userId}
      for update
    ), u as (
      update users set locked_until = null, consecutive_code_failures = 0, updated_at = now()
      from before b
      where users.id = b.id
      returning ${columns(sql)}
    ), a as (
      insert into audit_events (organization_id, type, actor, ip, data)
      select ${organizationId}::uuid, 'user_unlocked', ${actor}::text, ${ip}::text, jsonb_build_object(
        'userId', b.id, 'wasLockedUntil', b.locked_until,
        'consecutiveFailures', b.consecutive_code_failures)
      from before b
    )
    select * from u`;
  return user ?? null;
}

export async function revokeTrustedDevices(
  sql: Sql,
  organizationId: string,
  userId: string,
): Promise<number | null> {
  const [row] = await sql<{ exists: boolean; revoked: number }[]>`
    with target as (
      select id from users where organization_id = ${organizationId} and id = ${userId}
    ), revoked as (
      update trusted_devices d set revoked_at = now()
      from target t
      where d.user_id = t.id and d.organization_id = ${organizationId} and d.revoked_at is null
      returning d.id
    ), ended as (${endSessionsOf(sql, organizationId, 'target')})
    select exists (select 1 from target) as exists, (select count(*)::int from revoked) as revoked`;
  return row?.exists ? row.revoked : null;
}

export interface DeviceFacts {
  userId: string;
  organizationId: string;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface LoginContext {
  user: UserRow & { passwordHash: string | null };
  device: DeviceFacts | null;
  /** The database's clock at the lookup: what the policy and the challenge's times go by. */
  now: Date;
}

/**
 * A presented device token as stored: its hash under APP_SECRET, or (while
 * APP_SECRET_PREVIOUS is set) its hashes under each secret, any of which may
 * name a device trusted before the rotation; null when none was presented.
 */
export type DeviceTokenHash = string | readonly string[] | null;

/**
 * The user and the trusted device the presented token names, in one round
 * trip. The device is looked up by token hash alone; the policy checks it
 * belongs to this user and organization.
 */
export async function loadLoginContext(
  sql: Sql,
  organizationId: string,
  by: { userId: string } | { email: string },
  deviceTokenHash: DeviceTokenHash,
): Promise<LoginContext | null> {
  const rows = await sql<LoginContextRow[]>`
    ${loginContextSelect(sql, organizationId, by, deviceTokenHash)}`;
  return rows[0] ? toLoginContext(rows[0]) : null;
}

/** A row of `loginContextSelect`, before `toLoginContext`. */
export type LoginContextRow = UserRow & {
  passwordHash: string | null;
  device: DeviceFacts | null;
  now: Date;
};

/**
 * The select `loadLoginContext` runs, for a statement that reads the context and
 * acts in the same round trip: the user is `u`, the presented device `d`; `extra`
 * adds columns over them.
 */
export function loginContextSelect(
  sql: Sql,
  organizationId: string,
  by: { userId: string } | { email: string },
  deviceTokenHash: DeviceTokenHash,
  extra = sql``,
) {
  return sql`
    select ${columns(sql, 'u')}, now() as now,
      u.password_hash as "passwordHash",
      case when d.id is null then null else json_build_object(
        'userId', d.user_id, 'organizationId', d.organization_id,
        'expiresAt', d.expires_at, 'revokedAt', d.revoked_at) end as device ${extra}
    from users u
    left join trusted_devices d on ${
      typeof deviceTokenHash === 'string' || deviceTokenHash === null
        ? sql`${deviceTokenHash !== null} and d.token_hash = ${deviceTokenHash ?? ''}`
        : sql`d.token_hash = any(${sql.array([...deviceTokenHash])}::text[])`
    }
    where u.organization_id = ${organizationId}
      and ${'userId' in by ? sql`u.id = ${by.userId}` : sql`lower(u.email) = lower(${by.email})`}`;
}

export function toLoginContext(row: LoginContextRow): LoginContext {
  const { device, now, ...user } = row;
  return {
    user,
    now,
    device: device
      ? {
          userId: device.userId,
          organizationId: device.organizationId,
          expiresAt: new Date(device.expiresAt),
          revokedAt: device.revokedAt ? new Date(device.revokedAt) : null,
        }
      : null,
  };
}

/** A page of an organization's users, by email; `search` matches part of the email. */
export async function listUsers(
  sql: Sql,
  organizationId: string,
  options: { search?: string | undefined; limit: number; offset: number },
): Promise<{ users: UserRow[]; total: number }> {
  const pattern = options.search
    ? `%${options.search.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`
    : null;
  const rows = await sql<(UserRow & { total: number })[]>`
    select ${columns(sql)}, (count(*) over ())::int as total from users
    where users.organization_id = ${organizationId}
      ${pattern ? sql`and users.email ilike ${pattern}` : sql``}
    order by lower(users.email), users.id
    limit ${options.limit} offset ${options.offset}`;
  let total = rows[0]?.total ?? 0;
  if (rows.length === 0 && options.offset > 0) {
    const [count] = await sql<{ total: number }[]>`
      select count(*)::int as total from users
      where organization_id = ${organizationId}
        ${pattern ? sql`and email ilike ${pattern}` : sql``}`;
    total = count?.total ?? 0;
  }
  return { users: rows.map(({ total: _total, ...user }) => user), total };
}
