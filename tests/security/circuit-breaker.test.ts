/**
 * Attack: SMS pumping through an allowed country: many codes to numbers the
 * attacker earns from, none ever verified. Control: when an organization's
 * share of verified codes in the last hour falls below a threshold, sends to
 * numbers that never verified pause (429 sms_paused, audit event, metric);
 * numbers that verified before keep working.
 *
 * History is seeded by inserting sms_sends rows straight into this file's
 * database (one challenge carries them all): driving hundreds of real logins
 * would only make the test slow. The breaker caches its stats for 2 s per
 * organization, so the tests move the harness clock past that after seeding.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, type JsonResponse, withHarness } from '../support/index.ts';
import {
  anotherInstance,
  END_USER_IP,
  finnishMobile,
  type Instance,
  nextCode,
  PASSWORD,
} from './support.ts';

const STATS_CACHE_MS = 2_000;

const h = withHarness();
let breakerOff: Instance;
let strict: Instance;

beforeAll(async () => {
  breakerOff = anotherInstance(h, { SMS_CIRCUIT_BREAKER: false });
  strict = anotherInstance(h, { SMS_BREAKER_MIN_SENT: 10, SMS_BREAKER_MIN_VERIFIED_RATIO: 0.5 });
});
afterAll(async () => {
  await breakerOff?.close();
  await strict?.close();
});

async function newOrg() {
  const org = await h.createOrganization({ name: 'Pumped Clinic', country: 'FI' });
  await h.topUp(org.id, 100);
  await h.enableTwoFactor(org.apiKey);
  // The user whose challenge carries the seeded history.
  const seedUser = await h.createUser(org.apiKey, {
    email: 'seed@example.com',
    password: PASSWORD,
  });
  const [challenge] = await h.sql<{ id: string }[]>`
    insert into challenges (organization_id, user_id, status, ip, expires_at)
    values (${org.id}, ${seedUser.id}, 'failed', ${END_USER_IP}, now())
    returning id`;
  return { ...org, seedChallenge: challenge!.id, seq: 0 };
}

type Org = Awaited<ReturnType<typeof newOrg>>;

/** Records `count` sends in the last hour, `verified` of them verified. */
async function seed(org: Org, count: number, verified: number, phone?: string) {
  const now = h.clock.now();
  for (let i = 0; i < count; i++) {
    org.seq += 1;
    await h.sql`
      insert into sms_sends (id, organization_id, challenge_id, seq, phone, status, verified_at, created_at)
      values (${randomUUID()}, ${org.id}, ${org.seedChallenge}, ${org.seq}, ${phone ?? finnishMobile()},
        'sent', ${i < verified ? now : null}, ${now})`;
  }
  h.clock.advance(STATS_CACHE_MS + 500);
}

async function userWithPhone(org: Org, phone = finnishMobile()) {
  const email = `${randomUUID()}@example.com`;
  await h.createUser(org.apiKey, { email, password: PASSWORD, phone });
  return { email, phone };
}

function login(key: string, email: string, via: Pick<Harness, 'request'> = h) {
  return via.request('POST', '/v1/logins', {
    key,
    body: { email, password: PASSWORD, ip: END_USER_IP },
  });
}

function expectPaused(res: JsonResponse) {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.body.code).toBe('sms_paused');
  expect(res.body.detail).toMatch(/verified/);
}

async function pausedMetric(): Promise<number> {
  const res = await h.request('GET', '/metrics');
  const match = /^twofa_sms_paused_total(?:\{[^}]*\})? (\d+)/m.exec(String(res.body));
  return match ? Number(match[1]) : 0;
}

async function counts(orgId: string) {
  const [row] = await h.sql<{ challenges: number; ledger: number; paused: number }[]>`
    select (select count(*)::int from challenges where organization_id = ${orgId}) as challenges,
      (select count(*)::int from sms_ledger where organization_id = ${orgId}) as ledger,
      (select count(*)::int from audit_events where organization_id = ${orgId} and type = 'sms_paused') as paused`;
  return row!;
}

describe('SMS pumping circuit breaker', () => {
  it('pauses sends to new numbers when few codes are verified, and keeps verified numbers working', async () => {
    const org = await newOrg();
    const known = finnishMobile();
    // 30 sends, 5 verified (17% < 20%), one of them to a number that verified before.
    await seed(org, 1, 1, known);
    await seed(org, 29, 4);
    const metricBefore = await pausedMetric();
    const before = await counts(org.id);

    const stranger = await userWithPhone(org);
    const refused = await login(org.apiKey, stranger.email);
    expectPaused(refused);
    expect(refused.body).toMatchObject({ sentLastHour: 30, verifiedLastHour: 5 });
    expectPaused(await login(org.apiKey, stranger.email));
    const after = await counts(org.id);
    expect(after.challenges).toBe(before.challenges);
    expect(after.ledger).toBe(before.ledger);
    expect(after.paused).toBe(1);
    expect(await pausedMetric()).toBe(metricBefore + 2);
    const audit = await h.request('GET', '/v1/audit-events?limit=5', { key: org.apiKey });
    const event = audit.body.events.find((e: { type: string }) => e.type === 'sms_paused');
    expect(event).toMatchObject({
      actor: 'system',
      data: { sentLastHour: 30, verifiedLastHour: 5 },
    });

    // A phone submitted for a challenge is a new number too.
    const noPhone = `${randomUUID()}@example.com`;
    await h.createUser(org.apiKey, { email: noPhone, password: PASSWORD });
    const started = await login(org.apiKey, noPhone);
    expect(started.body.challenge.status).toBe('phone_required');
    const submit = await h.request('POST', `/v1/challenges/${started.body.challenge.id}/phone`, {
      key: org.apiKey,
      body: { phone: finnishMobile() },
    });
    expectPaused(submit);

    // The number that verified before still gets its code.
    const regular = await userWithPhone(org, known);
    const ok = await login(org.apiKey, regular.email);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    await nextCode(h, known, 0);
  });

  it('lifts the pause when the verified share recovers', async () => {
    const org = await newOrg();
    await seed(org, 30, 0);
    const user = await userWithPhone(org);
    expectPaused(await login(org.apiKey, user.email));
    await seed(org, 10, 10); // 10 of 40 = 25%
    const res = await login(org.apiKey, user.email);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('leaves healthy organizations and small samples alone', async () => {
    const healthy = await newOrg();
    await seed(healthy, 30, 7); // 23%
    const a = await userWithPhone(healthy);
    expect((await login(healthy.apiKey, a.email)).status).toBe(200);

    const small = await newOrg();
    await seed(small, 29, 0); // under the 30-send minimum
    const b = await userWithPhone(small);
    expect((await login(small.apiKey, b.email)).status).toBe(200);

    // Another organization's bad numbers do not pause this one.
    const bad = await newOrg();
    await seed(bad, 40, 0);
    const c = await userWithPhone(healthy);
    expect((await login(healthy.apiKey, c.email)).status).toBe(200);
  });

  it('takes its thresholds from the environment', async () => {
    const org = await newOrg();
    await seed(org, 10, 4); // 40%: fine by default (under 30 sends), paused at 50% of 10
    const user = await userWithPhone(org);
    expectPaused(await login(org.apiKey, user.email, strict));
    expect((await login(org.apiKey, user.email)).status).toBe(200);
  });

  it('is off with SMS_CIRCUIT_BREAKER=off', async () => {
    const org = await newOrg();
    await seed(org, 50, 0);
    const user = await userWithPhone(org);
    expectPaused(await login(org.apiKey, user.email));
    const res = await login(org.apiKey, user.email, breakerOff);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.result).toBe('challenge_required');
  });
});
