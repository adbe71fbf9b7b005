/**
 * A send whose outcome was lost (`unknown`) is settled from the provider's own
 * record once it is past its consistency window: found, it is `sent` with its
 * sid; not found, it is refunded and the waiting challenge gets one fresh code.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSendPipeline, messagesPerSend } from '../faults/audit.ts';
import { createHarness, type Harness } from '../support/index.ts';

let h: Harness;
let org: { id: string; apiKey: string };
let n = 0;

beforeAll(async () => {
  h = await createHarness({
    env: {
      TWILIO_TIMEOUT_MS: '1000',
      SMS_SETTLE_AFTER_MS: '3000',
      // Messages carry the send id in their status callback, so the audit can tie SMS to sends.
      PUBLIC_BASE_URL: 'http://127.0.0.1:9',
    },
  });
  org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
  await h.topUp(org.id, 10);
  await h.enableTwoFactor(org.apiKey);
});
afterAll(async () => {
  await h?.close();
});

async function start() {
  const i = n++;
  const user = await h.createUser(org.apiKey, {
    email: `s${i}@example.com`,
    phone: `040 765${1000 + i}`,
  });
  const res = await h.request('POST', '/v1/challenges', {
    key: org.apiKey,
    body: { userId: user.id, ip: '203.0.113.9' },
  });
  expect(res.status).toBe(200);
  return { challengeId: res.body.challenge.id as string, phone: `+35840765${1000 + i}` };
}

const sendsOf = (challengeId: string) =>
  h.sql<
    { id: string; seq: number; status: string; errorCode: string | null; sid: string | null }[]
  >`
    select id, seq, status, error_code as "errorCode", provider_sid as sid
    from sms_sends where challenge_id = ${challengeId} order by seq`;

const settledEvents = (challengeId: string) =>
  h.sql<{ data: Record<string, unknown> }[]>`
    select data from audit_events where type = 'sms_unknown_settled'
      and data->>'challengeId' = ${challengeId}`;

async function waitForStatus(challengeId: string, seq: number, status: string, ms = 20_000) {
  return h.waitFor(async () => {
    const sends = await sendsOf(challengeId);
    return sends.find((s) => s.seq === seq && s.status === status);
  }, ms);
}

describe('settling unknown sends', { timeout: 60_000 }, () => {
  it('the provider answered after the SDK timeout: found, settled sent with its sid, one SMS', async () => {
    h.twilio.setMode({ kind: 'ok', delayMs: 2_500 });
    const { challengeId, phone } = await start();
    await waitForStatus(challengeId, 1, 'unknown');
    h.twilio.setMode({ kind: 'ok' });
    const started = Date.now();
    const sent = await waitForStatus(challengeId, 1, 'sent');
    // Within the settle window plus a reconcile pass or two, not "forever".
    expect(Date.now() - started).toBeLessThan(15_000);
    const message = h.twilio.messages.find((m) => m.to === phone);
    expect(sent.sid).toBe(message?.sid);
    expect(await sendsOf(challengeId)).toHaveLength(1);
    expect(h.twilio.messages.filter((m) => m.to === phone)).toHaveLength(1);
    const [event] = await settledEvents(challengeId);
    expect(event?.data).toMatchObject({
      outcome: 'sent',
      match: 'certain',
      providerSid: message?.sid,
    });
    const view = await h.request('GET', `/v1/challenges/${challengeId}`, { key: org.apiKey });
    expect(view.body).toMatchObject({ status: 'pending', delivery: { status: 'sent' } });
    expect(h.twilio.listCount).toBeGreaterThan(0);
  });

  it('the provider never took it: refunded, resent once, one SMS in all', async () => {
    const [before] = await h.sql<{ balance: number }[]>`
      select sms_balance as balance from organizations where id = ${org.id}`;
    h.twilio.setMode({ kind: 'lose' });
    const { challengeId, phone } = await start();
    await waitForStatus(challengeId, 1, 'unknown');
    h.twilio.setMode({ kind: 'ok' });
    await waitForStatus(challengeId, 2, 'sent');
    const sends = await sendsOf(challengeId);
    expect(sends.map((s) => [s.seq, s.status, s.errorCode])).toEqual([
      [1, 'failed', 'not_at_provider'],
      [2, 'sent', null],
    ]);
    const perSend = messagesPerSend(h.twilio.messages);
    expect(perSend.get(sends[0]!.id)).toBeUndefined();
    expect(perSend.get(sends[1]!.id)).toBe(1);
    expect(h.twilio.messages.filter((m) => m.to === phone)).toHaveLength(1);
    const ledger = await h.sql<{ reason: string; sendId: string }[]>`
      select reason, send_id as "sendId" from sms_ledger
      where send_id in ${h.sql(sends.map((s) => s.id))} order by id`;
    expect(ledger.map((l) => [l.reason, l.sendId])).toEqual([
      ['sms_sent', sends[0]!.id],
      ['refund', sends[0]!.id],
      ['sms_sent', sends[1]!.id],
    ]);
    // One credit in all: the lost send's debit was refunded, the replacement's stands.
    const [after] = await h.sql<{ balance: number }[]>`
      select sms_balance as balance from organizations where id = ${org.id}`;
    expect(before!.balance - after!.balance).toBe(1);
    const [event] = await settledEvents(challengeId);
    expect(event?.data).toMatchObject({
      outcome: 'not_at_provider',
      refunded: true,
      resendId: sends[1]!.id,
    });
    const view = await h.request('GET', `/v1/challenges/${challengeId}`, { key: org.apiKey });
    expect(view.body).toMatchObject({
      status: 'pending',
      sendsRemaining: 3,
      delivery: { status: 'sent' },
    });
    // The replacement's code is the one that works.
    const code = h.lastCodeFor(phone);
    const verify = await h.request('POST', `/v1/challenges/${challengeId}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(verify.status).toBe(200);
  });

  it('leaves the books balanced', async () => {
    await auditSendPipeline(h.sql, { messages: h.twilio.messages });
  });
});
