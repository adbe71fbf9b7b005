/**
 * Scenario 5: the provider fails. 5xx and 429 are retried a bounded number of
 * times with exponential backoff (counted per send at an HTTP tap in front of
 * the fake Twilio), then the send fails, refunded, with the provider's code; a
 * definitive 4xx is never retried and is refunded; a timeout after the request
 * went out is `unknown`, charged and never resent.
 */
import { SEND_CODE_ATTEMPTS } from '@twofa/queue';
import { describe, expect, it } from 'vitest';
import {
  type SeededOrganization,
  seedOrganization,
  startChallenges,
  waitUntil,
  withStack,
} from '../support/index.ts';
import { auditSendPipeline, waitForSettled } from './audit.ts';

const PER_CASE = 50;
const BASE_DELAY_MS = 200;

const stack = withStack({
  workers: 2,
  twilioTap: true,
  env: {
    SEND_RETRY_BASE_DELAY_MS: String(BASE_DELAY_MS),
    TWILIO_TIMEOUT_MS: '1500',
    // This file checks the `unknown` state itself; settling it from the provider's record
    // is tests/integration/settle-unknown and worker-crash.
    SMS_SETTLE_AFTER_MS: '600000',
  },
});
const accepted: string[] = [];

/** Message-creation requests the fake was sent, per send id, oldest first. */
function requestsBySend(): Map<string, { status: number; at: number }[]> {
  const bySend = new Map<string, { status: number; at: number }[]>();
  for (const r of stack.tap!.requests) {
    if (r.method !== 'POST' || !r.path.endsWith('/Messages.json')) continue;
    const callback = new URLSearchParams(r.body).get('StatusCallback');
    const sendId = callback ? new URL(callback).searchParams.get('sendId') : null;
    if (!sendId) throw new Error(`a message request without its send id: ${r.body}`);
    const list = bySend.get(sendId) ?? [];
    list.push({ status: r.status, at: r.at });
    bySend.set(sendId, list);
  }
  return bySend;
}

async function sendsOf(org: SeededOrganization) {
  return stack.sql<
    { id: string; challengeId: string; status: string; errorCode: string | null }[]
  >`select id, challenge_id as "challengeId", status, error_code as "errorCode"
    from sms_sends where organization_id = ${org.id}`;
}

async function balanceOf(org: SeededOrganization): Promise<number> {
  const res = await stack.request('GET', '/v1/sms-balance', { key: org.apiKey });
  return res.body.balance;
}

async function runCase(name: string): Promise<SeededOrganization> {
  const org = await seedOrganization(stack, { users: PER_CASE, credits: PER_CASE, name });
  const started = await startChallenges(stack, org);
  expect(started.filter((s) => s.status !== 200)).toEqual([]);
  accepted.push(...started.map((s) => s.challengeId!));
  return org;
}

describe('provider failures', { timeout: 180_000 }, () => {
  it('retries 5xx a bounded number of times with backoff, then fails refunded with the code', async () => {
    stack.twilio.setMode({ kind: 'error', status: 500, code: 20500 });
    const org = await runCase('5xx');
    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    stack.twilio.setMode({ kind: 'ok' });

    const requests = requestsBySend();
    const sends = await sendsOf(org);
    for (const send of sends) {
      const calls = requests.get(send.id) ?? [];
      // Every attempt BullMQ allows, and not one more.
      expect(calls.map((c) => c.status)).toEqual(Array(SEND_CODE_ATTEMPTS).fill(500));
      // Each wait is at least the jittered exponential delay's floor: base * 2^(n-1) / 2.
      for (let i = 1; i < calls.length; i++) {
        const floor = (BASE_DELAY_MS * 2 ** (i - 1)) / 2;
        expect(calls[i]!.at - calls[i - 1]!.at).toBeGreaterThanOrEqual(floor - 5);
      }
      expect(send).toMatchObject({ status: 'failed', errorCode: '20500' });
    }
    const view = await stack.request('GET', `/v1/challenges/${sends[0]!.challengeId}`, {
      key: org.apiKey,
    });
    expect(view.body).toMatchObject({
      status: 'failed',
      failureReason: 'sms_provider_unavailable',
      delivery: { status: 'failed', errorCode: '20500' },
    });
    // Every credit came back.
    expect(await balanceOf(org)).toBe(PER_CASE);
  });

  it('retries 429s with backoff and sends once the provider takes messages again', async () => {
    stack.twilio.setMode({ kind: 'error', status: 429, code: 20429 });
    // All sends start together (the queue held them), so each is throttled and retried
    // at least once long before any could run out of attempts.
    const queue = stack.sendQueue();
    await queue.pause();
    const org = await runCase('429');
    await queue.resume();
    const ids = new Set((await sendsOf(org)).map((s) => s.id));
    // Let every send be throttled and retried at least once, then let them through.
    await waitUntil(
      'every send retried',
      () => {
        const requests = requestsBySend();
        return [...ids].every((id) => (requests.get(id)?.length ?? 0) >= 2);
      },
      { intervalMs: 20 },
    );
    stack.twilio.setMode({ kind: 'ok' });
    await waitForSettled(stack.sql, { timeoutMs: 60_000 });

    const requests = requestsBySend();
    for (const send of await sendsOf(org)) {
      const statuses = (requests.get(send.id) ?? []).map((c) => c.status);
      expect(statuses.length).toBeLessThanOrEqual(SEND_CODE_ATTEMPTS);
      // Throttled until it went through, once.
      expect(statuses.slice(0, -1).every((s) => s === 429)).toBe(true);
      expect(statuses.at(-1)).toBe(201);
      expect(send.status).toBe('sent');
    }
    expect(await balanceOf(org)).toBe(0);
  });

  it('never retries a definitive 4xx and refunds it', async () => {
    stack.twilio.setMode({ kind: 'error', status: 400, code: 21211 });
    const org = await runCase('4xx');
    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    stack.twilio.setMode({ kind: 'ok' });

    const requests = requestsBySend();
    const sends = await sendsOf(org);
    for (const send of sends) {
      expect((requests.get(send.id) ?? []).map((c) => c.status)).toEqual([400]);
      expect(send).toMatchObject({ status: 'failed', errorCode: '21211' });
    }
    const view = await stack.request('GET', `/v1/challenges/${sends[0]!.challengeId}`, {
      key: org.apiKey,
    });
    expect(view.body).toMatchObject({
      status: 'failed',
      failureReason: 'sms_rejected',
      delivery: { status: 'failed', errorCode: '21211' },
    });
    expect(await balanceOf(org)).toBe(PER_CASE);
  });

  it('marks a timed-out send unknown, keeps it charged and never resends it', async () => {
    stack.twilio.setMode({ kind: 'hang' });
    const org = await runCase('timeout');
    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    stack.twilio.setMode({ kind: 'ok' });

    const requests = requestsBySend();
    const sends = await sendsOf(org);
    for (const send of sends) {
      expect(requests.get(send.id)?.length).toBe(1);
      expect(send.status).toBe('unknown');
    }
    const view = await stack.request('GET', `/v1/challenges/${sends[0]!.challengeId}`, {
      key: org.apiKey,
    });
    expect(view.body).toMatchObject({ status: 'pending', delivery: { status: 'unknown' } });
    expect(await balanceOf(org)).toBe(0);
  });

  it('keeps the books straight across all of it', async () => {
    const report = await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: accepted,
    });
    expect(report.byStatus).toEqual({
      failed: 2 * PER_CASE,
      sent: PER_CASE,
      unknown: PER_CASE,
    });
    expect(report.refunds).toBe(2 * PER_CASE);
  });
});
