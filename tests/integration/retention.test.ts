/**
 * The retention pass: finished challenges older than CHALLENGE_RETENTION_DAYS
 * go with their sends, in batches, by the database's clock; recent ones, live
 * ones and ones with a send still in flight stay; no ledger line or audit
 * event is ever deleted; two workers running it at once delete each row once.
 */

import { randomUUID } from 'node:crypto';
import { createDb } from '@twofa/db';
import { createMetrics } from '@twofa/observability';
import { runRetention, startWorker } from '@twofa/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs, createHarness, type Harness } from '../support/index.ts';

let h: Harness;
let org: { id: string; apiKey: string };
let userId: string;
const PHONE = '+358407650001';

beforeAll(async () => {
  h = await createHarness({ worker: false });
  org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
  await h.topUp(org.id, 1_000);
  await h.enableTwoFactor(org.apiKey);
  userId = (await h.createUser(org.apiKey, { email: 'r@example.com', phone: '040 7650001' })).id;
});
afterAll(async () => {
  await h?.close();
});

interface Seeded {
  challengeId: string;
  sendId: string;
}

/**
 * A challenge `ageDays` old (by the database's clock) with one send, its debit
 * in the ledger and an audit event naming it, as the product leaves them.
 */
async function seed(opts: {
  ageDays: number;
  status: 'approved' | 'locked' | 'failed' | 'canceled' | 'pending' | 'phone_required';
  sendStatus?: string;
  /** Seconds from creation to expiry (the code's ten minutes unless said). */
  ttlS?: number;
}): Promise<Seeded> {
  const challengeId = randomUUID();
  const sendId = randomUUID();
  const ttl = opts.ttlS ?? 600;
  await h.sql`
    with c as (
      insert into challenges (id, organization_id, user_id, status, phone, ip, expires_at,
        send_count, last_send_at, current_send_id, created_at, updated_at)
      values (${challengeId}, ${org.id}, ${userId}, ${opts.status}, ${PHONE}, '203.0.113.9',
        now() - ${opts.ageDays}::int * interval '1 day' + ${ttl}::int * interval '1 second',
        1, now() - ${opts.ageDays}::int * interval '1 day', ${sendId},
        now() - ${opts.ageDays}::int * interval '1 day', now() - ${opts.ageDays}::int * interval '1 day')
      returning id
    ), s as (
      insert into sms_sends (id, organization_id, challenge_id, seq, phone, status,
        provider_attempts, created_at, updated_at)
      select ${sendId}, ${org.id}, id, 1, ${PHONE}, ${opts.sendStatus ?? 'delivered'}, 1,
        now() - ${opts.ageDays}::int * interval '1 day', now() - ${opts.ageDays}::int * interval '1 day'
      from c
    ), l as (
      insert into sms_ledger (organization_id, delta, reason, send_id, balance_after, created_at)
      values (${org.id}, -1, 'sms_sent', ${sendId}, 999, now() - ${opts.ageDays}::int * interval '1 day')
    )
    insert into audit_events (organization_id, type, actor, data, created_at)
    values (${org.id}, 'challenge_locked', 'system',
      ${h.sql.json({ challengeId, userId })}, now() - ${opts.ageDays}::int * interval '1 day')`;
  return { challengeId, sendId };
}

async function exists(s: Seeded): Promise<{ challenge: boolean; send: boolean; ledger: boolean }> {
  const [row] = await h.sql<{ challenge: boolean; send: boolean; ledger: boolean }[]>`
    select exists (select 1 from challenges where id = ${s.challengeId}) as challenge,
      exists (select 1 from sms_sends where id = ${s.sendId}) as send,
      exists (select 1 from sms_ledger where send_id = ${s.sendId}) as ledger`;
  return row!;
}

async function tableCounts() {
  const [row] = await h.sql<{ ledger: number; audit: number; sum: number }[]>`
    select (select count(*) from sms_ledger)::int as ledger,
      (select count(*) from audit_events)::int as audit,
      (select coalesce(sum(delta), 0) from sms_ledger)::int as sum`;
  return row!;
}

function deps(label: string) {
  const logs = captureLogs(label);
  const metrics = createMetrics('worker');
  return { deps: { db: h.services.db, logger: logs.logger, metrics }, logs, metrics };
}

async function deletedMetric(metrics: ReturnType<typeof createMetrics>, table: string) {
  const metric = await metrics.retentionDeleted.get();
  return metric.values.find((v) => v.labels.table === table)?.value ?? 0;
}

/** Deletes every row a previous test left, so each test counts only its own. */
async function clear() {
  await h.sql`delete from challenges`;
}

