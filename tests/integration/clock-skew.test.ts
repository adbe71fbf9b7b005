/**
 * API and worker clocks drift; the database's does not disagree with itself.
 * With workers whose clocks are hours off, the ledger still reads in time
 * order (its lines are stamped by the database) and a code still lives ten
 * minutes (a worker's clock never sets or judges a challenge's expiry). With
 * the API's clock hours off, a code lives ten minutes too: no more when it
 * runs ahead, no less when it runs behind.
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

describe('an API whose clock is hours off', () => {
  async function startChallenge(label: string, phone: string) {
    const org = await h.createOrganization({ name: `${label} Clinic`, country: 'FI' });
    await h.topUp(org.id, 5);
    await h.enableTwoFactor(org.apiKey);
    const user = await h.createUser(org.apiKey, { email: `${label}@example.com`, phone });
    const start = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user.id, ip: '203.0.113.80' },
    });
    expect(start.status).toBe(200);
    const code = await h.waitFor(async () => h.lastCodeFor(phone), 30_000);
    return {
      org,
      id: start.body.challenge.id as string,
      expiresAt: start.body.challenge.expiresAt,
      code,
    };
  }
  const verify = (apiKey: string, id: string, code: string) =>
    h.request('POST', `/v1/challenges/${id}/verify`, { key: apiKey, body: { code } });

  it('ahead: the code expires ten minutes from now by the database, not from the API', async () => {
    h.clock.advance(HOURS);
    try {
      const { org, id, expiresAt, code } = await startChallenge('ahead', '+358409100001');
      const left = Date.parse(expiresAt) - (await dbNow());
      expect(left).toBeLessThanOrEqual(10 * 60_000);
      expect(left).toBeGreaterThan(9 * 60_000);
      // Ten minutes later by the database, it is over, whatever the API's clock says.
      await h.sql`update challenges set expires_at = now() - interval '1 second' where id = ${id}`;
      const late = await verify(org.apiKey, id, code);
      expect(late.status, JSON.stringify(late.body)).toBe(410);
      expect(late.body.code).toBe('challenge_expired');
    } finally {
      h.clock.advance(-HOURS);
    }
  });

  it('behind: an expired code is refused although the API thinks it is early', async () => {
    h.clock.advance(-HOURS);
    try {
      const { org, id, code } = await startChallenge('behind', '+358409100002');
      // Ten minutes and a second pass, by the database's clock only.
      await h.sql`
        update challenges set expires_at = expires_at - interval '10 minutes 1 second',
          last_send_at = last_send_at - interval '10 minutes 1 second'
        where id = ${id}`;
      const late = await verify(org.apiKey, id, code);
      expect(late.status, JSON.stringify(late.body)).toBe(410);
      expect(late.body.code).toBe('challenge_expired');
    } finally {
      h.clock.advance(HOURS);
    }
  });
});
