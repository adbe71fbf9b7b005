import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SmsSendError } from './provider.ts';
import { createTwilioProvider } from './twilio.ts';
import { TwilioTransportError, UndiciRequestClient } from './twilio-http.ts';

const ACCOUNT_SID = `AC${'0'.repeat(32)}`;

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
  /** Which TCP connection carried it. */
  socket: number;
}

/**
 * A recording HTTP peer: what the client really put on the wire, and on how many
 * connections. `answer` decides each reply.
 */
let server: Server;
let base: string;
let seen: Seen[] = [];
let connections = 0;
function answerMessage(_req: Seen, res: ServerResponse) {
  res.writeHead(201, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ sid: `SM${'1'.repeat(32)}`, status: 'queued' }));
}
let answer: (req: Seen, res: ServerResponse) => void = answerMessage;

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const entry: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        socket: (req.socket as { id?: number } & typeof req.socket).id ?? -1,
      };
      seen.push(entry);
      answer(entry, res);
    });
  });
  server.on('connection', (socket) => {
    Object.assign(socket, { id: ++connections });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});
afterEach(() => {
  seen = [];
  answer = answerMessage;
});

const clients: UndiciRequestClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
function client(opts: { timeoutMs?: number; connections?: number; baseUrl?: string } = {}) {
  const c = new UndiciRequestClient({ timeoutMs: 2_000, baseUrl: base, ...opts });
  clients.push(c);
  return c;
}

async function transportError(p: Promise<unknown>): Promise<TwilioTransportError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TwilioTransportError);
  return err as TwilioTransportError;
}

describe('UndiciRequestClient, as the SDK calls it', () => {
  it('sends basic auth, the SDK headers and a form body with repeated keys', async () => {
    answer = answerMessage;
    const p = createTwilioProvider({
      accountSid: ACCOUNT_SID,
      authToken: 'secret-token',
      from: '+15005550006',
      apiBaseUrl: base,
    });
    await p.send({ to: '+358401234567', body: 'code 123456 & more', sendId: 's-1' });

    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req.method).toBe('POST');
    expect(req.url).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
    expect(req.headers.authorization).toBe(
      `Basic ${Buffer.from(`${ACCOUNT_SID}:secret-token`).toString('base64')}`,
    );
    expect(req.headers['user-agent']).toMatch(/^twilio-node\/\S+ \(\w+ \w+\) node\/v\d+/);
    expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(req.headers.accept).toBe('application/json');
    expect(Object.fromEntries(new URLSearchParams(req.body))).toEqual({
      To: '+358401234567',
      From: '+15005550006',
      Body: 'code 123456 & more',
    });
  });

  it('encodes query parameters as the SDK client does: arrays repeated, undefined left out', async () => {
    answer = (_req, res) => res.end('{}');
    const when = new Date('2026-01-02T03:04:05.000Z');
    await client({ baseUrl: `${base}/prefix` }).send({
      method: 'get',
      uri: 'https://api.twilio.com/2010-04-01/Things.json?Page=2',
      params: { To: ['+1555', '+1666'], Skip: undefined, Empty: null, When: when, N: 5 },
    });
    const url = new URL(seen[0]!.url, base);
    expect(url.pathname).toBe('/prefix/2010-04-01/Things.json');
    expect([...url.searchParams]).toEqual([
      ['Page', '2'],
      ['To', '+1555'],
      ['To', '+1666'],
      ['Empty', ''],
      ['When', when.toISOString()],
      ['N', '5'],
    ]);
    expect(seen[0]!.body).toBe('');
  });

  it('answers status, headers and the raw body for the SDK to parse', async () => {
    answer = (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json', 'x-twilio-request': 'RQ1' });
      res.end('{"code":20404,"message":"nope"}');
    };
    const res = await client().send({ method: 'get', uri: 'https://api.twilio.com/x' });
    expect(res).toMatchObject({
      statusCode: 404,
      body: '{"code":20404,"message":"nope"}',
      headers: { 'content-type': 'application/json', 'x-twilio-request': 'RQ1' },
    });
  });

  it('keeps connections alive: sequential sends reuse them', async () => {
    const p = createTwilioProvider({
      accountSid: ACCOUNT_SID,
      authToken: 'secret-token',
      from: '+15005550006',
      apiBaseUrl: base,
    });
    for (let i = 0; i < 10; i++) {
      await p.send({ to: '+358401234567', body: 'x', sendId: `s-${i}` });
    }
    expect(seen).toHaveLength(10);
    // undici may open a second while the first is being handed back; never one per request.
    expect(new Set(seen.map((s) => s.socket)).size).toBeLessThanOrEqual(2);
  });

  it('opens no more connections than its bound; the rest wait their turn', async () => {
    answer = (req, res) => setTimeout(() => answerMessage(req, res), 30);
    const c = client({ connections: 2 });
    await Promise.all(
      Array.from({ length: 8 }, () => c.send({ method: 'get', uri: 'https://api.twilio.com/x' })),
    );
    expect(seen).toHaveLength(8);
    expect(new Set(seen.map((s) => s.socket)).size).toBe(2);
  });

  it('a timeout while waiting for a connection is not-sent, and the request never goes out', async () => {
    answer = () => {}; // never answers
    const c = client({ connections: 1, timeoutMs: 200 });
    const first = c.send({ method: 'post', uri: 'https://api.twilio.com/a', data: { A: '1' } });
    const second = c.send({ method: 'post', uri: 'https://api.twilio.com/b', data: { B: '2' } });
    const [e1, e2] = await Promise.all([transportError(first), transportError(second)]);
    expect(e1).toMatchObject({ phase: 'sent', code: 'ETIMEDOUT' });
    expect(e2).toMatchObject({ phase: 'not-sent', code: 'ETIMEDOUT' });
    // Long enough for the freed connection to have carried it, had it been dispatched late.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.map((s) => s.url)).toEqual(['/a']);
  });

  it('classifies an answer cut off after its headers as unknown', async () => {
    answer = (_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"sid":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const p = createTwilioProvider({
      accountSid: ACCOUNT_SID,
      authToken: 'secret-token',
      from: '+15005550006',
      apiBaseUrl: base,
    });
    const err = await p.send({ to: '+358401234567', body: 'x', sendId: 's' }).catch((e) => e);
    expect(err).toBeInstanceOf(SmsSendError);
    expect(err).toMatchObject({ kind: 'unknown', errorCode: 'ECONNRESET' });
    expect((err as Error).message).toMatch(/answer broke off/);
  });

  it('bounds the whole exchange: a trickling answer still times out, as unknown', async () => {
    answer = (_req, res) => {
      res.writeHead(201, { 'content-type': 'application/json' });
      const timer = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(timer));
    };
    const started = Date.now();
    const err = await transportError(
      client({ timeoutMs: 300 }).send({ method: 'get', uri: 'https://api.twilio.com/x' }),
    );
    expect(err).toMatchObject({ phase: 'answering', code: 'ETIMEDOUT' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('refused connections are not-sent, and the error carries no credentials', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const err = await transportError(
      client({ baseUrl: `http://127.0.0.1:${port}` }).send({
        method: 'post',
        uri: 'https://api.twilio.com/x',
        username: ACCOUNT_SID,
        password: 'secret-token',
      }),
    );
    expect(err).toMatchObject({ phase: 'not-sent', code: 'ECONNREFUSED' });
    expect(JSON.stringify({ ...err, message: err.message, stack: err.stack })).not.toContain(
      'secret-token',
    );
  });
});
