/**
 * The benchmark's child processes: the process basics are the tests' own
 * (tests/support/process.ts); what differs is that output goes to a log file
 * per child, so the bench's own process spends nothing reading it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FatalError,
  freePort,
  killOnExit,
  REPO_ROOT,
  sleep,
  waitUntil as waitUntilShared,
} from '../../tests/support/process.ts';

export { FatalError, freePort, REPO_ROOT, sleep };
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
  killOnExit(proc);
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

/** Polls until `check` returns a value, failing at once if `child` exits, with its log tail. */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number; child?: Child } = {},
): Promise<T> {
  const { child, ...wait } = opts;
  return waitUntilShared(
    what,
    async () => {
      if (child?.exited()) {
        throw new FatalError(`${child.name} exited while waiting for ${what}:\n${logTail(child)}`);
      }
      return check();
    },
    { ...wait, ...(child && { tail: () => logTail(child) }) },
  );
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
