import { type App, closeServices, createApp, createServices, type Services } from '@twofa/api';
import { type Config, loadConfig } from '@twofa/config';
import type { Clock } from '@twofa/core';
import { createLogger, type Logger } from '@twofa/observability';
import { type FakeTwilio, startFakeTwilio } from '@twofa/sms/fake-twilio';
import { startWorker, type WorkerRuntime } from '@twofa/worker';
import postgres from 'postgres';
import { createTestDatabase, uniquePrefix } from './database.ts';

export const ADMIN_KEY = 'test-platform-key-0123456789';
export const APP_SECRET = 'test-app-secret-0123456789abcdef';

/** Real time plus an offset the test can push forward. */
export class TestClock implements Clock {
  private offsetMs = 0;
  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }
  advance(ms: number): void {
    this.offsetMs += ms;
  }
}

export interface LogCapture {
  logger: Logger;
  lines: string[];
}

/** A real pino logger whose lines are kept, so tests can search them for secrets. */
export function captureLogs(name: string): LogCapture {
  const lines: string[] = [];
  const logger = createLogger({
    name,
    level: 'debug',
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { logger, lines };
}

export interface Response<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface Harness {
  config: Config;
  app: App;
  services: Services;
  worker: WorkerRuntime | null;
  twilio: FakeTwilio;
  clock: TestClock;
  sql: postgres.Sql;
  databaseUrl: string;
  queuePrefix: string;
  logs: LogCapture;
  workerLogs: LogCapture;
  request<T = any>(
    method: string,
    path: string,
    options?: {
      key?: string | null;
      body?: unknown;
      rawBody?: string;
      headers?: Record<string, string>;
    },
  ): Promise<Response<T>>;
  createOrganization(body?: Record<string, unknown>): Promise<{ id: string; apiKey: string }>;
  topUp(orgId: string, amount: number): Promise<void>;
  createUser(apiKey: string, body: Record<string, unknown>): Promise<{ id: string }>;
  enableTwoFactor(apiKey: string): Promise<void>;
  /** Polls until `check` returns a truthy value. */
  waitFor<T>(check: () => Promise<T | undefined | null | false>, timeoutMs?: number): Promise<T>;
  /** The code in the latest SMS sent to a number. */
  lastCodeFor(phone: string): string | null;
  close(): Promise<void>;
}

export interface HarnessOptions {
  worker?: boolean;
  env?: Record<string, string>;
}

export function testEnv(
  databaseUrl: string,
  queuePrefix: string,
  twilioUrl: string,
  extra: Record<string, string> = {},
) {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: queuePrefix,
    ADMIN_API_KEY: ADMIN_KEY,
    APP_SECRET,
    SMS_PROVIDER: 'twilio',
    TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
    TWILIO_AUTH_TOKEN: 'fake-twilio-auth-token',
    TWILIO_FROM: '+15005550006',
    TWILIO_API_BASE_URL: twilioUrl,
    TWILIO_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'debug',
    WORKER_CONCURRENCY: '10',
    RECONCILE_INTERVAL_MS: '500',
    // Off when the suite runs through PgBouncer (TEST_DATABASE_VIA=pgbouncer).
    ...(process.env.DATABASE_PREPARED_STATEMENTS && {
      DATABASE_PREPARED_STATEMENTS: process.env.DATABASE_PREPARED_STATEMENTS,
    }),
    ...extra,
  };
}

/**
 * The API app and (optionally) a worker in this process, against a database
 * and queue prefix of this test file's own, and a fake Twilio server.
 */
export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const database = await createTestDatabase();
  const queuePrefix = uniquePrefix('h');
  const twilio = await startFakeTwilio({
    accountSid: 'AC00000000000000000000000000000000',
    authToken: 'fake-twilio-auth-token',
  });
  const config = loadConfig(testEnv(database.url, queuePrefix, twilio.url, options.env));
  const clock = new TestClock();
  const logs = captureLogs('api');
  const workerLogs = captureLogs('worker');
  const services = createServices(config, { clock, logger: logs.logger });
  const app = createApp(services);
  const worker =
    options.worker === false
      ? null
      : await startWorker(config, { clock, logger: workerLogs.logger, metricsPort: 0 });
  const sql = postgres(database.url, { max: 2, onnotice: () => {} });

  const request: Harness['request'] = async (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...opts.headers };
    const key = opts.key === undefined ? undefined : opts.key;
    if (key) headers.authorization = `Bearer ${key}`;
    let body: string | undefined;
    if (opts.rawBody !== undefined) body = opts.rawBody;
    else if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined && !headers['content-type'])
      headers['content-type'] = 'application/json';
    const res = await app.request(path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as any, headers: res.headers };
  };

  const harness: Harness = {
    config,
    app,
    services,
    worker,
    twilio,
    clock,
    sql,
    databaseUrl: database.url,
    queuePrefix,
    logs,
    workerLogs,
    request,
    async createOrganization(body = { name: 'Happy Paws Clinic', country: 'FI' }) {
      const res = await request('POST', '/v1/organizations', { key: ADMIN_KEY, body });
      if (res.status !== 201)
        throw new Error(`create organization: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id, apiKey: res.body.apiKey };
    },
    async topUp(orgId, amount) {
      const res = await request('POST', `/v1/organizations/${orgId}/sms-credits`, {
        key: ADMIN_KEY,
        body: { amount },
      });
      if (res.status !== 201) throw new Error(`top up: ${res.status} ${JSON.stringify(res.body)}`);
    },
    async createUser(apiKey, body) {
      const res = await request('POST', '/v1/users', { key: apiKey, body });
      if (res.status !== 201)
        throw new Error(`create user: ${res.status} ${JSON.stringify(res.body)}`);
      return { id: res.body.id };
    },
    async enableTwoFactor(apiKey) {
      const res = await request('PATCH', '/v1/settings/password', {
        key: apiKey,
        body: { twoFactorEnabled: true },
      });
      if (res.status !== 200)
        throw new Error(`enable 2FA: ${res.status} ${JSON.stringify(res.body)}`);
    },
    async waitFor(check, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = await check();
        if (value) return value;
        if (Date.now() > deadline) throw new Error('waitFor timed out');
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    lastCodeFor(phone) {
      const messages = twilio.messages.filter((m) => m.to === phone);
      const last = messages[messages.length - 1];
      return last ? (/\b(\d{6})\b/.exec(last.body)?.[1] ?? null) : null;
    },
    async close() {
      await worker?.close();
      await closeServices(services);
      await sql.end();
      await twilio.close();
      await database.drop();
    },
  };
  return harness;
}
