/**
 * A send charged on its first attempt, left `retrying` by a Twilio outage, and
 * then no longer needed (its challenge locked by wrong codes, expired, or
 * replaced by a resend) is `failed`/`not_needed` when its retry runs: that
 * retry refunds the credit in the same statement. Every resend during an
 * outage must not burn a credit. The end-of-scenario audit checks the ledger.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  type SeededOrganization,
  type Stack,
  seedOrganization,
  startChallenges,
  startStack,
  waitUntil,
} from '../support/index.ts';
import { auditSendPipeline, waitForSettled } from './audit.ts';

const PER_PATH = 8;

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 1, env: { SEND_RETRY_BASE_DELAY_MS: '300' } });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

async function sendStatuses(org: SeededOrganization) {
  return stack.sql<{ status: string; n: number }[]>`
    select status, count(*)::int as n from sms_sends where organization_id = ${org.id}
    group by status`;
}

describe('a charged send no longer needed after a provider retry', { timeout: 180_000 }, () => {
  it('is refunded whether its challenge was locked, expired or resent', async () => {
    const org = await seedOrganization(stack, { users: PER_PATH * 3, credits: PER_PATH * 3 });
    stack.twilio.setMode({ kind: 'error', status: 503, code: 20503 });
    const started = await startChallenges(stack, org);
    expect(started.filter((s) => s.status !== 200)).toEqual([]);
    const ids = started.map((s) => s.challengeId!);

    // Every first attempt charged and then hit the outage.
    await waitUntil(
      'every send charged and retrying',
      async () => {
        const rows = await sendStatuses(org);
        return rows.length === 1 && rows[0]!.status === 'retrying' && rows[0]!.n === ids.length;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    const queue = stack.sendQueue();
    await queue.pause();
    expect((await stack.request('GET', '/v1/sms-balance', { key: org.apiKey })).body.balance).toBe(
      0,
    );

    const locked = ids.slice(0, PER_PATH);
    const expired = ids.slice(PER_PATH, PER_PATH * 2);
    const resent = ids.slice(PER_PATH * 2);
    for (const id of locked) {
      let last: any;
      for (let i = 0; i < 5; i++) {
        last = await stack.request('POST', `/v1/challenges/${id}/verify`, {
          key: org.apiKey,
          body: { code: String(100000 + i) },
        });
      }
      expect(last.body).toMatchObject({ status: 423, code: 'challenge_locked' });
    }
    await stack.sql`
      update challenges set expires_at = now() - interval '1 second' where id in ${stack.sql(expired)}`;
    // Past the resend cooldown without waiting for it.
    await stack.sql`
      update challenges set last_send_at = last_send_at - interval '1 minute'
      where id in ${stack.sql(resent)}`;
    // The resends need credit for their own first attempt.
    const topUp = await stack.request('POST', `/v1/organizations/${org.id}/sms-credits`, {
      key: ADMIN_KEY,
      body: { amount: PER_PATH },
    });
    expect(topUp.status).toBe(201);
    for (const id of resent) {
      const res = await stack.request('POST', `/v1/challenges/${id}/resend`, { key: org.apiKey });
      expect(res.status).toBe(202);
    }

    stack.twilio.setMode({ kind: 'ok' });
    await queue.resume();
    await waitForSettled(stack.sql, { timeoutMs: 60_000 });

    const sends = await stack.sql<{ status: string; errorCode: string | null; refunds: number }[]>`
      select s.status, s.error_code as "errorCode",
        (select count(*)::int from sms_ledger l where l.send_id = s.id and l.reason = 'refund')
          as refunds
      from sms_sends s where s.organization_id = ${org.id} and s.seq = 1`;
    expect(sends).toHaveLength(ids.length);
    for (const send of sends) {
      expect(send).toEqual({ status: 'failed', errorCode: 'not_needed', refunds: 1 });
    }
    // Only the resends' messages were paid for: 24 + 8 credits, 8 SMS.
    expect(stack.twilio.messages).toHaveLength(PER_PATH);
    const balance = await stack.request('GET', '/v1/sms-balance', { key: org.apiKey });
    expect(balance.body.balance).toBe(PER_PATH * 3);

    const report = await auditSendPipeline(stack.sql, { messages: stack.twilio.messages });
    expect(report.notNeededRefunded).toBe(ids.length);
    expect(report.refunds).toBe(ids.length);
  });
});
