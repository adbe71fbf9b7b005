/**
 * The contract's NODE_ENV row, at the process level: outside development and
 * test the API and the worker refuse to start without ADMIN_API_KEY and
 * APP_SECRET (a clear message, no stack trace, a non-zero exit), while
 * `npm start` (scripts/start-all.ts) runs in development when NODE_ENV is unset.
 */
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  freePort,
  REPO_ROOT,
  uniquePrefix,
  waitUntil,
} from '../support/index.ts';

/** The parent's environment without NODE_ENV or either secret (vitest sets NODE_ENV=test). */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  return { ...env, LOG_LEVEL: 'warn', ...extra };
}

function run(entry: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c) => {
    stdout += c;
  });
  child.stderr.on('data', (c) => {
    stderr += c;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  return {
    child,
    exited,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

describe('NODE_ENV unset', () => {
  it.each([
    ['api', 'apps/api/src/main.ts'],
    ['worker', 'apps/worker/src/main.ts'],
  ])(
    'the %s refuses to start without the secrets: message, no stack, non-zero exit',
    async (_n, entry) => {
      const proc = run(entry, bareEnv({ PORT: '0', WORKER_METRICS_PORT: '0' }));
      const code = await proc.exited;
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      expect(proc.stderr).toMatch(/Invalid configuration/);
      expect(proc.stderr).toMatch(/ADMIN_API_KEY: required: NODE_ENV is unset/);
      expect(proc.stderr).toMatch(/APP_SECRET: required/);
      expect(proc.stderr).not.toMatch(/\n\s+at /);
      expect(proc.stdout).not.toMatch(/listening|worker started/);
    },
    150_000,
  );

  it('`npm start` (start-all) runs in development: up on the fixed platform key', async () => {
    const db = await createTestDatabase();
    const port = await freePort();
    const proc = run(
      'scripts/start-all.ts',
      bareEnv({
        DATABASE_URL: db.url,
        REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        QUEUE_PREFIX: uniquePrefix('nodeenv'),
        PORT: String(port),
        HOST: '127.0.0.1',
        WORKER_METRICS_PORT: String(await freePort()),
        DB_POOL_SIZE: '2',
        WORKER_CONCURRENCY: '1',
      }),
    );
    cleanups.push(async () => {
      if (proc.child.exitCode === null) {
        proc.child.kill('SIGTERM');
        await proc.exited;
      }
      await db.drop();
    });
    await waitUntil(
      'api up',
      async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok === true,
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    const res = await fetch(`http://127.0.0.1:${port}/v1/organizations`, {
      method: 'POST',
      headers: { authorization: 'Bearer dev-admin-key', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'Dev Org' }),
    });
    expect(res.status).toBe(201);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  }, 180_000);
});
