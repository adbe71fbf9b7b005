import { randomUUID } from 'node:crypto';
import { loadConfig } from '@twofa/config';
import type { SmsProvider } from '@twofa/sms';
import { startWorker, type WorkerRuntime } from '@twofa/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, captureLogs, testEnv, uniquePrefix, withHarness } from '../support/index.ts';
import { find, parsePrometheus, type Sample, sampleValue } from './operator-support.ts';

const h = withHarness({ env: { DB_POOL_SIZE: '3', WORKER_CONCURRENCY: '3' } });
let org: { id: string; apiKey: string };
const extraWorkers: WorkerRuntime[] = [];

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Metrics Clinic', country: 'FI' });
  await h.topUp(org.id, 100);
  await h.enableTwoFactor(org.apiKey);
});
afterAll(async () => {
  for (const worker of extraWorkers) await worker.close();
});

async function scrapeApi(): Promise<Sample[]> {
  const res = await h.app.request('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

async function scrapeWorker(port = h.worker?.port): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  expect(res.status).toBe(200);
  return parsePrometheus(await res.text());
}

let userCount = 0;
async function userWithPhone() {
  userCount++;
  const phone = `+3584012300${String(userCount).padStart(2, '0')}`;
  const email = `user${userCount}@example.com`;
  const user = await h.createUser(org.apiKey, { email, password: 'pw-0123456789', phone });
  return { ...user, email, phone };
}

async function login(email: string) {
  const res = await h.request('POST', '/v1/logins', {
    key: org.apiKey,
    body: { email, password: 'pw-0123456789', ip: '198.51.100.7' },
  });
  expect(res.status).toBe(200);
  return res.body;
}

async function waitForSent(challengeId: string) {
  return h.waitFor(async () => {
    const res = await h.request('GET', `/v1/challenges/${challengeId}`, { key: org.apiKey });
    return res.body.delivery?.status === 'sent' ? res.body : null;
  });
}

describe('API /metrics', () => {
  it('counts HTTP requests and their latency by route template and status', async () => {
    const user = await userWithPhone();
    const before = await scrapeApi();
    const labels = { method: 'GET', route: '/v1/users/:userId', status: '200' };
    const notFound = { method: 'GET', route: '/v1/users/:userId', status: '404' };

    await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    await h.request('GET', `/v1/users/${randomUUID()}`, { key: org.apiKey });
    const stray = `/no-such-page-${randomUUID()}`;
    await h.request('GET', stray);

    const after = await scrapeApi();
    const delta = (name: string, l: Record<string, string>) =>
      sampleValue(after, name, l) - sampleValue(before, name, l);
    expect(delta('twofa_http_requests_total', labels)).toBe(2);
    expect(delta('twofa_http_requests_total', notFound)).toBe(1);
    expect(delta('twofa_http_request_duration_seconds_count', labels)).toBe(2);
    expect(sampleValue(after, 'twofa_http_request_duration_seconds_sum', labels)).toBeGreaterThan(
      0,
    );
    // Buckets are cumulative and end at +Inf, equal to the count.
    const buckets = find(after, 'twofa_http_request_duration_seconds_bucket', labels);
    expect(buckets.length).toBeGreaterThan(3);
    expect(buckets.find((b) => b.labels.le === '+Inf')?.value).toBe(
      sampleValue(after, 'twofa_http_request_duration_seconds_count', labels),
    );
    // Route labels are templates: no raw ids or stray paths become series.
    const routes = new Set(find(after, 'twofa_http_requests_total').map((s) => s.labels.route));
    for (const route of routes) {
      expect(route).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}/);
      expect(route).not.toContain('no-such-page');
    }
    expect(after.every((s) => s.labels.service === undefined || s.labels.service === 'api')).toBe(
      true,
    );
  });

  it('counts challenges started by policy outcome and verify results', async () => {
    const withPhone = await userWithPhone();
    const exempt = await userWithPhone();
    const patched = await h.request('PATCH', `/v1/users/${exempt.id}`, {
      key: org.apiKey,
      body: { twoFactorDisabled: true },
    });
    expect(patched.status).toBe(200);
    const noPhone = `nophone${userCount}@example.com`;
    await h.createUser(org.apiKey, { email: noPhone, password: 'pw-0123456789' });
    const before = await scrapeApi();

    const started = await login(withPhone.email);
    expect(started.result).toBe('challenge_required');
    expect((await login(exempt.email)).reason).toBe('user_exempt');
    expect((await login(noPhone)).challenge.status).toBe('phone_required');

    await waitForSent(started.challenge.id);
    const code = h.lastCodeFor(withPhone.phone) as string;
    const wrong = code === '000000' ? '111111' : '000000';
    const verify = (c: string) =>
      h.request('POST', `/v1/challenges/${started.challenge.id}/verify`, {
        key: org.apiKey,
        body: { code: c },
      });
    expect((await verify(wrong)).status).toBe(422);
    expect((await verify(code)).status).toBe(200);
    expect((await verify(code)).status).toBe(409);

    const after = await scrapeApi();
    const delta = (name: string, l: Record<string, string>) =>
      sampleValue(after, name, l) - sampleValue(before, name, l);
    expect(delta('twofa_challenges_started_total', { outcome: 'pending' })).toBe(1);
    expect(delta('twofa_challenges_started_total', { outcome: 'user_exempt' })).toBe(1);
    expect(delta('twofa_challenges_started_total', { outcome: 'phone_required' })).toBe(1);
    expect(delta('twofa_verify_results_total', { result: 'wrong' })).toBe(1);
    expect(delta('twofa_verify_results_total', { result: 'approved' })).toBe(1);
    expect(delta('twofa_verify_results_total', { result: 'not_pending' })).toBe(1);
  });

  it('reports queue depth by state at scrape time', async () => {
    const queue = h.services.sendQueue.name;
    const before = await scrapeApi();
    for (const state of ['waiting', 'active', 'delayed', 'failed']) {
      expect(find(before, 'twofa_queue_jobs', { queue, state }), state).toHaveLength(1);
    }
    // A delayed job the worker will not touch for an hour; its send does not exist.
    const jobId = randomUUID();
    await h.services.sendQueue.add('send-code', { sendId: jobId }, { jobId, delay: 3_600_000 });
    try {
      const after = await scrapeApi();
      expect(sampleValue(after, 'twofa_queue_jobs', { queue, state: 'delayed' })).toBe(
        sampleValue(before, 'twofa_queue_jobs', { queue, state: 'delayed' }) + 1,
      );
      const workerSamples = await scrapeWorker();
      expect(sampleValue(workerSamples, 'twofa_queue_jobs', { queue, state: 'delayed' })).toBe(
        sampleValue(after, 'twofa_queue_jobs', { queue, state: 'delayed' }),
      );
    } finally {
      await h.services.sendQueue.remove(jobId);
    }
  });

  it('shows organizations below their low-balance threshold, only those that topped up', async () => {
    const low = await h.createOrganization({ name: 'Low Clinic' });
    await h.topUp(low.id, 5);
    const unused = await h.createOrganization({ name: 'Never Topped Up' });
    const series = (samples: Sample[]) =>
      find(samples, 'twofa_sms_balance_low_credits').map((s) => s.labels.organization_id);

    const first = await scrapeApi();
    expect(sampleValue(first, 'twofa_sms_balance_low_credits', { organization_id: low.id })).toBe(
      5,
    );
    expect(series(first)).not.toContain(unused.id);
    // Org with 100 credits: not low.
    expect(series(first)).not.toContain(org.id);
    expect(sampleValue(first, 'twofa_sms_balance_low_organizations')).toBe(series(first).length);

    await h.topUp(low.id, 50);
    const second = await scrapeApi();
    expect(series(second)).not.toContain(low.id);
    expect(sampleValue(second, 'twofa_sms_balance_low_organizations')).toBe(
      sampleValue(first, 'twofa_sms_balance_low_organizations') - 1,
    );
  });
});

