import { randomBytes, randomUUID } from 'node:crypto';
import { CODE_TTL_MS, generateToken, hashSecret, MAX_WRONG_ATTEMPTS } from '@twofa/core';
import {
  approveChallenge,
  claimSend,
  createChallenge,
  deleteFinishedChallenges,
  destinationVerifiedBefore,
  findStaleSends,
  findUnknownSends,
  getLedger,
  listAudit,
  listUsers,
  loadLoginContext,
  recordSendAccepted,
  recordWrongCode,
  sendStats,
} from '@twofa/db';
import type { RequestSpec } from 'autocannon';
import postgres from 'postgres';
import { APP_SECRET } from './constants.ts';
import { perOp } from './cpu.ts';
import { httpLoad } from './load.ts';
import type { Ctx } from './scenarios.ts';
import type { Org } from './seed.ts';
import type { Sql } from './stack.ts';

export interface LargeCounts {
  organizations: number;
  users: number;
  challenges: number;
  sends: number;
  ledger: number;
  audit: number;
}

/** The issue's sizes: 10,000 orgs, 1,000,000 users, 5,000,000 finished challenges and sends, 5,000,000 ledger rows, 2,000,000 audit events. */
export const LARGE_COUNTS: LargeCounts = {
  organizations: 10_000,
  users: 1_000_000,
  challenges: 5_000_000,
  sends: 5_000_000,
  ledger: 5_000_000,
  audit: 2_000_000,
};

/** Rows per INSERT statement: large enough for set-based speed, small enough to log progress. */
const BATCH = 250_000;
const DAY_MS = 86_400_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Everything the seed writes is a closed-form function of a row's index (org k = j mod K, time
 * rising with j), so each table is filled by its own `generate_series` statements, batch by
 * batch, without reading back what an earlier statement wrote: the foreign keys hold because
 * the ids are the same deterministic function (a v4-shaped UUID from md5 of a per-seed salt
 * and the index) wherever a row is referenced.
 */
interface Plan {
  salt: string;
  /** The seed's "now", as an SQL literal: every time is relative to it. */
  t0: string;
  t0Ms: number;
  /** Seeds the hashes of the ids, so two seeds of one database do not collide. */
  seed: number;
  benchIds: string[];
  benchBalances: number[];
  /** Organizations holding rows: the bench's first (k < B), then new ones. */
  K: number;
  B: number;
  usersPerOrg: number;
  U: number;
  C: number;
  L: number;
  A: number;
  /** Challenges whose send was debited: the first `charged` (the rest are the K newest). */
  charged: number;
}

const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** A v4-shaped UUID from md5 of the salt, `tag` and `index` (SQL text): for organizations. */
const uuidOf = (p: Plan, tag: string, index: string) =>
  `overlay(overlay(md5(${lit(p.salt + tag)} || (${index})::text) placing '4' from 13) placing '8' from 17)::uuid`;

/**
 * A UUIDv7 (time-ordered: the row's creation millisecond `ms`, then 64 hashed bits) for the big
 * tables. Their indexes then fill in order as a table that grew over a year would, instead of
 * every insert landing on a random page (which made the seed several times slower).
 */
const v7Of = (p: Plan, tag: number, index: string, ms: string) => {
  const hx = `lpad(to_hex(hashint8extended((${index})::bigint, ${p.seed + tag})), 16, '0')`;
  return `(lpad(to_hex(${ms}), 12, '0') || '7' || substr(${hx}, 1, 3) || '8' || substr(${hx}, 4, 13) || lpad(to_hex((${index}) % 256), 2, '0'))::uuid`;
};

const YEAR_MS = 365 * DAY_MS;
const userMs = (p: Plan, i: string) =>
  `(${p.t0Ms - 380 * DAY_MS}::bigint + (${i})::bigint * ${14 * DAY_MS} / ${p.U})`;
const challengeMs = (p: Plan, j: string) =>
  `(${p.t0Ms - YEAR_MS}::bigint + (${j})::bigint * ${YEAR_MS} / ${p.C})`;
const userTime = (p: Plan, i: string) => `to_timestamp(${userMs(p, i)} / 1000.0)`;
const challengeTime = (p: Plan, j: string) => `to_timestamp(${challengeMs(p, j)} / 1000.0)`;
const userIdOf = (p: Plan, i: string) => v7Of(p, 1, i, userMs(p, i));
const challengeIdOf = (p: Plan, j: string) => v7Of(p, 2, j, challengeMs(p, j));
const sendIdOf = (p: Plan, j: string) => v7Of(p, 3, j, challengeMs(p, j));

/** 43 base64url characters, the shape of the product's HMAC-SHA256 hashes. */
const hmacLike = (p: Plan, tag: string, index: string) =>
  `rtrim(translate(encode(sha256(convert_to(${lit(p.salt + tag)} || (${index})::text, 'UTF8')), 'base64'), '+/', '-_'), '=')`;

