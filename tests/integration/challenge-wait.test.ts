/**
 * `GET /v1/challenges/{id}?wait=N` holds the answer until the challenge's
 * status or delivery changes, or N seconds pass (issue 10 item 17), and the
 * small ones of item 18: a 401 says how to authenticate, a start's
 * `expiresAt` is the one a later read gives, "1 attempt remains".
 */

import { startWorker, type WorkerRuntime } from '@twofa/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/index.ts';

let h: Harness;
let worker: WorkerRuntime | null = null;
let org: { id: string; apiKey: string };
let n = 0;

beforeAll(async () => {
  h = await createHarness({ worker: false });
  org = await h.createOrganization({ name: 'Waiting Room', country: 'FI' });
  await h.enableTwoFactor(org.apiKey);
});
afterAll(async () => {
  await worker?.close();
  await h?.close();
});

async function start() {
  n++;
  const user = await h.createUser(org.apiKey, {
    email: `wait${n}@example.com`,
    phone: `+35840800${String(n).padStart(4, '0')}`,
  });
  const res = await h.request('POST', '/v1/challenges', {
    key: org.apiKey,
    body: { userId: user.id, ip: `203.0.113.${100 + n}` },
  });
  expect(res.status).toBe(200);
  return res.body.challenge as { id: string; status: string; expiresAt: string };
}

describe('GET /v1/challenges/{id}?wait=N', () => {
  it('answers at once without wait, and refuses wait outside 1..10', async () => {
    const challenge = await start();
    for (const wait of ['0', '11', '-1', '2.5', 'soon']) {
      const res = await h.request('GET', `/v1/challenges/${challenge.id}?wait=${wait}`, {
        key: org.apiKey,
      });
      expect(res.status, wait).toBe(400);
      expect(res.body.code).toBe('invalid_request');
    }
  });

  it('holds the answer until nothing changes for N seconds', async () => {
    const challenge = await start();
    const t0 = Date.now();
    const res = await h.request('GET', `/v1/challenges/${challenge.id}?wait=1`, {
      key: org.apiKey,
    });
    const elapsed = Date.now() - t0;
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('pending');
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(elapsed).toBeLessThan(3_000);
  });

  it('answers as soon as the status changes: a start with no credit learns failed', async () => {
    // No credit and no worker yet: the start answers pending, queued.
    const challenge = await start();
    expect(challenge.status).toBe('pending');
    const t0 = Date.now();
    const held = h.request('GET', `/v1/challenges/${challenge.id}?wait=10`, { key: org.apiKey });
    await new Promise((resolve) => setTimeout(resolve, 500));
    worker = await startWorker(h.config, { metricsPort: 0 });
    const res = await held;
    const elapsed = Date.now() - t0;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'failed', failureReason: 'sms_balance_exhausted' });
    expect(elapsed).toBeGreaterThanOrEqual(500);
    expect(elapsed).toBeLessThan(8_000);
  });
});

describe('small ones', () => {
  beforeAll(async () => {
    await h.topUp(org.id, 10);
  });

  it('a 401 carries WWW-Authenticate', async () => {
    for (const key of [null, 'not-a-key-0123456789']) {
      const res = await h.request('GET', '/v1/settings/password', { key });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    }
  });

  it("a start's expiresAt is exactly the one a later read gives", async () => {
    const challenge = await start();
    // After the worker has charged and sent the code, too.
    const read = await h.waitFor(async () => {
      const res = await h.request('GET', `/v1/challenges/${challenge.id}`, { key: org.apiKey });
      return res.body.delivery?.status === 'sent' ? res : null;
    }, 20_000);
    expect(read.body.expiresAt).toBe(challenge.expiresAt);
    const [row] = await h.sql<{ expiresAt: Date }[]>`
      select expires_at as "expiresAt" from challenges where id = ${challenge.id}`;
    expect(row!.expiresAt.toISOString()).toBe(challenge.expiresAt);
  });

  it('a wrong code with one attempt left says "1 attempt remains"', async () => {
    const challenge = await start();
    let last: any;
    for (let i = 0; i < 4; i++) {
      last = await h.request('POST', `/v1/challenges/${challenge.id}/verify`, {
        key: org.apiKey,
        body: { code: String(200000 + i) },
      });
    }
    expect(last.body.code).toBe('invalid_code');
    expect(last.body.attemptsRemaining).toBe(1);
    expect(last.body.detail).toContain('1 attempt remains.');
    expect(last.body.detail).not.toContain('1 attempt remain.');
  });
});
