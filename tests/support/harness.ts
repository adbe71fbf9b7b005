/** The API app and a worker in this process: the harness most tests use. */
import { type App, closeServices, createApp, createServices, type Services } from '@twofa/api';
import { type Config, loadConfig } from '@twofa/config';
import type { Clock } from '@twofa/core';
import { createLogger, type Logger } from '@twofa/observability';
import { type FakeTwilio, startFakeTwilio } from '@twofa/testkit';
import { startWorker, type WorkerRuntime } from '@twofa/worker';
import postgres from 'postgres';
import { createTestDatabase, uniquePrefix } from './database.ts';
import { ADMIN_KEY, FAKE_TWILIO, testEnv } from './env.ts';
import { fileFixture } from './fixture.ts';
import { type JsonResponse, type RequestOptions, readJson, requestInit } from './http.ts';

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
    options?: RequestOptions,
  ): Promise<JsonResponse<T>>;
  createOrganization(body?: Record<string, unknown>): Promise<{ id: string; apiKey: string }>;
  topUp(orgId: string, amount: number): Promise<void>;
  createUser(apiKey: string, body: Record<string, unknown>): Promise<{ id: string }>;
  enableTwoFactor(apiKey: string): Promise<void>;
  /** Polls until `check` returns a truthy value. */
  waitFor<T>(check: () => Promise<T | undefined | null | false>, timeoutMs?: number): Promise<T>;
  /** The code in the latest SMS sent to a number. */
  lastCodeFor(phone: string): string | null;
  /**
   * Moves time `ms` forward for challenges, user locks and trusted devices, which the
   * database's clock judges:
   * their stored times move `ms` back. The API's clock (sessions, caches, devices) moves with it.
   */
  travel(ms: number): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  worker?: boolean;
  env?: Record<string, string>;
  /** The database URL the app and worker are given (say, through a relay); the test's own `sql` uses the real one. */
  databaseUrl?: (url: string) => string;
}

/**
 * The API app and (optionally) a worker in this process, against a database
 * and queue prefix of this test file's own, and a fake Twilio server.
 */
export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const database = await createTestDatabase();
  const queuePrefix = uniquePrefix('h');
  const twilio = await startFakeTwilio(FAKE_TWILIO);
  const appDatabaseUrl = options.databaseUrl?.(database.url) ?? database.url;
  const config = loadConfig(testEnv(appDatabaseUrl, queuePrefix, twilio.url, options.env));
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

  const request: Harness['request'] = async (method, path, opts = {}) =>
    readJson(await app.request(path, requestInit(method, opts)));

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
    async travel(ms) {
      const by = sql`${ms} * interval '1 millisecond'`;
      await sql.begin((tx) => [
        tx`update challenges set expires_at = expires_at - ${by},
          last_send_at = last_send_at - ${by}, created_at = created_at - ${by},
          updated_at = updated_at - ${by}`,
        tx`update users set locked_until = locked_until - ${by} where locked_until is not null`,
        tx`update trusted_devices set expires_at = expires_at - ${by}, created_at = created_at - ${by}`,
      ]);
      clock.advance(ms);
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

/** A harness for this file's tests: created before them, closed after them. */
export function withHarness(options: HarnessOptions = {}): Harness {
  return fileFixture(
    'withHarness()',
    () => createHarness(options),
    (h) => h.close(),
  );
}