const orgIdOf = (p: Plan, k: string) =>
  p.B > 0
    ? `(case when (${k}) < ${p.B} then (${lit(`{${p.benchIds.join(',')}}`)}::uuid[])[(${k}) + 1] else ${uuidOf(p, 'o', k)} end)`
    : uuidOf(p, 'o', k);

const userPhoneOf = (i: string) => `'+35850' || lpad((${i})::text, 7, '0')`;

/** A pseudo-random 0..999 per index and purpose. */
const bucket = (index: string, seed: number) =>
  `(abs(hashint8extended((${index})::bigint, ${seed})) % 1000)`;

/** Debits org k takes: the charged challenges j < charged with j mod K = k. */
const chargedOf = (p: Plan, k: string) => `(((${p.charged} - 1 - (${k})) / ${p.K}) + 1)`;

/** Credit left after the seeded history: none for a tenth of the new organizations (their last send found none). */
const extraOf = (p: Plan, k: string) =>
  `(case when (${k}) < ${p.B} then 0 when (${k}) % 10 = 0 then 0 else 100 + ((${k}) * 37) % 900 end)`;

const balanceBeforeOf = (p: Plan, k: string) =>
  p.B > 0
    ? `(case when (${k}) < ${p.B} then (${lit(`{${p.benchBalances.join(',')}}`)}::int[])[(${k}) + 1] else 0 end)`
    : '0';

interface Step {
  table: keyof LargeCounts;
  total: number;
  sql: (lo: number, hi: number) => string;
  /** Steps of one lane run in order; the two lanes run at once. */
  lane: 0 | 1;
}

