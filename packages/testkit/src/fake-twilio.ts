/**
 * A stand-in for Twilio's REST API (Messages create and list, and Balance) for tests and benchmarks, with
 * switchable failure modes. In-process: `startFakeTwilio()`. As a process:
 * `node --import tsx packages/testkit/src/fake-twilio.ts --port 4010` prints `{"url":...}` on one
 * line and is driven over HTTP through `/__control/*`.
 */
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import twilio from 'twilio';

export const FAKE_TWILIO_ACCOUNT_SID = `AC${'fa4e'.repeat(8)}`;
export const FAKE_TWILIO_AUTH_TOKEN = 'fake-twilio-auth-token';

/** How the fake answers message creation; Balance.json always answers normally. */
export type FakeTwilioMode =
  | { kind: 'ok'; delayMs?: number }
  /** `times`: only the next N message requests fail, then the mode is back to ok. */
  | { kind: 'error'; status: number; code?: number; message?: string; times?: number }
  /** Takes the message and never answers. */
  | { kind: 'hang' }
  /** Takes the message, then destroys the socket instead of answering. */
  | { kind: 'drop' }
  /** Swallows the request and never answers, keeping no record: lost before Twilio stored it. */
  | { kind: 'lose' };

export interface FakeTwilioMessage {
  sid: string;
  to: string;
  from: string | null;
  messagingServiceSid: string | null;
  body: string;
  statusCallback: string | null;
  receivedAt: Date;
  /** When the fake "sent" it: at once, so the list's DateSent filters see it. */
  sentAt: Date;
}

export interface FakeTwilioOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  accountSid?: string;
  authToken?: string;
  /** What Balance.json reports, in USD. */
  balance?: string;
}

export interface StatusCallbackOptions {
  /** The token the signature is made with; defaults to the fake's own. */
  authToken?: string;
  errorCode?: string | number;
}

export interface FakeTwilio {
  readonly url: string;
  readonly accountSid: string;
  readonly authToken: string;
  /** Messages the fake took, oldest first, including those it then hung on or dropped. */
  readonly messages: readonly FakeTwilioMessage[];
  /**
   * REST API requests received, failed and unauthorized ones included; control calls and
   * message list (lookup) calls excluded.
   */
  readonly requestCount: number;
  /** Message list (GET Messages.json) calls received. */
  readonly listCount: number;
  readonly mode: FakeTwilioMode;
  setMode(mode: FakeTwilioMode): void;
  /** Forgets messages and counts, and goes back to ok. */
  reset(): void;
  /** Delivers a signed delivery receipt to the message's StatusCallback URL, as Twilio would. */
  sendStatusCallback(
    sid: string,
    status: string,
    opts?: StatusCallbackOptions,
  ): Promise<{ status: number; body: string }>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const API_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Balance)\.json$/;
const E164 = /^\+[1-9]\d{6,14}$/;

