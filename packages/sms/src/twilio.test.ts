import type { AddressInfo, Server } from 'node:net';
import { createServer } from 'node:net';
import type { FakeTwilio } from '@twofa/testkit';
import { startFakeTwilio } from '@twofa/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SmsMessage } from './provider.ts';
import { SmsSendError } from './provider.ts';
import type { TwilioProviderOptions } from './twilio.ts';
import { createTwilioProvider } from './twilio.ts';

const message: SmsMessage = {
  to: '+358401234567',
  body: 'Your verification code is 123456. It expires in 10 minutes.',
  sendId: 'send-1',
};

let fake: FakeTwilio;

beforeAll(async () => {
  fake = await startFakeTwilio();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

function provider(overrides: Partial<TwilioProviderOptions> = {}) {
  return createTwilioProvider({
    accountSid: fake.accountSid,
    authToken: fake.authToken,
    from: '+15005550006',
    apiBaseUrl: fake.url,
    ...overrides,
  });
}

async function sendError(p: ReturnType<typeof provider>, msg = message): Promise<SmsSendError> {
  const err = await p.send(msg).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SmsSendError);
  return err as SmsSendError;
}

/** A TCP server that never completes anything, e.g. a TLS handshake. */
async function silentTcpServer(): Promise<Server> {
  const server = createServer((socket) => socket.resume());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('createTwilioProvider', () => {
  it('sends the message with From and a status callback carrying the send id', async () => {
    const sent = await provider({ statusCallbackBaseUrl: 'https://2fa.example.com/' }).send(
      message,
    );

    expect(fake.messages).toHaveLength(1);
    const received = fake.messages[0]!;
    expect(sent).toEqual({ providerMessageId: received.sid, status: 'queued' });
    expect(received.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(received).toMatchObject({
      to: message.to,
      from: '+15005550006',
      messagingServiceSid: null,
      body: message.body,
      statusCallback: 'https://2fa.example.com/webhooks/twilio/status?sendId=send-1',
    });
  });

  it('sends as a Messaging Service when the sender starts with MG, without a callback', async () => {
    const mg = `MG${'1'.repeat(32)}`;
    const sent = await provider({ from: mg }).send(message);

    expect(fake.messages[0]).toMatchObject({
      from: null,
      messagingServiceSid: mg,
      statusCallback: null,
    });
    expect(sent.status).toBe('accepted');
  });

  it('classifies a 4xx refusal as rejected with the Twilio code', async () => {
    const err = await sendError(provider(), { ...message, to: '12345' });

    expect(err).toMatchObject({ kind: 'rejected', errorCode: '21211' });
    expect(err.message).toContain('not a valid phone number');
  });

  it('classifies bad credentials as rejected', async () => {
    const err = await sendError(provider({ authToken: 'wrong' }));
    expect(err).toMatchObject({ kind: 'rejected', errorCode: '20003' });
  });

  it('classifies a 500 without a Twilio code as unavailable with the HTTP status', async () => {
    fake.setMode({ kind: 'error', status: 500 });
    const err = await sendError(provider());
    expect(err).toMatchObject({ kind: 'unavailable', errorCode: '500' });
  });

  it('classifies 429 as unavailable and does not retry inside the SDK', async () => {
    fake.setMode({ kind: 'error', status: 429, code: 20429, message: 'Too Many Requests' });
    const err = await sendError(provider());

    expect(err).toMatchObject({ kind: 'unavailable', errorCode: '20429' });
    expect(fake.requestCount).toBe(1);
  });

  it('fails only the next `times` requests in error mode', async () => {
    fake.setMode({ kind: 'error', status: 503, code: 20503, times: 1 });
    const p = provider();

    expect(await sendError(p)).toMatchObject({ kind: 'unavailable', errorCode: '20503' });
    await expect(p.send(message)).resolves.toMatchObject({ status: 'queued' });
    expect(fake.requestCount).toBe(2);
  });

  it('classifies connection refused as unavailable, without leaking credentials', async () => {
    const closed = await silentTcpServer();
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const err = await sendError(provider({ apiBaseUrl: `http://127.0.0.1:${port}` }));

    expect(err).toMatchObject({ kind: 'unavailable', errorCode: 'ECONNREFUSED' });
    const basicAuth = Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString('base64');
    const logged = JSON.stringify({ ...err, message: err.message, stack: err.stack });
    expect(logged).not.toContain(fake.authToken);
    expect(logged).not.toContain(basicAuth);
  });

  it('classifies a timeout before the request was written (TLS handshake) as unavailable', async () => {
    const server = await silentTcpServer();
    const { port } = server.address() as AddressInfo;
    try {
      const err = await sendError(
        provider({ apiBaseUrl: `https://127.0.0.1:${port}`, timeoutMs: 300 }),
      );
      expect(err).toMatchObject({ kind: 'unavailable', errorCode: 'ETIMEDOUT' });
    } finally {
      server.close();
    }
  });

  it('classifies a timeout after the request went out as unknown', async () => {
    fake.setMode({ kind: 'hang' });
    const started = Date.now();
    const err = await sendError(provider({ timeoutMs: 300 }));

    expect(err).toMatchObject({ kind: 'unknown', errorCode: 'ETIMEDOUT' });
    expect(Date.now() - started).toBeLessThan(2_000);
    // Twilio may well have it, which is why it must not be resent automatically.
    expect(fake.messages).toHaveLength(1);
  });

  it('classifies a connection dropped after sending as unknown', async () => {
    // The request was complete when the socket died; Twilio may have created the message.
    fake.setMode({ kind: 'drop' });
    const err = await sendError(provider());

    expect(err).toMatchObject({ kind: 'unknown', errorCode: 'ECONNRESET' });
    expect(fake.messages).toHaveLength(1);
  });

  it('answers in time under a slow but working provider', async () => {
    fake.setMode({ kind: 'ok', delayMs: 100 });
    await expect(provider({ timeoutMs: 2_000 }).send(message)).resolves.toMatchObject({
      status: 'queued',
    });
  });

  it('reads the account balance', async () => {
    await expect(provider().balance()).resolves.toEqual({ balance: 20, currency: 'USD' });
  });

  it('classifies a failed balance lookup', async () => {
    await expect(provider({ authToken: 'wrong' }).balance()).rejects.toMatchObject({
      kind: 'rejected',
      errorCode: '20003',
    });
  });

  it('refuses bad options at creation', () => {
    expect(() => provider({ timeoutMs: 0 })).toThrow(RangeError);
    expect(() => provider({ apiBaseUrl: 'localhost:4010' })).toThrow();
    expect(() => provider({ accountSid: 'SK123' })).toThrow(/AC/);
  });
});

describe("findMessages: the provider's own record, through the SDK", () => {
  it('lists the messages to a number since a moment, with their bodies and sids', async () => {
    const p = provider();
    const before = new Date(Date.now() - 1_000);
    const sent = await p.send(message);
    await p.send({ ...message, to: '+358409999999' });
    const found = await p.findMessages({ to: message.to, since: before });
    expect(found).toEqual([
      expect.objectContaining({
        providerMessageId: sent.providerMessageId,
        to: message.to,
        body: message.body,
        status: 'sent',
      }),
    ]);
    // Both the DateSent> query and the newest-first query reached the fake's list endpoint.
    expect(fake.listCount).toBe(2);
    const later = await p.findMessages({ to: message.to, since: new Date(Date.now() + 60_000) });
    expect(later).toEqual([]);
  });

  it('finds a message whose answer timed out, and not one the provider never stored', async () => {
    const p = provider({ timeoutMs: 200 });
    const since = new Date(Date.now() - 1_000);
    fake.setMode({ kind: 'ok', delayMs: 1_000 });
    await expect(p.send(message)).rejects.toMatchObject({ kind: 'unknown' });
    fake.setMode({ kind: 'lose' });
    await expect(p.send({ ...message, to: '+358408888888' })).rejects.toMatchObject({
      kind: 'unknown',
    });
    fake.setMode({ kind: 'ok' });
    expect(await p.findMessages({ to: message.to, since })).toHaveLength(1);
    expect(await p.findMessages({ to: '+358408888888', since })).toEqual([]);
  });

  it('classifies a failed lookup as unavailable', async () => {
    const err = await provider({ authToken: 'wrong' })
      .findMessages({ to: message.to, since: new Date() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SmsSendError);
    expect(err).toMatchObject({ kind: 'unavailable', errorCode: '20003' });
  });
});