describe('challenge retention', { timeout: 60_000 }, () => {
  it('deletes old finished challenges and their sends, keeps the rest, never a ledger or audit row', async () => {
    await clear();
    const gone = [
      await seed({ ageDays: 100, status: 'approved' }),
      await seed({ ageDays: 100, status: 'locked' }),
      await seed({ ageDays: 100, status: 'failed', sendStatus: 'insufficient_balance' }),
      await seed({ ageDays: 100, status: 'canceled', sendStatus: 'sent' }),
      // Never verified: expired ten minutes after it started, 100 days ago.
      await seed({ ageDays: 100, status: 'pending' }),
      await seed({ ageDays: 91, status: 'phone_required', sendStatus: 'failed' }),
    ];
    const kept = [
      await seed({ ageDays: 89, status: 'approved' }),
      await seed({ ageDays: 1, status: 'locked' }),
      // Pending and not expired (however old its start): a code may still be entered.
      await seed({ ageDays: 100, status: 'pending', ttlS: 101 * 86_400 }),
      // Expired within the retention: not yet old enough.
      await seed({ ageDays: 100, status: 'pending', ttlS: 11 * 86_400 }),
      // Outcome still open: the worker or the settle pass may yet charge or refund it.
      await seed({ ageDays: 100, status: 'approved', sendStatus: 'unknown' }),
      await seed({ ageDays: 100, status: 'failed', sendStatus: 'retrying' }),
      await seed({ ageDays: 100, status: 'canceled', sendStatus: 'queued' }),
    ];
    const before = await tableCounts();
    const { deps: d, logs, metrics } = deps('retention');

    const result = await runRetention(d, { retentionDays: 90 });

    expect(result).toEqual({ challenges: gone.length, sends: gone.length, batches: 1 });
    for (const s of gone)
      expect(await exists(s)).toEqual({ challenge: false, send: false, ledger: true });
    for (const s of kept)
      expect(await exists(s)).toEqual({ challenge: true, send: true, ledger: true });
    expect(await tableCounts()).toEqual(before);
    expect(await deletedMetric(metrics, 'challenges')).toBe(gone.length);
    expect(await deletedMetric(metrics, 'sms_sends')).toBe(gone.length);
    const line = logs.lines.map((l) => JSON.parse(l)).find((l) => /retention/.test(l.msg));
    expect(line).toMatchObject({ challenges: gone.length, sends: gone.length, retentionDays: 90 });

    // A second pass finds nothing more; a shorter retention reaches the younger approved
    // one and the pending one that expired 89 days ago.
    expect(await runRetention(d, { retentionDays: 90 })).toEqual({
      challenges: 0,
      sends: 0,
      batches: 1,
    });
    expect((await runRetention(d, { retentionDays: 30 })).challenges).toBe(2);
    expect(await exists(kept[0]!)).toEqual({ challenge: false, send: false, ledger: true });
    expect(await exists(kept[3]!)).toEqual({ challenge: false, send: false, ledger: true });
    for (const s of [kept[1]!, kept[2]!, ...kept.slice(4)]) {
      expect((await exists(s)).challenge).toBe(true);
    }
    expect(await tableCounts()).toEqual(before);
  });

  it('deletes in batches until one comes back short', async () => {
    await clear();
    for (let i = 0; i < 23; i++) await seed({ ageDays: 120, status: 'approved' });
    const recent = await seed({ ageDays: 2, status: 'approved' });
    const before = await tableCounts();

    const result = await runRetention(deps('batches').deps, { retentionDays: 90, batchSize: 5 });

    expect(result).toEqual({ challenges: 23, sends: 23, batches: 5 });
    const [left] = await h.sql<{ n: number }[]>`select count(*)::int as n from challenges`;
    expect(left?.n).toBe(1);
    expect((await exists(recent)).challenge).toBe(true);
    expect(await tableCounts()).toEqual(before);
  });

  it('two workers running it at once delete each row once, without errors', async () => {
    await clear();
    const total = 300;
    await h.sql`
      with c as (
        insert into challenges (id, organization_id, user_id, status, phone, ip, expires_at,
          send_count, current_send_id, created_at, updated_at)
        select gen_random_uuid(), ${org.id}, ${userId}, 'approved', ${PHONE}, '203.0.113.9',
          now() - interval '200 days', 1, gen_random_uuid(),
          now() - interval '200 days' + n * interval '1 second', now() - interval '200 days'
        from generate_series(1, ${total}) n
        returning id, current_send_id, created_at
      )
      insert into sms_sends (id, organization_id, challenge_id, seq, phone, status, created_at)
      select current_send_id, ${org.id}, id, 1, ${PHONE}, 'delivered', created_at from c`;
    const before = await tableCounts();
    // Each worker on a pool of its own, as two processes would be.
    const dbs = [createDb(h.databaseUrl, { max: 2 }), createDb(h.databaseUrl, { max: 2 })];
    try {
      const runs = await Promise.all(
        dbs.map((db, i) => {
          const metrics = createMetrics('worker');
          return runRetention(
            { db, logger: captureLogs(`retention-${i}`).logger, metrics },
            { retentionDays: 90, batchSize: 7 },
          );
        }),
      );
      expect(runs[0]!.challenges + runs[1]!.challenges).toBe(total);
      expect(runs[0]!.sends + runs[1]!.sends).toBe(total);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
    const [left] = await h.sql<{ c: number; s: number }[]>`
      select (select count(*) from challenges)::int as c, (select count(*) from sms_sends)::int as s`;
    expect(left).toEqual({ c: 0, s: 0 });
    expect(await tableCounts()).toEqual(before);
  });

  it('the worker runs the pass on its schedule, with CHALLENGE_RETENTION_DAYS', async () => {
    await clear();
    const old = await seed({ ageDays: 40, status: 'approved' });
    const young = await seed({ ageDays: 20, status: 'approved' });
    const logs = captureLogs('worker-retention');
    const config = { ...h.config, env: { ...h.config.env, CHALLENGE_RETENTION_DAYS: 30 } };
    const worker = await startWorker(config, {
      logger: logs.logger,
      metricsPort: 0,
      retentionIntervalMs: 100,
    });
    try {
      await h.waitFor(async () => !(await exists(old)).challenge, 10_000);
      expect(await exists(young)).toEqual({ challenge: true, send: true, ledger: true });
      const res = await fetch(`http://127.0.0.1:${worker.port}/metrics`);
      expect(await res.text()).toMatch(
        /twofa_retention_deleted_total\{table="challenges",service="worker"\} 1\b/,
      );
    } finally {
      await worker.close();
    }
  });
});
