/**
 * "More workers": `npm run start:worker` twice on one host with the same
 * environment. The second finds the default metrics port taken and serves on
 * a free one, named in its log; a port set by hand that is taken stops the
 * start with a message saying so.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DEFAULT_WORKER_METRICS_PORT } from '@twofa/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, testEnv, uniquePrefix, waitUntil } from '../support/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Worker {
  child: ChildProcess;
  output: string;
  exit: Promise<number | null>;
}

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let env: NodeJS.ProcessEnv;
const workers: Worker[] = [];

function launch(command: string, args: string[], extra: NodeJS.ProcessEnv = {}): Worker {
  // Its own process group, so one signal reaches npm and the node behind it.
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...env, ...extra },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const worker: Worker = {
    child,
    output: '',
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout?.on('data', (chunk) => {
    worker.output += chunk;
  });
  child.stderr?.on('data', (chunk) => {
    worker.output += chunk;
  });
  workers.push(worker);
  return worker;
}

function logs(worker: Worker): Record<string, unknown>[] {
  return worker.output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The port its "worker started" line names, once it has logged it. */
async function startedOn(worker: Worker): Promise<number> {
  return waitUntil(
    'the worker to log that it started',
    () => {
      if (worker.child.exitCode !== null) {
        throw new Error(`worker exited (${worker.child.exitCode}):\n${worker.output}`);
      }
      const started = logs(worker).find((l) => l.msg === 'worker started');
      return started ? (started.metricsPort as number) : null;
    },
    { timeoutMs: 90_000, intervalMs: 200 },
  );
}

async function get(port: number, path: string) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, body: await res.text() };
}

beforeAll(async () => {
  database = await createTestDatabase();
  const base = testEnv(database.url, uniquePrefix('host'), 'http://127.0.0.1:9', {
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    DB_POOL_SIZE: '2',
    WORKER_CONCURRENCY: '3',
    RECONCILE_INTERVAL_MS: '60000',
  });
  // Built from scratch: nothing per worker, WORKER_METRICS_PORT least of all, leaks in.
  env = { PATH: process.env.PATH, HOME: process.env.HOME, ...base };
});

afterAll(async () => {
  for (const w of workers) {
    if (w.child.exitCode === null && w.child.pid) process.kill(-w.child.pid, 'SIGKILL');
  }
  await database?.drop();
});

describe('two workers on one host with the same environment', { timeout: 180_000 }, () => {
  let ports: number[] = [];

  it('both start, on different ports, and both answer /health, /ready and /metrics', async () => {
    const first = launch('npm', ['run', 'start:worker']);
    const firstPort = await startedOn(first);
    const second = launch('npm', ['run', 'start:worker']);
    const secondPort = await startedOn(second);
    ports = [firstPort, secondPort];

    expect(first.child.exitCode).toBeNull();
    expect(second.child.exitCode).toBeNull();
    expect(secondPort).not.toBe(firstPort);
    for (const [worker, port] of [
      [first, firstPort],
      [second, secondPort],
    ] as const) {
      // The default port, or a free one the worker logged because the default was taken.
      if (port !== DEFAULT_WORKER_METRICS_PORT) {
        expect(logs(worker)).toContainEqual(
          expect.objectContaining({ wanted: DEFAULT_WORKER_METRICS_PORT, metricsPort: port }),
        );
      }
      expect(await get(port, '/health')).toEqual({ status: 200, body: '{"status":"ok"}' });
      expect((await get(port, '/ready')).status).toBe(200);
      const metrics = await get(port, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/^twofa_worker_concurrency\{[^}]*\} 3$/m);
      expect(metrics.body).toMatch(/^twofa_queue_jobs\{/m);
    }
  });

  it('refuses a metrics port set by hand that is taken, saying which', async () => {
    const taken = ports[0] as number;
    const third = launch(process.execPath, ['--import', 'tsx', 'apps/worker/src/main.ts'], {
      WORKER_METRICS_PORT: String(taken),
    });
    expect(await third.exit).toBe(1);
    expect(logs(third)).toContainEqual(
      expect.objectContaining({
        msg: 'worker failed to start',
        err: expect.stringMatching(new RegExp(`WORKER_METRICS_PORT ${taken} is taken.*EADDRINUSE`)),
      }),
    );
    expect(logs(third).some((l) => l.msg === 'worker started')).toBe(false);
  });

  it('drains and stops both on SIGTERM with exit code 0', async () => {
    const running = workers.slice(0, 2);
    // To the worker's own node process (its log lines carry its pid); npm then exits with its code.
    for (const w of running) process.kill(logs(w)[0]?.pid as number, 'SIGTERM');
    for (const w of running) {
      expect(await w.exit).toBe(0);
      expect(logs(w).at(-1)?.msg).toBe('stopped');
    }
  });
});
