/**
 * Scenario 6: concurrency races, fired in parallel at the real API process
 * with two worker processes behind it. Every rule that must hold under a race
 * lives in one guarded statement; these tests would see the second winner.
 */
import { MAX_SENDS_PER_CHALLENGE, MAX_WRONG_ATTEMPTS } from '@twofa/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type SeededOrganization,
  seedOrganization,
  startChallenges,
  waitUntil,
  withStack,
} from '../support/index.ts';
import { auditSendPipeline, waitForSettled } from './audit.ts';

const stack = withStack({ workers: 2 });
let org: SeededOrganization;
const accepted: string[] = [];

beforeAll(async () => {
  org = await seedOrganization(stack, { users: 10, credits: 100, name: 'races' });
}, 60_000);

function countBy<T>(items: T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** A challenge for the user whose code has been sent, and that code. */
async function sentChallenge(user: { id: string; phone: string }) {
  const [start] = await startChallenges(stack, org, [user]);
  expect(start?.status).toBe(200);
  accepted.push(start!.challengeId!);
  const id = start!.challengeId!;
  await waitUntil('the code to be sent', async () => {
    const res = await stack.request('GET', `/v1/challenges/${id}`, { key: org.apiKey });
    return res.body.delivery?.status === 'sent';
  });
  const message = stack.twilio.messages.filter((m) => m.to === user.phone).at(-1);
  const code = /\b(\d{6})\b/.exec(message?.body ?? '')?.[1];
  expect(code).toMatch(/^\d{6}$/);
  return { id, code: code! };
}

/**
 * n requests at once. The connections are opened first (a round of cheap GETs), so
 * the burst reaches the API together rather than one TCP handshake at a time.
 */
async function parallel<T>(n: number, fn: () => Promise<T>): Promise<T[]> {
  await Promise.all(Array.from({ length: n }, () => stack.request('GET', '/health')));
  return Promise.all(Array.from({ length: n }, fn));
}

describe('races through the API', { timeout: 120_000 }, () => {
  it('approves once and issues one device token for 50 parallel right codes', async () => {
    const user = org.users[0]!;
    const { id, code } = await sentChallenge(user);
    const results = await parallel(50, () =>
      stack.request('POST', `/v1/challenges/${id}/verify`, { key: org.apiKey, body: { code } }),
    );
    expect(countBy(results, (r) => `${r.status} ${r.body.code ?? r.body.result}`)).toEqual({
      '200 authenticated': 1,
      '409 challenge_not_pending': 49,
    });
    const devices = await stack.sql`select id from trusted_devices where user_id = ${user.id}`;
    expect(devices.length).toBe(1);
  });

  it('locks after exactly five counted wrong codes out of 50 parallel ones', async () => {
    const { id, code } = await sentChallenge(org.users[1]!);
    const wrong = code === '000000' ? '000001' : '000000';
    const results = await parallel(50, () =>
      stack.request('POST', `/v1/challenges/${id}/verify`, {
        key: org.apiKey,
        body: { code: wrong },
      }),
    );
    // Four "wrong, N left", then the fifth locks, and every later one finds it locked.
    expect(countBy(results, (r) => `${r.status} ${r.body.code}`)).toEqual({
      '422 invalid_code': MAX_WRONG_ATTEMPTS - 1,
      '423 challenge_locked': 50 - (MAX_WRONG_ATTEMPTS - 1),
    });
    const [row] = await stack.sql<{ status: string; wrongAttempts: number }[]>`
      select status, wrong_attempts as "wrongAttempts" from challenges where id = ${id}`;
    expect(row).toEqual({ status: 'locked', wrongAttempts: MAX_WRONG_ATTEMPTS });
    const locked = await stack.sql`
      select id from audit_events where type = 'challenge_locked' and data->>'challengeId' = ${id}`;
    expect(locked.length).toBe(1);
    // The right code is no use now.
    const late = await stack.request('POST', `/v1/challenges/${id}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(late.status).toBe(423);
  });

  it('sends at most the cap under rounds of 20 parallel resends', async () => {
    const user = org.users[2]!;
    const { id } = await sentChallenge(user);
    const rounds: Record<string, number>[] = [];
    for (let round = 0; round <= MAX_SENDS_PER_CHALLENGE; round++) {
      const results = await parallel(20, () =>
        stack.request('POST', `/v1/challenges/${id}/resend`, { key: org.apiKey }),
      );
      rounds.push(countBy(results, (r) => `${r.status} ${r.body.code ?? r.body.status}`));
      // The API's clock can't be moved: age the last send past the cooldown instead.
      await stack.sql`
        update challenges set last_send_at = last_send_at - interval '31 seconds' where id = ${id}`;
    }
    // The first round is inside the cooldown of the first send; then one winner a round
    // until the cap, after which none.
    expect(rounds[0]).toEqual({ '429 resend_too_soon': 20 });
    for (const round of rounds.slice(1, MAX_SENDS_PER_CHALLENGE)) {
      // Losers see the winner's fresh send (too soon) or, in the last round, the cap.
      const { '202 pending': won, ...lost } = round;
      expect(won).toBe(1);
      expect(Object.keys(lost).every((k) => k.startsWith('429 '))).toBe(true);
    }
    expect(rounds[MAX_SENDS_PER_CHALLENGE]).toEqual({ '429 too_many_sends': 20 });
    await waitForSettled(stack.sql);
    const sends = await stack.sql`select id from sms_sends where challenge_id = ${id}`;
    expect(sends.length).toBe(MAX_SENDS_PER_CHALLENGE);
    expect(stack.twilio.messages.filter((m) => m.to === user.phone).length).toBe(
      MAX_SENDS_PER_CHALLENGE,
    );
  });

  it('sends exactly 3 of 10 parallel challenges on a balance of 3', async () => {
    const poor = await seedOrganization(stack, { users: 10, credits: 3, name: 'three credits' });
    const results = await startChallenges(stack, poor, poor.users, { concurrency: 10 });
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    accepted.push(...results.map((r) => r.challengeId!));
    await waitForSettled(stack.sql);

    const phones = new Set(poor.users.map((u) => u.phone));
    expect(stack.twilio.messages.filter((m) => phones.has(m.to)).length).toBe(3);
    const sends = await stack.sql<{ status: string }[]>`
      select status from sms_sends where organization_id = ${poor.id}`;
    expect(countBy([...sends], (s) => s.status)).toEqual({ sent: 3, insufficient_balance: 7 });
    const failed = await stack.sql`
      select id from challenges
      where organization_id = ${poor.id} and status = 'failed'
        and failure_reason = 'sms_balance_exhausted'`;
    expect(failed.length).toBe(7);
    const balance = await stack.request('GET', '/v1/sms-balance', { key: poor.apiKey });
    expect(balance.body.balance).toBe(0);
  });

  it('keeps the books straight', async () => {
    await waitForSettled(stack.sql);
    await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: accepted,
    });
  });
});