function statements(p: Plan): Step[] {
  /** The K organizations' ids, hashed once per statement rather than once per row. */
  const withOrgs = `with o as materialized (
      select k, ${orgIdOf(p, 'k')} as id, ${chargedOf(p, 'k')} + ${extraOf(p, 'k')} as top_up,
        ${balanceBeforeOf(p, 'k')} + ${chargedOf(p, 'k')} + ${extraOf(p, 'k')} as start
      from generate_series(0::bigint, ${p.K - 1}) k)`;
  const orgs = (lo: number, hi: number) => `
    insert into organizations (id, name, slug, auth_method, country, locale, two_factor_enabled,
      sms_balance, low_balance_threshold, created_at, updated_at)
    select ${uuidOf(p, 'o', 'k')}, 'Organization ' || k, 'organization-' || k,
      case when k % 7 = 0 then 'saml2' when k % 11 = 0 then 'ldap' else 'password' end,
      'FI', (array['en', 'fi', 'sv'])[k % 3 + 1], k % 20 <> 0,
      ${extraOf(p, 'k')}, 20,
      ${p.t0}::timestamptz - interval '400 days' + k * interval '1 second',
      ${p.t0}::timestamptz - interval '30 days'
    from generate_series(${lo + p.B}::bigint, ${hi + p.B - 1}) k`;

  // User i belongs to organization i mod K; the first of each is its admin.
  const users = (lo: number, hi: number) => `
    ${withOrgs}
    insert into users (id, organization_id, email, password_hash, phone, two_factor_disabled,
      role, created_at, updated_at)
    select ${userIdOf(p, 'i')}, o.id,
      'user' || i || '@org' || (i % ${p.K}) || '.example',
      case when ${bucket('i', 1)} < 700 then 'scrypt$16384$8$1$'
        || left(${hmacLike(p, 'salt', 'i')}, 22) || '$' || ${hmacLike(p, 'key', 'i')} end,
      ${userPhoneOf('i')}, ${bucket('i', 2)} < 20,
      case when i < ${p.K} then 'admin' else 'member' end,
      ${userTime(p, 'i')},
      ${p.t0}::timestamptz - interval '365 days'
    from generate_series(${lo}::bigint, ${hi - 1}) i join o on o.k = i % ${p.K}`;

  // Challenge j: organization j mod K, one of its users, one send (seq 1), created at a time
  // rising with j over the last year. Statuses by a pseudo-random bucket r:
  //  approved 78% (send delivered, or sent with no receipt: 2%), expired pending 10% (delivered),
  //  2% failed receipts and 1% undelivered (charged: the provider took them), locked 5%,
  //  canceled 2%; the K newest (one per organization) were never charged: failed for lack of
  //  credit (a tenth of the new organizations) or a send no longer needed when claimed.
  const kindOf = `(case
      when j >= ${p.charged} then (case when k >= ${p.B} and k % 10 = 0
        then 'exhausted' else 'not_needed' end)
      when r < 760 then 'approved'
      when r < 780 then 'approved_sent'
      when r < 880 then 'expired'
      when r < 900 then 'expired_failed'
      when r < 910 then 'expired_undelivered'
      when r < 960 then 'locked'
      else 'canceled' end)`;
  // `offset 0` keeps the planner from inlining the subqueries, which would evaluate the
  // status CASE once per reference.
  const base = (lo: number, hi: number) => `
    select j, k, at, i, ${kindOf} as kind, o.id as org_id from (
      select j, j % ${p.K} as k, ${challengeTime(p, 'j')} as at, ${bucket('j', 3)} as r,
        (j % ${p.K}) + ${p.K}::bigint * ((j / ${p.K}) % ${p.usersPerOrg}) as i
      from generate_series(${lo}::bigint, ${hi - 1}) j offset 0) x
    join o using (k) offset 0`;
  const challenges = (lo: number, hi: number) => `
    ${withOrgs}
    insert into challenges (id, organization_id, user_id, status, phone, ip, expires_at,
      wrong_attempts, send_count, last_send_at, current_send_id, failure_reason, approved_at,
      canceled_at, created_at, updated_at)
    select ${challengeIdOf(p, 'j')}, org_id, ${userIdOf(p, 'i')},
      case when kind in ('approved', 'approved_sent') then 'approved' when kind = 'locked' then 'locked'
        when kind = 'canceled' then 'canceled' when kind = 'exhausted' then 'failed' else 'pending' end,
      ${userPhoneOf('i')}, '198.51.100.' || (j % 250 + 1),
      at + ${CODE_TTL_MS / 1000} * interval '1 second',
      case when kind = 'locked' then ${MAX_WRONG_ATTEMPTS} when kind = 'approved' and j % 9 = 0 then 1 else 0 end,
      1, at, ${sendIdOf(p, 'j')},
      case when kind = 'exhausted' then 'sms_balance_exhausted' end,
      case when kind in ('approved', 'approved_sent') then at + (20 + j % 40) * interval '1 second' end,
      case when kind = 'canceled' then at + (30 + j % 90) * interval '1 second' end,
      at, at + (20 + j % 120) * interval '1 second'
    from (${base(lo, hi)}) b`;
  const sends = (lo: number, hi: number) => `
    ${withOrgs}
    insert into sms_sends (id, organization_id, challenge_id, seq, phone, status, code_hash,
      provider_sid, error_code, provider_attempts, verified_at, created_at, sending_at, updated_at)
    select ${sendIdOf(p, 'j')}, org_id, ${challengeIdOf(p, 'j')}, 1,
      ${userPhoneOf('i')},
      case when kind = 'exhausted' then 'insufficient_balance' when kind = 'not_needed' then 'failed'
        when kind = 'approved_sent' then 'sent' when kind = 'expired_failed' then 'failed'
        when kind = 'expired_undelivered' then 'undelivered' else 'delivered' end,
      case when kind not in ('exhausted', 'not_needed') then ${hmacLike(p, 'code', 'j')} end,
      case when kind not in ('exhausted', 'not_needed') then 'SM' || md5(${lit(p.salt)} || 'sid' || j) end,
      case when kind = 'not_needed' then 'not_needed' when kind = 'expired_failed' then '30003'
        when kind = 'expired_undelivered' then '30005' end,
      case when kind in ('exhausted', 'not_needed') then 0 else 1 end,
      case when kind in ('approved', 'approved_sent') then at + (20 + j % 40) * interval '1 second' end,
      at, at + interval '40 milliseconds', at + (3 + j % 20) * interval '1 second'
    from (${base(lo, hi)}) b`;

  // One top-up per organization before its history, then one debit per charged send in time
  // order, so ids follow time and balance_after chains: before + top-up - debits so far.
  const topUps = (lo: number, hi: number) => `
    ${withOrgs}
    insert into sms_ledger (organization_id, delta, reason, reference, balance_after, created_at)
    select o.id, o.top_up, 'top_up', 'invoice-' || (100000 + k), o.start,
      ${p.t0}::timestamptz - interval '366 days' + k * interval '1 millisecond'
    from o where k >= ${lo} and k < ${hi}
    order by k`;
  const debits = (lo: number, hi: number) => `
    ${withOrgs}
    insert into sms_ledger (organization_id, delta, reason, send_id, balance_after, created_at)
    select o.id, -1, 'sms_sent', ${sendIdOf(p, 'j')}, o.start - (j / ${p.K} + 1),
      ${challengeTime(p, 'j')} + interval '40 milliseconds'
    from generate_series(${lo}::bigint, ${hi - 1}) j join o on o.k = j % ${p.K}
    order by j`;

  // Audit events of the kinds the product writes, spread over the year, in time order.
  const audit = (lo: number, hi: number) => `
    ${withOrgs}
    insert into audit_events (organization_id, type, actor, ip, data, created_at)
    select o.id, t.type,
      case when t.type in ('challenge_locked', 'user_locked', 'sms_balance_low', 'sms_unknown_settled')
        then 'system' when t.type in ('user_created', 'phone_changed') then 'organization_key'
        when t.type = 'organization_updated' then 'platform' else 'admin:' || ${userIdOf(p, `m % ${p.K}`)} end,
      case when t.type in ('sms_balance_low', 'sms_unknown_settled', 'organization_updated') then null
        else '198.51.100.' || (m % 250 + 1) end,
      case t.type
        when 'user_created' then jsonb_build_object('userId', ${userIdOf(p, `m % ${p.U}`)})
        when 'phone_changed' then jsonb_build_object('userId', ${userIdOf(p, `m % ${p.U}`)})
        when 'trusted_devices_revoked' then jsonb_build_object('userId', ${userIdOf(p, `m % ${p.U}`)}, 'revoked', 1 + m % 3)
        when 'challenge_locked' then jsonb_build_object('challengeId', ${challengeIdOf(p, `m % ${p.C}`)},
          'userId', ${userIdOf(p, `m % ${p.U}`)}, 'wrongAttempts', ${MAX_WRONG_ATTEMPTS})
        when 'user_locked' then jsonb_build_object('userId', ${userIdOf(p, `m % ${p.U}`)},
          'challengeId', ${challengeIdOf(p, `m % ${p.C}`)}, 'consecutiveFailures', 10, 'canceledChallenges', 1)
        when 'settings_changed' then jsonb_build_object('twoFactorEnabled', true)
        when 'sms_balance_low' then jsonb_build_object('balance', 19, 'threshold', 20)
        when 'organization_updated' then jsonb_build_object('name', 'Organization ' || (m % ${p.K}))
        else jsonb_build_object('sendId', ${sendIdOf(p, `m % ${p.C}`)}, 'challengeId', ${challengeIdOf(p, `m % ${p.C}`)},
          'outcome', 'sent', 'match', 'sid') end,
      ${p.t0}::timestamptz - interval '365 days' + (m + 0.5) / ${p.A}.0 * interval '365 days'
    from generate_series(${lo}::bigint, ${hi - 1}) m join o on o.k = m % ${p.K},
      lateral (select case
        when r < 300 then 'user_created'
        when r < 420 then 'phone_changed'
        when r < 560 then 'trusted_devices_revoked'
        when r < 740 then 'challenge_locked'
        when r < 830 then 'user_locked'
        when r < 920 then 'settings_changed'
        when r < 970 then 'sms_balance_low'
        when r < 990 then 'organization_updated'
        else 'sms_unknown_settled' end as type
        from (select ${bucket('m', 4)} as r) b offset 0) t
    order by m`;

  return [
    { table: 'organizations', total: p.K - p.B, sql: orgs, lane: 0 },
    { table: 'users', total: p.U, sql: users, lane: 0 },
    { table: 'challenges', total: p.C, sql: challenges, lane: 0 },
    { table: 'sends', total: p.C, sql: sends, lane: 0 },
    { table: 'ledger', total: p.K, sql: topUps, lane: 1 },
    { table: 'ledger', total: p.charged, sql: debits, lane: 1 },
    { table: 'audit', total: p.A, sql: audit, lane: 1 },
  ];
}

