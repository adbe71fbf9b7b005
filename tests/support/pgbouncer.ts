/**
 * PgBouncer (Debian's `pgbouncer`) in transaction mode in front of the test
 * Postgres: every database through one listener on a free port, trust auth,
 * small pools, so whatever passes through it relies on no session state
 * (prepared statements, advisory locks, SET, LISTEN) across transactions.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, requireCommand, waitUntil } from './process.ts';

export interface PgBouncer {
  readonly port: number;
  /** `postgres://user@127.0.0.1:port/<database>` through the pooler. */
  urlFor(database: string): string;
  readonly logs: string[];
  close(): Promise<void>;
}

export interface PgBouncerOptions {
  /** The Postgres to pool, as a URL without a database (TEST_PG_BASE). */
  target: string;
  /** Server connections per database (PgBouncer's default_pool_size). */
  poolSize?: number;
}

/** The settings the service needs from PgBouncer (see README, "Scaling"). */
export function pgbouncerIni(opts: {
  targetHost: string;
  targetPort: number;
  port: number;
  dir: string;
  poolSize: number;
}): string {
  return [
    '[databases]',
    // Any database name goes to the same Postgres (each test file has its own database).
    `* = host=${opts.targetHost} port=${opts.targetPort}`,
    '[pgbouncer]',
    'listen_addr = 127.0.0.1',
    `listen_port = ${opts.port}`,
    'unix_socket_dir =',
    'auth_type = trust',
    `auth_file = ${join(opts.dir, 'users.txt')}`,
    'pool_mode = transaction',
    `default_pool_size = ${opts.poolSize}`,
    `max_db_connections = ${opts.poolSize}`,
    'max_client_conn = 2000',
    // Give idle server connections back soon: Postgres is shared with other test runs.
    'server_idle_timeout = 10',
    'autodb_idle_timeout = 30',
    // Startup parameters some clients send that PgBouncer does not track itself.
    'ignore_startup_parameters = extra_float_digits,options',
    `pidfile = ${join(opts.dir, 'pgbouncer.pid')}`,
    'admin_users = postgres',
    '',
  ].join('\n');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startPgBouncer(options: PgBouncerOptions): Promise<PgBouncer> {
  requireCommand('pgbouncer', 'pgbouncer');
  const target = new URL(options.target);
  const user = decodeURIComponent(target.username || 'postgres');
  const dir = mkdtempSync(join(tmpdir(), 'twofa-pgbouncer-'));
  const port = await freePort();
  writeFileSync(join(dir, 'users.txt'), `"${user}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    pgbouncerIni({
      targetHost: target.hostname || '127.0.0.1',
      targetPort: Number(target.port || 5432),
      port,
      dir,
      poolSize: options.poolSize ?? 10,
    }),
  );
  // PgBouncer refuses to run as root: as root (CI), run it as the postgres user.
  const args = [join(dir, 'pgbouncer.ini')];
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
    for (const file of ['users.txt', 'pgbouncer.ini']) chownSync(join(dir, file), uid, gid);
    chmodSync(dir, 0o755);
    args.unshift('-u', 'postgres');
  }
  const logs: string[] = [];
  const child: ChildProcess = spawn('pgbouncer', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      logs.push(...chunk.split('\n').filter(Boolean));
      if (logs.length > 2_000) logs.splice(0, logs.length - 2_000);
    });
  }
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  const close = async () => {
    process.off('exit', kill);
    // SIGTERM: PgBouncer's immediate shutdown.
    if (!exited) child.kill('SIGTERM');
    const timer = setTimeout(kill, 3_000);
    await exit;
    clearTimeout(timer);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      `pgbouncer on ${port}`,
      async () => {
        if (exited) throw new Error(`pgbouncer exited:\n${logs.join('\n')}`);
        return canConnect(port);
      },
      { timeoutMs: 10_000 },
    );
  } catch (error) {
    await close();
    throw error;
  }
  const auth = target.password
    ? `${target.username}:${target.password}@`
    : target.username
      ? `${target.username}@`
      : '';
  return {
    port,
    urlFor: (database) => `postgres://${auth}127.0.0.1:${port}/${database}`,
    logs,
    close,
  };
}
