import { createServer } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/index.ts';
import { parsePrometheus, sampleValue } from './operator-support.ts';

// The API listens on a real port that PUBLIC_BASE_URL names, so the fake Twilio
// delivers its signed callbacks over HTTP exactly as Twilio would.
let h: Harness;
let server: ServerType;
let base: string;
let org: { id: string; apiKey: string };

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  h = await createHarness({
    env: { PUBLIC_BASE_URL: base, DB_POOL_SIZE: '3', WORKER_CONCURRENCY: '2' },
  });
  server = serve({ fetch: h.app.fetch, port, hostname: '127.0.0.1' });
  org = await h.createOrganization({ name: 'Receipts Clinic', country: 'FI' });
  await h.topUp(org.id, 50);
  await h.enableTwoFactor(org.apiKey);
});
afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await h?.close();
});

let users = 0;
/** Starts a login for a new user and waits until the send leaves `queued`/`sending`. */
async function sendOne(settled: (status: string) => boolean = (s) => s === 'sent') {
  users++;
  const phone = `+3584055500${String(users).padStart(2, '0')}`;
  const email = `r${users}@example.com`;
  await h.createUser(org.apiKey, { email, password: 'pw-0123456789', phone });
  const login = await h.request('POST', '/v1/logins', {
    key: org.apiKey,
    body: { email, password: 'pw-0123456789', ip: '198.51.100.30' },
  });
  const challengeId: string = login.body.challenge.id;
  await h.waitFor(async () => settled((await delivery(challengeId)).status));
  const message = h.twilio.messages.filter((m) => m.to === phone).at(-1);
  if (!message) throw new Error('no message reached the fake Twilio');
  const [send] = await h.sql<{ id: string }[]>`
    select id from sms_sends where challenge_id = ${challengeId}`;
  return { challengeId, message, sendId: send?.id as string };
}

async function delivery(
  challengeId: string,
): Promise<{ status: string; errorCode: string | null }> {
  const res = await h.request('GET', `/v1/challenges/${challengeId}`, { key: org.apiKey });
  return res.body.delivery;
}

async function sendRow(sendId: string) {
  const [row] = await h.sql<{ status: string; providerSid: string | null; updatedAt: Date }[]>`
    select status, provider_sid as "providerSid", updated_at as "updatedAt"
    from sms_sends where id = ${sendId}`;
  return row;
}

describe('Twilio delivery receipts', () => {
  it('sends each message with a status callback naming the send', async () => {
    const { message, sendId } = await sendOne();
    expect(message.statusCallback).toBe(`${base}/webhooks/twilio/status?sendId=${sendId}`);
  });

  it('refuses a missing, wrong or tampered signature with 403 and changes nothing', async () => {
    const { challengeId, message, sendId } = await sendOne();
    const before = await sendRow(sendId);
    const url = message.statusCallback as string;
    const params = { MessageSid: message.sid, MessageStatus: 'delivered', AccountSid: 'AC0' };

    const unsigned = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
    });
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(await unsigned.json()).toMatchObject({ code: 'invalid_signature', status: 403 });

    const wrongToken = await h.twilio.sendStatusCallback(message.sid, 'delivered', {
      authToken: 'not-the-auth-token',
    });
    expect(wrongToken.status).toBe(403);
    expect(JSON.parse(wrongToken.body).code).toBe('invalid_signature');

    // Signed for "undelivered", sent as "delivered".
    const signature = twilio.getExpectedTwilioSignature(h.twilio.authToken, url, {
      ...params,
      MessageStatus: 'undelivered',
    });
    const tampered = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': signature,
      },
      body: new URLSearchParams(params),
    });
    expect(tampered.status).toBe(403);

    // Signed for another send's URL.
    const otherUrl = url.replace(/sendId=[^&]+/, 'sendId=00000000-0000-4000-8000-000000000000');
    const moved = await fetch(otherUrl, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(h.twilio.authToken, url, params),
      },
      body: new URLSearchParams(params),
    });
    expect(moved.status).toBe(403);

    expect(await sendRow(sendId)).toEqual(before);
    expect((await delivery(challengeId)).status).toBe('sent');
  });

  it('moves the send forward to delivered, and never backwards', async () => {
    const metrics = async () => parsePrometheus(await (await h.app.request('/metrics')).text());
    const applied = { status: 'delivered', applied: 'true' };
    const before = sampleValue(await metrics(), 'twofa_delivery_receipts_total', applied);
    const { challengeId, message } = await sendOne();

    expect((await h.twilio.sendStatusCallback(message.sid, 'sent')).status).toBe(204);
    expect(await delivery(challengeId)).toEqual({ status: 'sent', errorCode: null });
    expect((await h.twilio.sendStatusCallback(message.sid, 'delivered')).status).toBe(204);
    expect(await delivery(challengeId)).toEqual({ status: 'delivered', errorCode: null });

    // Late or repeated receipts do not move it back or sideways.
    for (const late of ['sent', 'queued', 'sending', 'undelivered', 'failed']) {
      expect((await h.twilio.sendStatusCallback(message.sid, late)).status).toBe(204);
      expect((await delivery(challengeId)).status, late).toBe('delivered');
    }
    const after = await metrics();
    expect(sampleValue(after, 'twofa_delivery_receipts_total', applied)).toBe(before + 1);
    expect(
      sampleValue(after, 'twofa_delivery_receipts_total', { status: 'failed', applied: 'false' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('records undelivered and failed with the carrier error code', async () => {
    const first = await sendOne();
    await h.twilio.sendStatusCallback(first.message.sid, 'undelivered', { errorCode: 30003 });
    expect(await delivery(first.challengeId)).toEqual({
      status: 'undelivered',
      errorCode: '30003',
    });

    const second = await sendOne();
    await h.twilio.sendStatusCallback(second.message.sid, 'failed', { errorCode: 30008 });
    expect(await delivery(second.challengeId)).toEqual({ status: 'failed', errorCode: '30008' });
    // A receipt says nothing about the code: the challenge stays open for a resend.
    const challenge = await h.request('GET', `/v1/challenges/${second.challengeId}`, {
      key: org.apiKey,
    });
    expect(challenge.body.status).toBe('pending');
  });

  it('settles a send whose outcome was unknown', async () => {
    // Twilio takes the message, then the connection drops before the answer.
    h.twilio.setMode({ kind: 'drop' });
    let unknown: Awaited<ReturnType<typeof sendOne>>;
    try {
      unknown = await sendOne((s) => s === 'unknown');
    } finally {
      h.twilio.setMode({ kind: 'ok' });
    }
    expect((await sendRow(unknown.sendId))?.providerSid).toBeNull();

    expect((await h.twilio.sendStatusCallback(unknown.message.sid, 'delivered')).status).toBe(204);
    expect(await delivery(unknown.challengeId)).toEqual({ status: 'delivered', errorCode: null });
    // The receipt tells us which provider message it was.
    expect((await sendRow(unknown.sendId))?.providerSid).toBe(unknown.message.sid);
  });

  it("ignores a receipt for another send's message", async () => {
    const a = await sendOne();
    const b = await sendOne();
    // A genuine signature over b's callback URL, but carrying a's message sid.
    const url = b.message.statusCallback as string;
    const params = { MessageSid: a.message.sid, MessageStatus: 'delivered' };
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': twilio.getExpectedTwilioSignature(h.twilio.authToken, url, params),
      },
      body: new URLSearchParams(params),
    });
    expect(res.status).toBe(204);
    expect((await delivery(b.challengeId)).status).toBe('sent');
  });
});
