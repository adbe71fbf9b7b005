import { beforeAll, describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';
import { parsePrometheus, type Sample, sampleValue } from './operator-support.ts';

const h = withHarness({ env: { DB_POOL_SIZE: '3', WORKER_CONCURRENCY: '2' } });
let org: { id: string; apiKey: string };

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Thrifty Clinic', country: 'FI' });
  await h.enableTwoFactor(org.apiKey);
});

let users = 0;
/** One login for a fresh user; resolves once its code is out (one credit spent). */
async function spendOne(): Promise<void> {
  users++;
  const email = `lb${users}@example.com`;
  await h.createUser(org.apiKey, {
    email,
    password: 'pw-0123456789',
    phone: `+3584077700${String(users).padStart(2, '0')}`,
  });
  const login = await h.request('POST', '/v1/logins', {
    key: org.apiKey,
    body: { email, password: 'pw-0123456789', ip: '198.51.100.40' },
  });
  const id = login.body.challenge.id;
  await h.waitFor(async () => {
    const res = await h.request('GET', `/v1/challenges/${id}`, { key: org.apiKey });
    return res.body.delivery?.status === 'sent';
  });
}

async function balance() {
  const res = await h.request('GET', '/v1/sms-balance', { key: org.apiKey });
  expect(res.status).toBe(200);
  return res.body as { balance: number; lowBalance: boolean; lowBalanceThreshold: number };
}

async function lowBalanceEvents() {
  const res = await h.request('GET', '/v1/audit-events?limit=100', { key: org.apiKey });
  return (res.body.events as { type: string; actor: string; data: Record<string, unknown> }[])
    .filter((e) => e.type === 'sms_balance_low')
    .reverse();
}

async function workerMetrics(): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${h.worker?.port}/metrics`);
  return parsePrometheus(await res.text());
}

const crossings = async () => sampleValue(await workerMetrics(), 'twofa_sms_balance_low_total');

describe('low SMS balance', () => {
  it('marks the crossing below the threshold once, with an audit event and a metric', async () => {
    await h.topUp(org.id, 21);
    const start = await crossings();

    await spendOne(); // 21 -> 20: at the threshold, not below it
    expect(await balance()).toMatchObject({
      balance: 20,
      lowBalance: false,
      lowBalanceThreshold: 20,
    });
    expect(await lowBalanceEvents()).toHaveLength(0);
    expect(await crossings()).toBe(start);

    await spendOne(); // 20 -> 19: crossed
    expect(await balance()).toMatchObject({ balance: 19, lowBalance: true });
    const events = await lowBalanceEvents();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: 'system', data: { balance: 19, threshold: 20 } });
    expect(await crossings()).toBe(start + 1);

    await spendOne(); // 19 -> 18: still low, no new mark
    expect(await balance()).toMatchObject({ balance: 18, lowBalance: true });
    expect(await lowBalanceEvents()).toHaveLength(1);
    expect(await crossings()).toBe(start + 1);

    // The API's scrape lists the organization with its credits.
    const api = parsePrometheus(await (await h.app.request('/metrics')).text());
    expect(sampleValue(api, 'twofa_sms_balance_low_credits', { organization_id: org.id })).toBe(18);
  });

  it('marks a new crossing after a top-up lifts the balance back to the threshold', async () => {
    const start = await crossings();
    await h.topUp(org.id, 2); // 18 -> 20
    expect(await balance()).toMatchObject({ balance: 20, lowBalance: false });
    const api = parsePrometheus(await (await h.app.request('/metrics')).text());
    expect(sampleValue(api, 'twofa_sms_balance_low_credits', { organization_id: org.id })).toBe(0);

    await spendOne(); // 20 -> 19: crossed again
    expect(await balance()).toMatchObject({ balance: 19, lowBalance: true });
    const events = await lowBalanceEvents();
    expect(events).toHaveLength(2);
    expect(events[1]?.data).toMatchObject({ balance: 19, threshold: 20 });
    expect(await crossings()).toBe(start + 1);
  });
});
