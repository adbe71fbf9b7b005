import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const LOG_DIR = mkdtempSync(join(tmpdir(), 'twofa-bench-'));

export interface Child {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly logPath: string;
  /** SIGTERM, then SIGKILL after the grace period; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  exited(): boolean;
}

const children = new Set<Child>();

export interface StartOptions {
  env?: Record<string, string>;
  /** Extra node flags (e.g. --cpu-prof), placed before the script. */
  nodeFlags?: string[];
  /** Opens an IPC channel (process.send in the child). */
  ipc?: boolean;
  cwd?: string;
}

/** Starts `node --import tsx <script>` with output going to a log file of its own. */
export function startChild(
  name: string,
  script: string,
  args: string[] = [],
  opts: StartOptions = {},
): Child {
  const logPath = join(LOG_DIR, `${name}.log`);
  const fd = openSync(logPath, 'a');
  const proc = spawn(
    process.execPath,
    ['--import', 'tsx', ...(opts.nodeFlags ?? []), script, ...args],
    {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, ...opts.env },
      stdio: opts.ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd],
    },
  );
  closeSync(fd);
  let exitCode: number | null | undefined;
  const done = new Promise<number | null>((resolve) => {
    proc.once('exit', (code, signal) => {
      exitCode = code ?? (signal ? null : 0);
      children.delete(child);
      resolve(exitCode);
    });
  });
  const child: Child = {
    name,
    proc,
    logPath,
    exited: () => exitCode !== undefined,
    async stop(graceMs = 10_000) {
      if (exitCode !== undefined) return exitCode;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const code = await done;
      clearTimeout(timer);
      return code;
    },
  };
  children.add(child);
  return child;
}

export async function stopAll(): Promise<void> {
  await Promise.all([...children].map((c) => c.stop(5_000)));
}

/** Last lines of a child's log, for error messages. */
export function logTail(child: Child, lines = 20): string {
  try {
    return readFileSync(child.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// Children must not outlive the bench, whatever way it ends.
process.once('exit', () => {
  for (const child of children) child.proc.kill('SIGKILL');
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Thrown from a waitUntil check to stop waiting at once. */
export class FatalError extends Error {}

/** Polls until `check` returns a value, failing after the timeout with the child's log tail. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number; child?: Child } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (opts.child?.exited()) {
      throw new Error(
        `${opts.child.name} exited while waiting for ${what}:\n${logTail(opts.child)}`,
      );
    }
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      if (error instanceof FatalError) throw error;
      lastError = error;
    }
    await sleep(opts.intervalMs ?? 50);
  }
  const tail = opts.child ? `\n${logTail(opts.child)}` : '';
  const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
  throw new Error(`Timed out waiting for ${what}${cause}${tail}`);
}

export async function waitForHttp(url: string, child?: Child, timeoutMs = 60_000): Promise<void> {
  await waitUntil(
    `${url} to answer`,
    async () => {
      const res = await fetch(url);
      await res.arrayBuffer();
      return res.ok;
    },
    { child, timeoutMs, intervalMs: 100 },
  );
}

/** Resolves with the child's first IPC message matching `pick`. */
export function nextMessage<T>(
  child: Child,
  pick: (msg: unknown) => T | undefined,
  timeoutMs = 60_000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`${child.name}: no message within ${timeoutMs} ms\n${logTail(child)}`));
    }, timeoutMs);
    const onMessage = (msg: unknown) => {
      const value = pick(msg);
      if (value === undefined) return;
      cleanup();
      resolve(value);
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`${child.name} exited:\n${logTail(child)}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.proc.off('message', onMessage);
      child.proc.off('exit', onExit);
    };
    child.proc.on('message', onMessage);
    child.proc.once('exit', onExit);
  });
}