/** Every foreign key of the seeded tables, as (table, column, referenced table). */
const FOREIGN_KEYS: [string, string, string][] = [
  ['users', 'organization_id', 'organizations'],
  ['challenges', 'organization_id', 'organizations'],
  ['challenges', 'user_id', 'users'],
  ['sms_sends', 'organization_id', 'organizations'],
  ['sms_sends', 'challenge_id', 'challenges'],
  ['sms_ledger', 'organization_id', 'organizations'],
  ['audit_events', 'organization_id', 'organizations'],
];

/** Throws unless every row's foreign keys name an existing row, and each challenge's user is of its organization. */
async function checkForeignKeys(sql: Sql): Promise<void> {
  const check = async ([table, column, target]: [string, string, string]) => {
    const [row] = await sql.unsafe<{ n: number }[]>(
      `select count(*)::int as n from ${table} t
       where not exists (select 1 from ${target} r where r.id = t.${column})`,
    );
    if (row?.n)
      throw new Error(`seedLarge: ${row.n} rows of ${table}.${column} name no ${target} row`);
  };
  // Two at a time, on the pool's two connections.
  const queue = [...FOREIGN_KEYS];
  await Promise.all(
    [0, 1].map(async () => {
      for (let key = queue.shift(); key; key = queue.shift()) await check(key);
    }),
  );
  const [cross] = await sql<{ n: number }[]>`
    select count(*)::int as n from challenges c join users u on u.id = c.user_id
    where u.organization_id <> c.organization_id`;
  if (cross?.n)
    throw new Error(`seedLarge: ${cross.n} challenges of a user of another organization`);
}

/** Another client of the database `sql` is connected to. */
function clientLike(
  sql: Sql,
  options: postgres.Options<Record<string, postgres.PostgresType>>,
): Sql {
  const o = sql.options;
  return postgres({
    host: o.host[0],
    port: o.port[0],
    database: o.database,
    user: o.user,
    ...(typeof o.pass === 'string' ? { password: o.pass } : {}),
    onnotice: () => {},
    ...options,
  });
}