describe('worker /metrics', () => {
  it('counts codes sent by provider outcome, job durations, and shows its concurrency', async () => {
    const before = await scrapeWorker();
    const user = await userWithPhone();
    const started = await login(user.email);
    await waitForSent(started.challenge.id);

    // A refusal (Twilio 21211) is counted under its own outcome.
    h.twilio.setMode({ kind: 'error', status: 400, code: 21211, times: 1 });
    const refusedUser = await userWithPhone();
    const refused = await login(refusedUser.email);
    await h.waitFor(async () => {
      const res = await h.request('GET', `/v1/challenges/${refused.challenge.id}`, {
        key: org.apiKey,
      });
      return res.body.failureReason === 'sms_rejected';
    });

    const after = await h.waitFor(async () => {
      // The counter moves in the job's finally, just after the database write.
      const samples = await scrapeWorker();
      const rejected = sampleValue(samples, 'twofa_codes_sent_total', { outcome: 'rejected' });
      return rejected > sampleValue(before, 'twofa_codes_sent_total', { outcome: 'rejected' })
        ? samples
        : null;
    });
    const delta = (name: string, l: Record<string, string>) =>
      sampleValue(after, name, l) - sampleValue(before, name, l);
    expect(delta('twofa_codes_sent_total', { outcome: 'sent' })).toBeGreaterThanOrEqual(1);
    expect(delta('twofa_codes_sent_total', { outcome: 'rejected' })).toBe(1);
    expect(
      delta('twofa_job_duration_seconds_count', { queue: 'send-code', outcome: 'sent' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      delta('twofa_job_duration_seconds_count', { queue: 'send-code', outcome: 'rejected' }),
    ).toBe(1);
    expect(sampleValue(after, 'twofa_worker_concurrency')).toBe(3);
    expect(find(after, 'twofa_worker_concurrency')[0]?.labels.service).toBe('worker');
  });

  it('shows the Twilio account balance, polled in the background', async () => {
    // The fake Twilio's Balance.json answers 20.00 USD; the first poll runs at start.
    const samples = await h.waitFor(async () => {
      const s = await scrapeWorker();
      return find(s, 'twofa_sms_provider_account_balance').length ? s : null;
    });
    expect(
      sampleValue(samples, 'twofa_sms_provider_account_balance', {
        provider: 'twilio',
        currency: 'USD',
      }),
    ).toBe(20);
    expect(
      sampleValue(samples, 'twofa_sms_provider_account_balance_updated_seconds', {
        provider: 'twilio',
      }),
    ).toBeGreaterThan(Date.now() / 1000 - 3600);
  });

  it('reads the balance from its cache at scrape time, and refreshes it on its interval', async () => {
    let calls = 0;
    const stub: SmsProvider = {
      name: 'stub',
      async send() {
        throw new Error('not used');
      },
      async balance() {
        calls++;
        return { balance: 100 - calls, currency: 'EUR' };
      },
    };
    const env = testEnv(h.databaseUrl, uniquePrefix('bal'), h.twilio.url, {
      DB_POOL_SIZE: '2',
      WORKER_CONCURRENCY: '1',
    });
    const boot = (providerBalanceIntervalMs: number) =>
      startWorker(loadConfig(env), {
        sms: stub,
        metricsPort: 0,
        logger: captureLogs('worker').logger,
        reconcileIntervalMs: 3_600_000,
        providerBalanceIntervalMs,
      });

    const slow = await boot(3_600_000);
    extraWorkers.push(slow);
    await h.waitFor(async () => calls === 1);
    for (let i = 0; i < 3; i++) {
      const s = await scrapeWorker(slow.port ?? 0);
      expect(sampleValue(s, 'twofa_sms_provider_account_balance', { provider: 'stub' })).toBe(99);
    }
    expect(calls).toBe(1);
    await slow.close();
    extraWorkers.pop();

    const fast = await boot(20);
    extraWorkers.push(fast);
    // Each poll lowers the stub's balance by one: the gauge follows without any scrape calling it.
    const moved = await h.waitFor(async () => {
      const s = await scrapeWorker(fast.port ?? 0);
      const value = sampleValue(s, 'twofa_sms_provider_account_balance', {
        provider: 'stub',
        currency: 'EUR',
      });
      return value > 0 && value < 97 ? value : null;
    });
    expect(calls).toBeGreaterThanOrEqual(100 - moved);
    await fast.close();
    extraWorkers.pop();
  });
});

it('answers the scraper without a key and shows no secret', async () => {
  // /metrics is for the scraper on the private network.
  const res = await h.request('GET', '/metrics');
  expect(res.status).toBe(200);
  expect(typeof res.body).toBe('string');
  expect(res.body).not.toContain(ADMIN_KEY);
  expect(res.body).not.toContain(org.apiKey);
});
