/**
 * Attacks: user enumeration (does this email exist?) by answer or by timing,
 * and password guessing spread over many addresses. Controls: one answer for
 * every credential failure, a dummy hash for unknown emails, and a per-account
 * failure limiter that does not care where the guesses come from.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { type JsonResponse, withHarness } from '../support/index.ts';
import { PASSWORD } from './support.ts';

const FAILURES = 4;
const SAMPLES = 5;
// Every sample is a scrypt hash: slow by design, slower still on a busy machine.
const SLOW_TEST_MS = 120_000;

const h = withHarness({
  worker: false,
  env: {
    RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN: String(FAILURES),
    RATE_LIMIT_IP_LOGINS_PER_MINUTE: '1000',
  },
});
let org: { id: string; apiKey: string };

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Enumeration Clinic', country: 'FI' });
});

let ipCounter = 0;
const freshIp = () => `198.51.${100 + Math.floor(ipCounter / 250)}.${(ipCounter++ % 250) + 1}`;

function login(email: string, password: string, ip = freshIp()) {
  return h.request('POST', '/v1/logins', { key: org.apiKey, body: { email, password, ip } });
}

/** The answer without the members that differ on every request by design. */
function comparable(res: JsonResponse) {
  const { requestId: _r, instance: _i, ...rest } = res.body;
  return { status: res.status, contentType: res.headers.get('content-type'), body: rest };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

describe('credential failures', () => {
  it('answers a wrong email, a wrong password and a password-less user alike', async () => {
    await h.createUser(org.apiKey, { email: 'known@example.com', password: PASSWORD });
    await h.createUser(org.apiKey, { email: 'nopassword@example.com' });
    const wrongEmail = await login('nobody@example.com', PASSWORD);
    const wrongPassword = await login('known@example.com', 'not the password');
    const noPassword = await login('nopassword@example.com', PASSWORD);
    expect(wrongEmail.status).toBe(401);
    expect(wrongEmail.body.code).toBe('invalid_credentials');
    expect(comparable(wrongPassword)).toEqual(comparable(wrongEmail));
    expect(comparable(noPassword)).toEqual(comparable(wrongEmail));
    expect(wrongEmail.body.requestId).not.toBe(wrongPassword.body.requestId);
  });

  it(
    'takes about as long for an unknown email as for a wrong password',
    async () => {
      const known: string[] = [];
      for (let i = 0; i < SAMPLES; i++) {
        const email = `timing${i}@example.com`;
        await h.createUser(org.apiKey, { email, password: PASSWORD });
        known.push(email);
      }
      // Warm-up, so one-time costs (the dummy hash, connections) fall outside the samples.
      await login('warmup-unknown@example.com', 'x');
      await login(known[0]!, 'warm-up guess');

      const unknownTimes: number[] = [];
      const wrongTimes: number[] = [];
      // Interleaved, each account and email once, so load drifts hit both sides and no limiter trips.
      for (let i = 0; i < SAMPLES; i++) {
        let started = performance.now();
        expect((await login(`ghost${i}@example.com`, 'guess')).status).toBe(401);
        unknownTimes.push(performance.now() - started);
        started = performance.now();
        expect((await login(known[i]!, 'guess')).status).toBe(401);
        wrongTimes.push(performance.now() - started);
      }
      const ratio = median(unknownTimes) / median(wrongTimes);
      // A generous band: without the dummy hash an unknown email answers many times faster.
      expect(
        ratio,
        `unknown ${median(unknownTimes)} ms vs wrong ${median(wrongTimes)} ms`,
      ).toBeGreaterThan(0.5);
      expect(ratio).toBeLessThan(2);
    },
    SLOW_TEST_MS,
  );

  it('throttles repeated failures for one account even from many addresses', async () => {
    await h.createUser(org.apiKey, { email: 'target@example.com', password: PASSWORD });
    for (let i = 0; i < FAILURES; i++) {
      expect((await login('target@example.com', `guess-${i}`)).status).toBe(401);
    }
    // Spent: even the right password from a fresh address is refused for now.
    const limited = await login('Target@Example.com', PASSWORD);
    expect(limited.status).toBe(429);
    expect(limited.body).toMatchObject({ code: 'rate_limited', limit: 'account_failures' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Other accounts are not locked out by it.
    await h.createUser(org.apiKey, { email: 'bystander@example.com', password: PASSWORD });
    expect((await login('bystander@example.com', PASSWORD)).status).toBe(200);
  });

  it('throttles an unknown email the same way, so the limiter reveals nothing either', async () => {
    for (let i = 0; i < FAILURES; i++) {
      expect((await login('ghost-target@example.com', `guess-${i}`)).status).toBe(401);
    }
    const limited = await login('ghost-target@example.com', 'guess');
    expect(limited.status).toBe(429);
    expect(limited.body.limit).toBe('account_failures');
  });
});