/** Seeds the bench database by SQL (generate_series, no API), scaled by `scale` (1 = LARGE_COUNTS; BENCH_QUICK uses 0.01). The bench's own organizations `orgs` also get their share of users, finished challenges/sends, ledger and audit rows, so admin reads on them read a realistic page from big tables. Ends with VACUUM ANALYZE (so autovacuum does not run during the measurements) and a CHECKPOINT (so the seed's pages are not written back during them). */
export async function seedLarge(
  stackSql: Sql,
  orgs: Org[],
  opts: { scale: number; log: (line: string) => void },
): Promise<{ seconds: number; counts: LargeCounts }> {
  // Connections of its own, closed at the end: the minutes of CPU they spend seeding must not
  // stay in the caller's pool, where a later CPU reading could count them.
  const sql = clientLike(stackSql, { max: 2 });
  try {
    return await seed(sql, orgs, opts);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function seed(
  sql: Sql,
  orgs: Org[],
  opts: { scale: number; log: (line: string) => void },
): Promise<{ seconds: number; counts: LargeCounts }> {
  const started = performance.now();
  const { scale, log } = opts;
  if (!(scale > 0)) throw new Error('seedLarge: scale must be positive');
  for (const org of orgs)
    if (!UUID.test(org.id)) throw new Error(`seedLarge: bad org id ${org.id}`);
  const B = orgs.length;
  const K = Math.max(Math.round(LARGE_COUNTS.organizations * scale), B, 1);
  const usersPerOrg = Math.max(1, Math.round((LARGE_COUNTS.users * scale) / K));
  const U = usersPerOrg * K;
  const C = Math.round(LARGE_COUNTS.challenges * scale);
  const L = Math.round(LARGE_COUNTS.ledger * scale);
  const A = Math.round(LARGE_COUNTS.audit * scale);
  // One top-up per organization plus a debit per charged send make the ledger's rows.
  const charged = L - K;
  if (charged < K || charged > C) {
    throw new Error(`seedLarge: scale ${scale} too small for ${K} organizations`);
  }
  if (U >= 10_000_000) throw new Error('seedLarge: more users than seeded phone numbers');
  const balances = B
    ? await sql<{ id: string; balance: number }[]>`
        select id, sms_balance as balance from organizations where id = any(${orgs.map((o) => o.id)}::uuid[])`
    : [];
  const balanceOf = new Map(balances.map((r) => [r.id, r.balance]));
  const [{ now } = { now: new Date() }] = await sql<{ now: Date }[]>`select now() as now`;
  const plan: Plan = {
    salt: randomBytes(6).toString('hex'),
    t0: lit(now.toISOString()),
    t0Ms: now.getTime(),
    seed: randomBytes(4).readUInt32BE(0),
    benchIds: orgs.map((o) => o.id),
    benchBalances: orgs.map((o) => {
      const balance = balanceOf.get(o.id);
      if (balance === undefined) throw new Error(`seedLarge: organization ${o.id} not found`);
      return balance;
    }),
    K,
    B,
    usersPerOrg,
    U,
    C,
    L,
    A,
    charged,
  };
  const counts: LargeCounts = {
    organizations: K,
    users: U,
    challenges: C,
    sends: C,
    ledger: L,
    audit: A,
  };
  log(
    `large seed at scale ${scale}: ${K} organizations (${B} of the bench), ${U} users, ${C} challenges and sends, ${L} ledger rows, ${A} audit events`,
  );
  const [role] = await sql<{ superuser: boolean }[]>`
    select rolsuper as superuser from pg_roles where rolname = current_user`;
  // The rows satisfy every foreign key by construction; a superuser skips the per-row
  // checks (a third of the insert time) and one set-based check per key proves them after.
  const skipRowChecks = role?.superuser === true;
  const runStep = async (step: Step) => {
    for (let lo = 0; lo < step.total; lo += BATCH) {
      const hi = Math.min(step.total, lo + BATCH);
      const t = performance.now();
      await sql.begin(async (tx) => {
        // Durability of a bench seed is not worth a WAL flush per batch; the tables stay logged.
        await tx.unsafe('set local synchronous_commit = off');
        await tx.unsafe("set local work_mem = '256MB'");
        if (skipRowChecks) await tx.unsafe('set local session_replication_role = replica');
        await tx.unsafe(step.sql(lo, hi));
      });
      log(`  ${step.table} ${hi}/${step.total} in ${((performance.now() - t) / 1000).toFixed(1)}s`);
    }
  };
  const [first, ...rest] = statements(plan);
  if (first) await runStep(first);
  // Two lanes on two connections, each in its foreign keys' order (the organizations first).
  await Promise.all(
    [0, 1].map(async (lane) => {
      for (const step of rest.filter((s) => s.lane === lane)) await runStep(step);
    }),
  );
  if (skipRowChecks) {
    const t = performance.now();
    await checkForeignKeys(sql);
    log(`  foreign keys checked in ${((performance.now() - t) / 1000).toFixed(1)}s`);
  }
  // Vacuumed as well as analyzed: a table that grew over a year has its visibility map set and
  // its hint bits written; a fresh bulk load does not, and autovacuum would otherwise do it
  // during the measurements that follow, its CPU counted as Postgres's.
  for (const table of [
    'organizations',
    'users',
    'challenges',
    'sms_sends',
    'sms_ledger',
    'audit_events',
  ]) {
    const t = performance.now();
    await sql.unsafe(`vacuum (analyze) ${table}`);
    log(`  vacuum analyze ${table} in ${((performance.now() - t) / 1000).toFixed(1)}s`);
  }
  // The seed wrote gigabytes of WAL: left alone, Postgres would spread the checkpoints it
  // asked for over the next minutes (checkpoint_completion_target), writing the seed's pages
  // back during the large pass, its CPU counted per request there and not in the empty pass.
  // A year-old database has no such backlog: one checkpoint now writes it all before.
  const t = performance.now();
  await sql.unsafe('checkpoint');
  log(`  checkpoint in ${((performance.now() - t) / 1000).toFixed(1)}s`);
  const seconds = Math.round((performance.now() - started) / 100) / 10;
  log(`large seed done in ${seconds}s`);
  return { seconds, counts };
}

// ---------------------------------------------------------------------------------------------
// Admin reads

export interface AdminReadRun {
  perSec: number;
  p99Ms: number;
  cpu: Record<string, number>;
}

/**
 * The pages' session cookie name (apps/api/src/pages/session.ts): with the `__Host-` prefix, as
 * the API reads it outside development and test (the bench runs it with NODE_ENV=production).
 */
const SESSION_COOKIE = '__Host-twofa_session';

/**
 * An admin's pages session per organization, written straight to the tables as a login would
 * leave it (the password and SMS steps would only slow the setup): the cookie holds the
 * token, the row its hash. An organization with no admin gets one.
 */
async function adminSessions(sql: Sql, orgs: Org[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const org of orgs) {
    const [admin] = await sql<{ id: string }[]>`
      select id from users where organization_id = ${org.id} and role = 'admin'
      order by created_at limit 1`;
    const userId =
      admin?.id ??
      (
        await sql<{ id: string }[]>`
          insert into users (organization_id, email, role)
          values (${org.id}, ${`admin-${randomUUID()}@bench.example`}, 'admin') returning id`
      )[0]?.id;
    if (!userId) throw new Error('no admin user');
    const token = generateToken('tfs');
    await sql`
      insert into web_sessions (organization_id, user_id, token_hash, expires_at)
      values (${org.id}, ${userId}, ${hashSecret(APP_SECRET, 'session', token)},
        now() + interval '12 hours')`;
    out.set(org.id, token);
  }
  return out;
}

/** Rows a full page of each admin read shows: the ledger's 50, an audit page of 50 (+1 to know there is a next), the users page's 20 (+1). */
const PAGE_ROWS = { ledger: 50, audit: 51, users: 21 };

/**
 * Tops each organization up to a full page of each read, so the empty-database figure renders
 * the same pages as the large one and the comparison is of the data's size alone. The ledger
 * lines are one-credit top-ups that move the balance with them.
 */
async function fillPages(sql: Sql, orgs: Org[]): Promise<void> {
  for (const org of orgs) {
    await sql`
      with need as (
        select o.id, greatest(0, ${PAGE_ROWS.ledger}
          - (select count(*) from sms_ledger l where l.organization_id = o.id))::int as n
        from organizations o where o.id = ${org.id}
      ), upd as (
        update organizations o set sms_balance = o.sms_balance + need.n, updated_at = now()
        from need where o.id = need.id and need.n > 0
        returning o.id, o.sms_balance, need.n
      )
      insert into sms_ledger (organization_id, delta, reason, reference, balance_after, created_at)
      select u.id, 1, 'top_up', 'bench-page', u.sms_balance - u.n + g, clock_timestamp()
      from upd u, generate_series(1, u.n) g
      order by g`;
    await sql`
      insert into audit_events (organization_id, type, actor, data)
      select ${org.id}, 'settings_changed', 'organization_key', '{"twoFactorEnabled": true}'::jsonb
      from generate_series(1, ${PAGE_ROWS.audit}
        - (select count(*) from audit_events where organization_id = ${org.id})::int)`;
    await sql`
      insert into users (organization_id, email, phone)
      select ${org.id}, 'page-' || gen_random_uuid() || '@bench.example', null
      from generate_series(1, ${PAGE_ROWS.users}
        - (select count(*) from users where organization_id = ${org.id})::int)`;
  }
}

function rotating(
  orgs: Org[],
  path: string,
  headers: (org: Org) => Record<string, string>,
): RequestSpec[] {
  let next = 0;
  return [
    {
      method: 'GET',
      path,
      setupRequest: (req) => {
        const org = orgs[next++ % orgs.length]!;
        return { ...req, headers: headers(org) };
      },
    },
  ];
}

/** The admin reads through the API (ledger, one audit page, one user-list page) over the bench's orgs, autocannon like the other scenarios, warmup + ctx.config.runs runs each. Each organization is first given full pages (SQL), so an empty database's figure reads pages as full as a large one's. */
export async function adminReads(
  ctx: Ctx,
  orgs: Org[],
): Promise<{ ledger: AdminReadRun[]; audit: AdminReadRun[]; users: AdminReadRun[] }> {
  const { stack, config } = ctx;
  if (!orgs.length) throw new Error('adminReads: no organizations');
  await fillPages(stack.sql, orgs);
  const sessions = await adminSessions(stack.sql, orgs);
  const byKey = (org: Org) => ({ authorization: org.auth });
  const reads: Record<'ledger' | 'audit' | 'users', RequestSpec[]> = {
    ledger: rotating(orgs, '/v1/sms-balance', byKey),
    audit: rotating(orgs, '/v1/audit-events?limit=50', byKey),
    users: rotating(orgs, '/settings/users', (org) => ({
      cookie: `${SESSION_COOKIE}=${sessions.get(org.id)}`,
    })),
  };
  const out = {
    ledger: [] as AdminReadRun[],
    audit: [] as AdminReadRun[],
    users: [] as AdminReadRun[],
  };
  for (const kind of ['ledger', 'audit', 'users'] as const) {
    const once = async (durationS: number): Promise<AdminReadRun> => {
      const cpu = await stack.startCpu();
      const r = await httpLoad({
        url: stack.apiUrl,
        durationS,
        connections: config.connections,
        requests: reads[kind],
      });
      const used = await cpu();
      if (r.non2xx || r.errors || !r.ok) {
        throw new Error(`admin read ${kind}: unexpected answers ${JSON.stringify(r.statusCodes)}`);
      }
      return { perSec: r.perSec, p99Ms: r.p99Ms, cpu: perOp(used, r.ok) };
    };
    ctx.log(`admin read ${kind}: warmup ${config.warmupS}s`);
    await once(config.warmupS);
    for (let run = 0; run < config.runs; run++) out[kind].push(await once(config.durationS));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// EXPLAIN of the hot statements

interface Captured {
  query: string;
  parameters: unknown[];
  types: number[];
}

class Rollback extends Error {}

/** Rows from which a sequential scan of a table means a missing index (below, it is the cheap plan). */
const BIG_TABLE_ROWS = 10_000;

/** A second client on the same database whose `debug` hook records what postgres.js sends. */
function recordingClient(sql: Sql): { rec: Sql; take: () => Captured[]; end: () => Promise<void> } {
  let log: Captured[] = [];
  const rec = clientLike(sql, {
    max: 1,
    debug: (_conn, query, parameters, types) => {
      if (/^\s*(begin|commit|rollback|savepoint|release)\b/i.test(query)) return;
      log.push({ query, parameters: [...parameters], types: [...types] as number[] });
    },
  });
  return {
    rec,
    take: () => {
      const taken = log;
      log = [];
      return taken;
    },
    end: () => rec.end({ timeout: 2 }),
  };
}

/** Runs `fn` in a transaction that is always rolled back. */
async function rolledBack(sql: Sql, fn: (tx: Sql) => Promise<void>): Promise<void> {
  try {
    await sql.begin(async (tx) => {
      await fn(tx as unknown as Sql);
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
}

interface HotIds {
  orgId: string;
  userId: string;
  email: string;
  phone: string;
}

interface Hot {
  name: string;
  /** Puts the rows the statement acts on in place (inside the rolled-back transaction). */
  setup?: (tx: Sql) => Promise<void>;
  run: (tx: Sql) => Promise<unknown>;
}

function hotStatements(ids: HotIds): Hot[] {
  const now = new Date();
  const { orgId, userId, email, phone } = ids;
  const challengeId = randomUUID();
  const sendId = randomUUID();
  const create = (tx: Sql) =>
    createChallenge(tx, {
      organizationId: orgId,
      userId,
      ip: '203.0.113.10',
      phone,
      sendId,
      now,
      id: challengeId,
    });
  const setup = async (tx: Sql) => {
    if (!(await create(tx))) throw new Error('explain: the challenge was not created');
  };
  const codeHash = hashSecret(APP_SECRET, 'code', '123456', sendId);
  return [
    {
      name: 'challenge create: destinationVerifiedBefore',
      run: (tx) => destinationVerifiedBefore(tx, orgId, phone),
    },
    {
      name: 'challenge create: sendStats',
      run: (tx) => sendStats(tx, orgId, new Date(now.getTime() - 3_600_000)),
    },
    { name: 'challenge create: createChallenge', run: create },
    { name: 'claim-and-debit: claimSend', setup, run: (tx) => claimSend(tx, { sendId, codeHash }) },
    {
      name: 'outcome: recordSendAccepted',
      setup: async (tx) => {
        await setup(tx);
        await claimSend(tx, { sendId, codeHash });
      },
      run: (tx) =>
        recordSendAccepted(tx, { sendId, providerSid: `SM${randomBytes(16).toString('hex')}` }),
    },
    {
      name: 'verify: approveChallenge',
      setup,
      run: (tx) =>
        approveChallenge(tx, {
          organizationId: orgId,
          challengeId,
          sendId,
          deviceTokenHash: hashSecret(APP_SECRET, 'device-token', randomUUID()),
          deviceExpiresAt: new Date(now.getTime() + 30 * DAY_MS),
        }),
    },
    {
      name: 'verify: recordWrongCode',
      setup,
      run: (tx) =>
        recordWrongCode(tx, {
          organizationId: orgId,
          challengeId,
          maxConsecutiveFailures: 10,
        }),
    },
    {
      name: 'common login: loadLoginContext (user + device)',
      run: (tx) =>
        loadLoginContext(tx, orgId, { userId }, hashSecret(APP_SECRET, 'device-token', 'x')),
    },
    {
      name: 'login form: loadLoginContext by email',
      run: (tx) => loadLoginContext(tx, orgId, { email: email.toUpperCase() }, null),
    },
    { name: 'admin: ledger page (getLedger)', run: (tx) => getLedger(tx, orgId, 50) },
    { name: 'admin: audit page (listAudit)', run: (tx) => listAudit(tx, orgId, { limit: 51 }) },
    {
      name: 'admin: user list page (listUsers)',
      run: (tx) => listUsers(tx, orgId, { limit: 20, offset: 0 }),
    },
    {
      name: 'reconciler: findStaleSends',
      run: (tx) =>
        findStaleSends(tx, { queuedGraceMs: 3_000, sendingGraceMs: 120_000, limit: 500 }),
    },
    {
      name: 'reconciler: findUnknownSends',
      run: (tx) =>
        findUnknownSends(tx, { claimedBefore: new Date(now.getTime() - 60_000), limit: 100 }),
    },
    {
      name: 'retention: deleteFinishedChallenges (one batch)',
      run: (tx) => deleteFinishedChallenges(tx, { retentionDays: 90, batchSize: 5_000 }),
    },
  ];
}

function usesIndexOf(plan: string, big: Set<string>): boolean {
  for (const match of plan.matchAll(/Seq Scan on (\w+)/g)) {
    if (big.has(match[1] ?? '')) return false;
  }
  return true;
}

/** EXPLAIN (ANALYZE, BUFFERS) of the hot statements (challenge create, claim-and-debit, outcome record, verify approve/wrong code, common-login lookups, ledger/audit/user pages) with real ids from the data; `usesIndex` is false when a plan seq-scans a big table. */
export async function explainHot(
  sql: Sql,
): Promise<{ name: string; plan: string; usesIndex: boolean }[]> {
  // The organization of the newest ledger line, and a user of it with a phone.
  const [pick] = await sql<HotIds[]>`
    select u.organization_id as "orgId", u.id as "userId", u.email, u.phone
    from users u
    where u.organization_id = (select organization_id from sms_ledger order by id desc limit 1)
      and u.phone is not null and u.locked_until is null
    limit 1`;
  if (!pick) throw new Error('explainHot: no user with a phone in an organization with a ledger');
  const bigRows = await sql<{ name: string }[]>`
    select relname as name from pg_class
    where relkind = 'r' and relnamespace = 'public'::regnamespace and reltuples >= ${BIG_TABLE_ROWS}`;
  const big = new Set(bigRows.map((r) => r.name));
  const { rec, take, end } = recordingClient(sql);
  const out: { name: string; plan: string; usesIndex: boolean }[] = [];
  try {
    for (const hot of hotStatements(pick)) {
      let captured: Captured[] = [];
      await rolledBack(rec, async (tx) => {
        await hot.setup?.(tx);
        take();
        await hot.run(tx);
        captured = take();
      });
      const plans: string[] = [];
      await rolledBack(sql, async (tx) => {
        await hot.setup?.(tx);
        for (const q of captured) {
          const params = q.parameters.map((value, i) => {
            const type = q.types[i] ?? 0;
            return type ? tx.typed(value as never, type) : value;
          });
          const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>(
            `explain (analyze, buffers, format text) ${q.query}`,
            params as never[],
          );
          plans.push(rows.map((r) => r['QUERY PLAN']).join('\n'));
        }
      });
      const plan = plans.join('\n\n');
      out.push({ name: hot.name, plan, usesIndex: usesIndexOf(plan, big) });
    }
  } finally {
    await end();
  }
  return out;
}
