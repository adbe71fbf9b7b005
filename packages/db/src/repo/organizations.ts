import { randomInt } from 'node:crypto';
import {
  type AuthMethod,
  type LedgerReason,
  type Locale,
  MAX_SMS_BALANCE,
  numberedSlug,
  type SecondFactorMethod,
  slugify,
} from '@twofa/core';
import type { Sql } from '../client.ts';
import { claimFence, type StoredAnswer, storeAnswer } from './idempotency.ts';

export interface OrganizationRow {
  id: string;
  name: string;
  /** Unique; derived from the name at creation and kept when the name changes. */
  slug: string;
  authMethod: AuthMethod;
  country: string | null;
  locale: Locale;
  twoFactorEnabled: boolean;
  skipTwoFactorCidrs: string[];
  smsAllowedCountries: string[];
  smsBalance: number;
  lowBalanceThreshold: number;
  /** The second factors its people may use (`methods` of the password settings). */
  secondFactorMethods: SecondFactorMethod[];
  createdAt: Date;
  updatedAt: Date;
}

const columns = (sql: Sql) => sql`
  id, name, slug, auth_method as "authMethod", country, locale, two_factor_enabled as "twoFactorEnabled",
  skip_two_factor_cidrs as "skipTwoFactorCidrs", sms_allowed_countries as "smsAllowedCountries",
  sms_balance as "smsBalance", low_balance_threshold as "lowBalanceThreshold",
  second_factor_methods as "secondFactorMethods", created_at as "createdAt", updated_at as "updatedAt"`;

export async function createOrganization(
  sql: Sql,
  input: {
    name: string;
    authMethod: AuthMethod;
    country: string | null;
    locale?: Locale | undefined;
    apiKeyHash: string;
  },
): Promise<OrganizationRow> {
  const slug = slugify(input.name);
  // The first free of happy-paws, happy-paws-2, ... is picked in the insert itself; a parallel
  // creation that took the same one makes the unique index refuse this one, which then retries.
  for (let attempt = 1; ; attempt++) {
    const candidates = Array.from({ length: 100 }, (_, i) => numberedSlug(slug, i + 1));
    // Past a hundred namesakes, a random number.
    candidates.push(numberedSlug(slug, randomInt(1_000, 10_000_000)));
    try {
      const [org] = await sql<OrganizationRow[]>`
        with free as (
          select c.slug from unnest(${candidates}::text[]) with ordinality as c(slug, n)
          where not exists (select 1 from organizations o where o.slug = c.slug)
          order by c.n limit 1
        ), org as (
          insert into organizations (name, slug, auth_method, country, locale, sms_allowed_countries)
          select ${input.name}, free.slug, ${input.authMethod}, ${input.country},
            ${input.locale ?? 'en'}, ${input.country ? [input.country] : []}::text[]
          from free
          returning *
        ), key as (
          insert into api_keys (organization_id, key_hash) select id, ${input.apiKeyHash} from org
        )
        select ${columns(sql)} from org`;
      return org!;
    } catch (error) {
      const { code, constraint_name } = error as { code?: string; constraint_name?: string };
      if (code !== '23505' || constraint_name !== 'organizations_slug' || attempt >= 5) throw error;
    }
  }
}

/** The id of the organization a slug names, or null. */
export async function findOrganizationIdBySlug(sql: Sql, slug: string): Promise<string | null> {
  const [row] = await sql<{ id: string }[]>`select id from organizations where slug = ${slug}`;
  return row?.id ?? null;
}

export async function getOrganization(sql: Sql, id: string): Promise<OrganizationRow | null> {
  const [org] = await sql<
    OrganizationRow[]
  >`select ${columns(sql)} from organizations where id = ${id}`;
  return org ?? null;
}

export async function findOrganizationIdByKeyHash(
  sql: Sql,
  keyHash: string,
): Promise<string | null> {
  const [row] = await sql<{ organizationId: string }[]>`
    select organization_id as "organizationId" from api_keys
    where key_hash = ${keyHash} and revoked_at is null`;
  return row?.organizationId ?? null;
}

/**
 * The organization of a live key stored under an earlier APP_SECRET's hash (any
 * of `oldHashes`), its stored hash replaced by `keyHash` (the current one) in
 * the same statement: the next lookup finds it directly, and once every key was
 * used the earlier secret is no longer needed for keys. Null when none matches.
 */
export async function rehashApiKey(
  sql: Sql,
  oldHashes: readonly string[],
  keyHash: string,
): Promise<string | null> {
  const [row] = await sql<{ organizationId: string }[]>`
    update api_keys set key_hash = ${keyHash}
    where key_hash = any(${sql.array([...oldHashes])}::text[]) and revoked_at is null
    returning organization_id as "organizationId"`;
  return row?.organizationId ?? null;
}

export async function updateOrganization(
  sql: Sql,
  id: string,
  patch: {
    name?: string | undefined;
    authMethod?: AuthMethod | undefined;
    locale?: Locale | undefined;
  },
): Promise<OrganizationRow | null> {
  const [org] = await sql<OrganizationRow[]>`
    update organizations set
      name = coalesce(${patch.name ?? null}, name),
      auth_method = coalesce(${patch.authMethod ?? null}, auth_method),
      locale = coalesce(${patch.locale ?? null}, locale),
      updated_at = now()
    where id = ${id}
    returning ${columns(sql)}`;
  return org ?? null;
}

/**
 * The row, locked until the transaction ends: read inside a transaction that
 * changes the organization and records the change, so the audit's "from" is
 * the value this change replaced, not one a parallel change already replaced.
 */
