/**
 * API and worker clocks drift; the database's does not disagree with itself.
 * With workers whose clocks are hours off, the ledger still reads in time
 * order (its lines are stamped by the database) and a code still lives ten
 * minutes (a worker's clock never sets or judges a challenge's expiry).
 */
import type { Clock } from '@twofa/core';
import { startWorker, type WorkerRuntime } from '@twofa/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/index.ts';

const HOURS = 3 * 3600 * 1000;

const skewed = (offsetMs: number): Clock => ({ now: () => new Date(Date.now() + offsetMs) });

let h: Harness;
const workers: WorkerRuntime[] = [];

beforeAll(async () => {
  h = await createHarness({ worker: false });
  for (const offset of [HOURS, -HOURS]) {
    workers.push(await startWorker(h.config, { clock: skewed(offset), metricsPort: 0 }));
  }
});
afterAll(async () => {
  for (const w of workers) await w.close();
  await h?.close();
});

async function dbNow(): Promise<number> {
  const [row] = await h.sql<{ now: Date }[]>`select now() as now`;
  return row!.now.getTime();
}

describe('workers with skewed clocks', () => {
  it('the ledger reads in time order and each code lives ten minutes', async () => {
    const org = await h.createOrganization({ name: 'Skewed Clinic', country: 'FI' });
    await h.topUp(org.id, 10);
    await h.enableTwoFactor(org.apiKey);
    const phones: string[] = [];
    const challengeIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const phone = `+35840900${String(i).padStart(4, '0')}`;
      phones.push(phone);
      const user = await h.createUser(org.apiKey, { email: `skew${i}@example.com`, phone });
      const start = await h.request('POST', '/v1/challenges', {
        key: org.apiKey,
        body: { userId: user.id, ip: `203.0.113.${60 + i}` },
      });
      expect(start.status).toBe(200);
      challengeIds.push(start.body.challenge.id);
    }
    await h.waitFor(
      async () => phones.every((p) => h.twilio.messages.some((m) => m.to === p)),
      30_000,
    );
    const [sent] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from sms_sends where organization_id = ${org.id} and status = 'sent'`;
    expect(sent!.n).toBe(6);
    await h.topUp(org.id, 5);

    const before = await dbNow();
    const balance = await h.request('GET', '/v1/sms-balance', { key: org.apiKey });
    const ledger = balance.body.ledger as { reason: string; createdAt: string }[];
    expect(ledger.map((l) => l.reason)).toEqual(['top_up', ...Array(6).fill('sms_sent'), 'top_up']);
    // Newest first, and the times say so too.
    const times = ledger.map((l) => new Date(l.createdAt).getTime());
    for (let i = 1; i < times.length; i++) {
      expect(times[i - 1], JSON.stringify(ledger)).toBeGreaterThanOrEqual(times[i]!);
    }
    // Every entry is from the last minute by the database's clock, none hours off.
    for (const t of times) {
      expect(before - t).toBeLessThan(60_000);
      expect(t - before).toBeLessThan(1_000);
    }

    // Ten minutes from the request that queued the send; the worker did not move it.
    const rows = await h.sql<{ leftMs: number; sentAgoMs: number }[]>`
      select extract(epoch from (c.expires_at - now())) * 1000 as "leftMs",
        extract(epoch from (now() - s.sending_at)) * 1000 as "sentAgoMs"
      from challenges c join sms_sends s on s.id = c.current_send_id
      where c.id in ${h.sql(challengeIds)}`;
    expect(rows).toHaveLength(6);
    for (const row of rows) {
      expect(Number(row.leftMs)).toBeLessThanOrEqual(10 * 60_000);
      expect(Number(row.leftMs)).toBeGreaterThan(9 * 60_000);
      expect(Math.abs(Number(row.sentAgoMs))).toBeLessThan(60_000);
    }
  });
});