export async function startFakeTwilio(opts: FakeTwilioOptions = {}): Promise<FakeTwilio> {
  const accountSid = opts.accountSid ?? FAKE_TWILIO_ACCOUNT_SID;
  const authToken = opts.authToken ?? FAKE_TWILIO_AUTH_TOKEN;
  const expectedAuth = `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`;
  const messages: FakeTwilioMessage[] = [];
  let mode: FakeTwilioMode = { kind: 'ok' };
  let errorsLeft = Number.POSITIVE_INFINITY;
  let requestCount = 0;
  let listCount = 0;

  function setMode(next: FakeTwilioMode): void {
    mode = parseMode(next);
    errorsLeft = mode.kind === 'error' ? (mode.times ?? Number.POSITIVE_INFINITY) : 0;
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, path: string) {
    const isList = req.method === 'GET' && /\/Messages\.json$/.test(path);
    if (isList) listCount++;
    else requestCount++;
    const body = await readBody(req);
    if (req.headers.authorization !== expectedAuth) {
      return sendTwilioError(res, 401, 20003, 'Authenticate');
    }
    const [, pathSid, resource] = API_PATH.exec(path) ?? [];
    if (!resource || pathSid !== accountSid) {
      return sendTwilioError(res, 404, 20404, `The requested resource ${path} was not found`);
    }
    if (resource === 'Balance' && req.method === 'GET') {
      return sendJson(res, 200, {
        account_sid: accountSid,
        balance: opts.balance ?? '20.00',
        currency: 'USD',
      });
    }
    if (resource === 'Messages' && req.method === 'GET') {
      const query = new URL(req.url ?? '/', 'http://fake').searchParams;
      return sendJson(res, 200, listMessages(messages, query, accountSid));
    }
    if (resource !== 'Messages' || req.method !== 'POST') {
      return sendTwilioError(res, 405, 20004, 'Method not allowed');
    }

    if (mode.kind === 'error') {
      const { status, code, message } = mode;
      if (--errorsLeft <= 0) setMode({ kind: 'ok' });
      return sendTwilioError(res, status, code, message ?? `Simulated HTTP ${status}`);
    }
    const params = new URLSearchParams(body);
    const refusal = validateMessage(params);
    if (refusal) return sendTwilioError(res, 400, refusal.code, refusal.message);
    if (mode.kind === 'lose') return;

    const message: FakeTwilioMessage = {
      sid: `SM${randomBytes(16).toString('hex')}`,
      to: params.get('To')!,
      from: params.get('From'),
      messagingServiceSid: params.get('MessagingServiceSid'),
      body: params.get('Body')!,
      statusCallback: params.get('StatusCallback'),
      receivedAt: new Date(),
      sentAt: new Date(),
    };
    messages.push(message);

    if (mode.kind === 'hang') return;
    if (mode.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    const answer = () => sendJson(res, 201, messageResource(message, accountSid));
    if (mode.delayMs) setTimeout(answer, mode.delayMs);
    else answer();
  }

  async function handleControl(req: IncomingMessage, res: ServerResponse, path: string) {
    const route = `${req.method} ${path}`;
    if (route === 'GET /__control/messages') return sendJson(res, 200, messages);
    if (route === 'GET /__control/stats') {
      return sendJson(res, 200, { requestCount, messageCount: messages.length, mode });
    }
    if (route === 'POST /__control/reset') {
      fake.reset();
      return sendJson(res, 200, { ok: true });
    }
    const input = await readJson(req);
    if (route === 'POST /__control/mode') {
      setMode(input as FakeTwilioMode);
      return sendJson(res, 200, { mode });
    }
    if (route === 'POST /__control/status-callback') {
      const { sid, status, ...rest } = input as { sid: string; status: string };
      return sendJson(res, 200, await fake.sendStatusCallback(sid, status, rest));
    }
    sendJson(res, 404, { error: `No control route ${route}` });
  }

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const handle = path.startsWith('/__control/') ? handleControl : handleApi;
    handle(req, res, path).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      sendJson(res, 400, { error: err instanceof Error ? err.message : String(err) });
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host =
    !opts.host || opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;

  const fake: FakeTwilio = {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    accountSid,
    authToken,
    messages,
    get requestCount() {
      return requestCount;
    },
    get listCount() {
      return listCount;
    },
    get mode() {
      return mode;
    },
    setMode,
    reset() {
      messages.length = 0;
      requestCount = 0;
      listCount = 0;
      setMode({ kind: 'ok' });
    },
    async sendStatusCallback(sid, status, { authToken: token = authToken, errorCode } = {}) {
      const message = messages.find((m) => m.sid === sid);
      if (!message) throw new Error(`No message ${sid}`);
      if (!message.statusCallback) throw new Error(`Message ${sid} has no StatusCallback`);
      const params: Record<string, string> = {
        AccountSid: accountSid,
        ApiVersion: '2010-04-01',
        MessageSid: sid,
        MessageStatus: status,
        SmsSid: sid,
        SmsStatus: status,
        To: message.to,
        ...(message.from && { From: message.from }),
        ...(message.messagingServiceSid && { MessagingServiceSid: message.messagingServiceSid }),
        ...(errorCode !== undefined && { ErrorCode: String(errorCode) }),
      };
      const signature = twilio.getExpectedTwilioSignature(token, message.statusCallback, params);
      const response = await fetch(message.statusCallback, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signature,
          'user-agent': 'TwilioProxy/1.1',
        },
        body: new URLSearchParams(params),
      });
      return { status: response.status, body: await response.text() };
    },
    close() {
      // Hung requests would otherwise keep close() waiting forever.
      server.closeAllConnections();
      return new Promise((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
    },
  };
  return fake;
}

function parseMode(input: unknown): FakeTwilioMode {
  const mode = input as Partial<Record<string, unknown>> | null;
  switch (mode?.kind) {
    case 'ok':
      if (mode.delayMs !== undefined && !isNonNegativeInteger(mode.delayMs)) break;
      return { kind: 'ok', ...(mode.delayMs !== undefined && { delayMs: mode.delayMs }) };
    case 'hang':
    case 'drop':
    case 'lose':
      return { kind: mode.kind };
    case 'error': {
      const { status, code, message, times } = mode;
      if (typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
        break;
      }
      if (code !== undefined && typeof code !== 'number') break;
      if (message !== undefined && typeof message !== 'string') break;
      if (times !== undefined && (!isNonNegativeInteger(times) || times === 0)) break;
      return { kind: 'error', status, code, message, times };
    }
  }
  throw new Error(`Invalid fake Twilio mode: ${JSON.stringify(input)}`);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

/** Twilio's own codes for the refusals a real request can meet. */
function validateMessage(params: URLSearchParams): { code: number; message: string } | null {
  const to = params.get('To');
  if (!to) return { code: 21604, message: "A 'To' phone number is required." };
  if (!params.get('From') && !params.get('MessagingServiceSid')) {
    return { code: 21603, message: "A 'From' phone number is required." };
  }
  if (!params.get('Body')) return { code: 21602, message: 'Message body is required.' };
  if (!E164.test(to))
    return { code: 21211, message: `The 'To' number ${to} is not a valid phone number.` };
  return null;
}

const rfc2822 = (d: Date) => d.toUTCString().replace('GMT', '+0000');

/** A `DateSent` filter value: a day (`YYYY-MM-DD`, whole-day granularity) or an instant. */
function parseDateFilter(value: string): { at: Date; dayOnly: boolean } {
  const dayOnly = /^\d{4}-\d{2}-\d{2}$/.test(value);
  const at = new Date(dayOnly ? `${value}T00:00:00Z` : value);
  if (Number.isNaN(at.getTime())) throw new Error(`Invalid date filter ${value}`);
  return { at, dayOnly };
}

const DAY_MS = 86_400_000;

/**
 * GET Messages.json as Twilio answers it: filters To, From, DateSent (that day),
 * `DateSent<` (on or before) and `DateSent>` (on or after), newest first, paged by
 * PageSize and Page.
 */
function listMessages(
  all: readonly FakeTwilioMessage[],
  query: URLSearchParams,
  accountSid: string,
) {
  const to = query.get('To');
  const from = query.get('From');
  const on = query.get('DateSent');
  const before = query.get('DateSent<');
  const after = query.get('DateSent>');
  const filtered = all.filter((m) => {
    if (to && m.to !== to) return false;
    if (from && m.from !== from) return false;
    const sent = m.sentAt.getTime();
    if (on) {
      const day = parseDateFilter(on).at.getTime();
      if (sent < day || sent >= day + DAY_MS) return false;
    }
    if (before) {
      const { at, dayOnly } = parseDateFilter(before);
      if (dayOnly ? sent >= at.getTime() + DAY_MS : sent > at.getTime()) return false;
    }
    if (after && sent < parseDateFilter(after).at.getTime()) return false;
    return true;
  });
  filtered.sort((a, b) => b.sentAt.getTime() - a.sentAt.getTime());
  const pageSize = Math.min(Math.max(Number(query.get('PageSize') ?? 50) || 50, 1), 1000);
  const page = Math.max(Number(query.get('Page') ?? 0) || 0, 0);
  const slice = filtered.slice(page * pageSize, (page + 1) * pageSize);
  const base = `/2010-04-01/Accounts/${accountSid}/Messages.json`;
  const pageUri = (n: number) => {
    const q = new URLSearchParams(query);
    q.set('PageSize', String(pageSize));
    q.set('Page', String(n));
    return `${base}?${q}`;
  };
  const more = (page + 1) * pageSize < filtered.length;
  return {
    messages: slice.map((m) => ({
      ...messageResource(m, accountSid),
      status: 'sent',
      date_sent: rfc2822(m.sentAt),
    })),
    end: page * pageSize + Math.max(slice.length - 1, 0),
    first_page_uri: pageUri(0),
    next_page_uri: more ? pageUri(page + 1) : null,
    page,
    page_size: pageSize,
    previous_page_uri: page > 0 ? pageUri(page - 1) : null,
    start: page * pageSize,
    uri: pageUri(page),
  };
}

function messageResource(m: FakeTwilioMessage, accountSid: string) {
  const date = rfc2822(m.receivedAt);
  const uri = `/2010-04-01/Accounts/${accountSid}/Messages/${m.sid}`;
  return {
    account_sid: accountSid,
    api_version: '2010-04-01',
    body: m.body,
    date_created: date,
    date_sent: null,
    date_updated: date,
    direction: 'outbound-api',
    error_code: null,
    error_message: null,
    from: m.from,
    messaging_service_sid: m.messagingServiceSid,
    num_media: '0',
    num_segments: '1',
    price: null,
    price_unit: 'USD',
    sid: m.sid,
    // What Twilio answers: a Messaging Service picks the sender later.
    status: m.from ? 'queued' : 'accepted',
    subresource_uris: { media: `${uri}/Media.json` },
    to: m.to,
    uri: `${uri}.json`,
  };
}

function sendTwilioError(
  res: ServerResponse,
  status: number,
  code: number | undefined,
  message: string,
) {
  sendJson(res, status, {
    ...(code !== undefined && { code }),
    message,
    more_info: code === undefined ? null : `https://www.twilio.com/docs/errors/${code}`,
    status,
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  if (res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('Body too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const text = await readBody(req);
  return text ? JSON.parse(text) : {};
}

function isMainModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

async function runStandalone(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'account-sid': { type: 'string' },
      'auth-token': { type: 'string' },
    },
  });
  const fake = await startFakeTwilio({
    port: Number(values.port),
    host: values.host,
    accountSid: values['account-sid'],
    authToken: values['auth-token'],
  });
  const { url, accountSid, authToken } = fake;
  process.stdout.write(`${JSON.stringify({ url, accountSid, authToken })}\n`);
  const stop = () => void fake.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (isMainModule()) await runStandalone();
