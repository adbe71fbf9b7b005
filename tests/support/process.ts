/**
 * Child processes for tests (and the benchmark): spawned with their output kept,
 * killed when this process exits however it exits, polled until ready.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { type AddressInfo, createServer as createTcpServer } from 'node:net';
import { delimiter, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { httpGet } from './http.ts';

/** The repository root: the cwd of every child, so `apps/...` paths and tsx resolve. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const MAX_LOG_LINES = 50_000;

/** Every child still running, killed when this process exits however it exits. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILLs `child` should this process exit while it still runs. */
export function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const running of live) {
        try {
          running.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  live.add(child);
  child.once('exit', () => live.delete(child));
}

/**
 * Throws at once, naming the Debian package, when `command` is not on PATH: a
 * helper checks before it spawns, so a missing tool fails its suite with this
 * message instead of `spawn ENOENT` and a hook timeout. (`npm test` installs
 * missing tools first when it can: scripts/test-preflight.mjs.)
 */
export function requireCommand(command: string, debianPackage: string): void {
  const candidates = isAbsolute(command)
    ? [command]
    : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, command));
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return;
    } catch {
      // not in this directory
    }
  }
  throw new FatalError(
    `${command} is not installed: \`apt-get install -y ${debianPackage}\` installs it ` +
      '(npm test does so itself when run as root on Debian).',
  );
}

/** A port nobody listened on a moment ago; a child that loses the race is retried. */
export async function freePort(): Promise<number> {
  const server = createTcpServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Thrown from a waitUntil check to stop waiting at once. */
export class FatalError extends Error {}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Appended to the timeout error (a child's last log lines, say). */
  tail?: () => string;
}

/**
 * Polls until `check` returns a truthy value, or throws naming what it waited
 * for. A check that throws is retried, unless it throws a FatalError.
 */
export async function waitUntil<T>(
  what: string,
  check: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 50, tail }: WaitOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      if (error instanceof FatalError) throw error;
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      const more = tail ? `\n${tail()}` : '';
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${cause}${more}`);
    }
    await sleep(intervalMs);
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** stdout and stderr, one entry a line, oldest first (capped). */
  readonly logs: string[];
  /** Null while it runs. */
  readonly exit: ExitInfo | null;
  readonly exited: Promise<ExitInfo>;
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<ExitInfo>;
  /** SIGTERM, then SIGKILL if it is still running after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<ExitInfo>;
  /** The parsed JSON log lines (pino), non-JSON lines skipped. */
  jsonLogs(): Record<string, unknown>[];
  tail(lines?: number): string;
}

export function spawnManaged(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): ManagedProcess {
  const child = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`${name}: could not spawn ${command}`);
  killOnExit(child);
  const logs: string[] = [];
  const collect = (stream: NodeJS.ReadableStream | null) => {
    let partial = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        if (logs.length >= MAX_LOG_LINES) logs.shift();
        logs.push(line);
      }
    });
    stream?.on('end', () => {
      if (partial) logs.push(partial);
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  let exit: ExitInfo | null = null;
  const exited = new Promise<ExitInfo>((resolve) => {
    // 'close', not 'exit': by then stdout and stderr are read to the end, so the
    // last lines a process wrote before exiting are in `logs`.
    child.once('close', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
  });
  const managed: ManagedProcess = {
    name,
    pid: child.pid,
    logs,
    get exit() {
      return exit;
    },
    exited,
    signal(signal) {
      if (!exit) child.kill(signal);
    },
    async kill() {
      if (!exit) child.kill('SIGKILL');
      return exited;
    },
    async stop(timeoutMs = 15_000) {
      if (exit) return exit;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const info = await exited;
      clearTimeout(timer);
      return info;
    },
    jsonLogs() {
      const parsed: Record<string, unknown>[] = [];
      for (const line of logs) {
        if (!line.startsWith('{')) continue;
        try {
          parsed.push(JSON.parse(line) as Record<string, unknown>);
        } catch {
          // a line cut by the cap or a crash
        }
      }
      return parsed;
    },
    tail(lines = 40) {
      return logs.slice(-lines).join('\n');
    },
  };
  return managed;
}

/** Resolves once `url` answers 200; throws (and kills `proc`) if it exits or the time runs out. */
export async function waitHealthy(
  proc: ManagedProcess,
  url: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exit) {
      throw new Error(
        `${proc.name} exited (${JSON.stringify(proc.exit)}) before ${url} answered:\n${proc.tail()}`,
      );
    }
    try {
      const res = await httpGet(url, 1_000);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`${proc.name}: ${url} not healthy after ${timeoutMs} ms:\n${proc.tail()}`);
    }
    await sleep(100);
  }
}

export const isPortClash = (proc: ManagedProcess) =>
  proc.logs.some((l) => l.includes('EADDRINUSE'));

/** Starts a service on a fresh free port, retrying when another process took the port first. */
export async function startOnFreePort<T>(
  start: (port: number) => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await start(await freePort());
    } catch (error) {
      if (i >= attempts || !(error instanceof PortClashError)) throw error;
    }
  }
}

/** Another process took the port between freePort() and the child's listen. */
export class PortClashError extends Error {}

/** Keeps every process a test file starts, so afterAll can stop them even after a failure. */
export class ProcessGroup {
  private readonly members = new Set<{ close(): Promise<unknown> }>();

  add<T extends ManagedProcess | { close(): Promise<unknown> }>(member: T): T {
    const close =
      'close' in member ? () => member.close() : () => (member as ManagedProcess).kill();
    this.members.add({ close });
    return member;
  }

  /** Kills everything still running, in parallel; never throws. */
  async closeAll(): Promise<void> {
    const all = [...this.members];
    this.members.clear();
    await Promise.all(all.map((m) => m.close().catch(() => {})));
  }
}

/**
 * `npm run cli -- <args>` as an operator runs it (a process of its own, the
 * repository as its directory) with `env` as its whole environment besides
 * PATH; its exit code and its JSON output (null when it printed none).
 */
export function runCli(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; json: any }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/cli.ts', ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
      (error, stdout) => {
        let json: unknown = null;
        try {
          json = JSON.parse(stdout);
        } catch {
          // not JSON
        }
        resolve({ code: error ? Number(error.code ?? -1) : 0, json });
      },
    );
  });
}