export async function getOrganizationForUpdate(
  sql: Sql,
  id: string,
): Promise<OrganizationRow | null> {
  const [org] = await sql<OrganizationRow[]>`
    select ${columns(sql)} from organizations where id = ${id} for update`;
  return org ?? null;
}

export async function updatePasswordSettings(
  sql: Sql,
  id: string,
  patch: {
    twoFactorEnabled?: boolean | undefined;
    skipTwoFactorCidrs?: string[] | undefined;
    smsAllowedCountries?: string[] | undefined;
    secondFactorMethods?: SecondFactorMethod[] | undefined;
  },
): Promise<OrganizationRow | null> {
  const [org] = await sql<OrganizationRow[]>`
    update organizations set
      second_factor_methods = coalesce(${patch.secondFactorMethods ?? null}::text[], second_factor_methods),
      two_factor_enabled = coalesce(${patch.twoFactorEnabled ?? null}::boolean, two_factor_enabled),
      skip_two_factor_cidrs = coalesce(${patch.skipTwoFactorCidrs ?? null}::text[], skip_two_factor_cidrs),
      sms_allowed_countries = coalesce(${patch.smsAllowedCountries ?? null}::text[], sms_allowed_countries),
      updated_at = now()
    where id = ${id}
    returning ${columns(sql)}`;
  return org ?? null;
}

/**
 * A top-up's outcome: added, or refused because it would take the balance past
 * MAX_SMS_BALANCE (nothing written; `balance` is the balance as it stands).
 */
export type TopUp =
  | { result: 'added'; balance: number }
  | { result: 'balance_limit'; balance: number };

/**
 * Adds credits: the balance, its ledger line and the `sms_credits_added` audit
 * event in one statement, so no top-up is ever missing from either record. The
 * limit is in the update's own condition, so of parallel top-ups that together
 * cross it only those that fit land (each re-checks the row the other left).
 * Null when there is no such organization, or the idempotency claim was lost.
 */
export async function addCredits(
  sql: Sql,
  input: {
    organizationId: string;
    amount: number;
    reference: string | null;
    actor: string;
    ip: string | null;
    /** Extra audit data, e.g. which tool added the credits. */
    via?: string;
    /** Under an Idempotency-Key: `{"balance":N}` stored by this same statement, fenced on the claim. */
    idempotency?: StoredAnswer;
  },
): Promise<TopUp | null> {
  const { organizationId, amount, reference, actor, ip, idempotency } = input;
  const data = { amount, reference, ...(input.via ? { via: input.via } : {}) };
  const [row] = await sql<{ balance: number | null; refused: boolean }[]>`
    with claim as (${claimFence(sql, idempotency)}), org as (
      update organizations set sms_balance = sms_balance + ${amount}, updated_at = now()
      where id = ${organizationId} and exists (select 1 from claim)
        and sms_balance::bigint + ${amount}::bigint <= ${MAX_SMS_BALANCE}
      returning id, sms_balance
    ), answer as (
      ${storeAnswer(
        sql,
        idempotency,
        'org',
        // The text JSON.stringify({ balance }) gives, so a replay is byte-identical.
        sql`to_jsonb('{"balance":' || org.sms_balance || '}')`,
      )}
    ), entry as (
      insert into sms_ledger (organization_id, delta, reason, reference, balance_after, created_at)
      select id, ${amount}, 'top_up', ${reference}, sms_balance, clock_timestamp() from org
    ), audit as (
      insert into audit_events (organization_id, type, actor, ip, data)
      select id, 'sms_credits_added', ${actor}, ${ip},
        ${sql.json(data)}::jsonb || jsonb_build_object('balance', sms_balance)
      from org
    )
    select (select sms_balance from org) as balance,
      not exists (select 1 from org) and exists (select 1 from claim)
        and exists (select 1 from organizations where id = ${organizationId}) as refused`;
  if (row?.balance != null) return { result: 'added', balance: row.balance };
  if (!row?.refused) return null;
  // Read afresh: this statement's snapshot predates a parallel top-up that filled the room.
  const [current] = await sql<{ balance: number }[]>`
    select sms_balance as balance from organizations where id = ${organizationId}`;
  return current ? { result: 'balance_limit', balance: current.balance } : null;
}

export interface LedgerRow {
  delta: number;
  reason: LedgerReason;
  balanceAfter: number;
  createdAt: Date;
}

export async function getLedger(
  sql: Sql,
  organizationId: string,
  limit = 50,
): Promise<LedgerRow[]> {
  return sql<LedgerRow[]>`
    select delta, reason, balance_after as "balanceAfter", created_at as "createdAt"
    from sms_ledger where organization_id = ${organizationId}
    order by id desc limit ${limit}`;
}

export interface LowBalanceReading {
  /** All organizations below their threshold that have topped up at least once. */
  total: number;
  /** The lowest `limit` of them. */
  organizations: { organizationId: string; balance: number; threshold: number }[];
}

/**
 * Organizations that need a top-up, for the metrics scrape. One that never
 * topped up is not "low", just unused, so it is left out; the limit bounds
 * both the work and the number of series.
 */
export async function listLowBalanceOrganizations(
  sql: Sql,
  limit: number,
): Promise<LowBalanceReading> {
  const rows = await sql<
    { organizationId: string; balance: number; threshold: number; total: number }[]
  >`
    select o.id as "organizationId", o.sms_balance as balance,
      o.low_balance_threshold as threshold, (count(*) over ())::int as total
    from organizations o
    where o.sms_balance < o.low_balance_threshold
      and exists (
        select 1 from sms_ledger l where l.organization_id = o.id and l.reason = 'top_up')
    order by o.sms_balance, o.id
    limit ${limit}`;
  return {
    total: rows[0]?.total ?? 0,
    organizations: rows.map(({ total: _total, ...row }) => row),
  };
}
