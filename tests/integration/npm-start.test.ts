/**
 * The README's first command on a fresh machine: `npm start` creates and
 * migrates a database that does not exist yet, runs the API and a worker,
 * and with no Twilio credentials prints the codes it would send. A full
 * login goes through it, then SIGTERM stops both cleanly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  jsonRequest,
  REPO_ROOT,
  TEST_PG_BASE,
  uniquePrefix,
  waitUntil,
} from '../support/index.ts';

const ADMIN = 'npm-start-platform-key-0123456789';
const database = `twofa_start_${randomBytes(4).toString('hex')}`;
let child: ChildProcess;
let output = '';
let base = '';
let workerPort = 0;

const call = (method: string, path: string, key: string, body?: unknown) =>
  jsonRequest(base, method, path, { key, body });

beforeAll(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  workerPort = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    NODE_ENV: 'development',
    DATABASE_URL: `${TEST_PG_BASE}/${database}`,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: uniquePrefix('start'),
    ADMIN_API_KEY: ADMIN,
    PORT: String(port),
    HOST: '127.0.0.1',
    WORKER_METRICS_PORT: String(workerPort),
    DB_POOL_SIZE: '3',
    WORKER_CONCURRENCY: '5',
    LOG_LEVEL: 'warn',
  };
  child = spawn('npm', ['start'], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout?.on('data', (chunk) => {
    output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    output += chunk;
  });
  await waitUntil(
    '/ready',
    async () => (await fetch(`${base}/ready`).catch(() => null))?.status === 200,
    { timeoutMs: 90_000, intervalMs: 250 },
  );
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null && child.pid) process.kill(-child.pid, 'SIGKILL');
  const admin = postgres(`${TEST_PG_BASE}/postgres`, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${database} with (force)`);
  await admin.end();
});

describe('npm start', () => {
  it('migrates a new database and serves a whole login, codes printed by the console provider', async () => {
    const admin = postgres(`${TEST_PG_BASE}/${database}`, { max: 1, onnotice: () => {} });
    const [tables] = await admin<{ n: number }[]>`
      select count(*)::int as n from information_schema.tables where table_schema = 'public'`;
    await admin.end();
    expect(tables?.n).toBeGreaterThanOrEqual(7);

    const org = await call('POST', '/v1/organizations', ADMIN, {
      name: 'Start Clinic',
      country: 'FI',
    });
    expect(org.status).toBe(201);
    const key = org.body.apiKey as string;
    expect(
      (await call('POST', `/v1/organizations/${org.body.id}/sms-credits`, ADMIN, { amount: 3 }))
        .status,
    ).toBe(201);
    expect(
      (await call('PATCH', '/v1/settings/password', key, { twoFactorEnabled: true })).status,
    ).toBe(200);
    expect(
      (
        await call('POST', '/v1/users', key, {
          email: 'start@example.com',
          password: 'pw-start-1',
          phone: '040 765 1111',
        })
      ).status,
    ).toBe(201);
    const login = await call('POST', '/v1/logins', key, {
      email: 'start@example.com',
      password: 'pw-start-1',
      ip: '198.51.100.7',
    });
    expect(login.body.result).toBe('challenge_required');

    const code = await waitUntil(
      'the console provider to print the code',
      () =>
        /\[console sms\] to \+358407651111: Start Clinic: your sign-in code is (\d{6})\./.exec(
          output,
        )?.[1],
      { timeoutMs: 30_000 },
    );
    // npm start sets PUBLIC_BASE_URL in development: the message ends with its WebOTP line.
    expect(output).toContain(`@localhost #${code}`);
    const verify = await call('POST', `/v1/challenges/${login.body.challenge.id}/verify`, key, {
      code,
    });
    expect(verify.status).toBe(200);
    expect(verify.body.result).toBe('authenticated');
  }, 90_000);

  it('stops API and worker on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) =>
      child.once('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // Both services are gone too, not orphaned: their ports no longer answer.
    await expect(fetch(`${base}/health`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${workerPort}/health`)).rejects.toThrow();
  }, 60_000);
});
