/**
 * HAProxy (Debian's `haproxy`) as the load balancer in front of API replicas:
 * round robin, a /health check every 300 ms, a refused connection retried on
 * another replica. Foreground (`-db`), its own config file, a free port.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, httpGet, requireCommand, waitUntil } from '../support/index.ts';

export interface Haproxy {
  readonly url: string;
  readonly logs: string[];
  /**
   * The runtime API's `set server`: `maint` takes a replica out of rotation (what a
   * rolling deploy does before stopping it), `ready` puts it back.
   */
  setState(server: string, state: 'ready' | 'drain' | 'maint'): Promise<void>;
  /** Requests the balancer has open to a replica now (`show stat`'s scur). */
  sessions(server: string): Promise<number>;
  close(): Promise<void>;
}

/** One command on the admin socket; resolves with the reply. */
function adminCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const conn = connect(socket);
    let reply = '';
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.end(`${command}\n`));
    conn.on('data', (chunk: string) => {
      reply += chunk;
    });
    conn.on('end', () => resolve(reply));
    conn.on('error', reject);
  });
}

export function haproxyConfig(
  port: number,
  backends: readonly { name: string; port: number }[],
  socket: string,
) {
  return [
    'global',
    '  maxconn 2000',
    '  log stderr format raw local0 notice',
    `  stats socket ${socket} level admin`,
    'defaults',
    '  mode http',
    '  timeout connect 1s',
    '  timeout client 30s',
    '  timeout server 30s',
    // A replica that refuses the connection (stopped, restarting) is skipped, not the request.
    '  retries 3',
    '  option redispatch',
    '  option forwardfor',
    // A fresh connection to a replica per request: a stopping replica closes its idle
    // keep-alive connections, and a request racing that close would get no answer
    // (POSTs are not retried); a refused connect is retried on the other replica.
    '  option http-server-close',
    'frontend api',
    `  bind 127.0.0.1:${port}`,
    '  default_backend replicas',
    'backend replicas',
    '  balance roundrobin',
    '  option httpchk GET /health',
    ...backends.map((b) => `  server ${b.name} 127.0.0.1:${b.port} check inter 300 fall 1 rise 1`),
    '',
  ].join('\n');
}

export async function startHaproxy(
  backends: readonly { name: string; port: number }[],
): Promise<Haproxy> {
  requireCommand('haproxy', 'haproxy');
  const dir = mkdtempSync(join(tmpdir(), 'twofa-haproxy-'));
  const port = await freePort();
  const file = join(dir, 'haproxy.cfg');
  const socket = join(dir, 'admin.sock');
  writeFileSync(file, haproxyConfig(port, backends, socket));
  const logs: string[] = [];
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => logs.push(...chunk.split('\n').filter(Boolean)));
  }
  let exited = false;
  const exit = new Promise<void>((resolve) =>
    child.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  process.once('exit', () => child.kill('SIGKILL'));
  const close = async () => {
    if (!exited) child.kill('SIGKILL');
    await exit;
    rmSync(dir, { recursive: true, force: true });
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitUntil(
      'haproxy to forward /health',
      async () => {
        if (exited) throw new Error(`haproxy exited: ${logs.join('\n')}`);
        return (await httpGet(`${url}/health`, 500)).status === 200;
      },
      { timeoutMs: 10_000 },
    );
  } catch (error) {
    await close();
    throw error;
  }
  const setState = async (server: string, state: 'ready' | 'drain' | 'maint') => {
    const reply = await adminCommand(socket, `set server replicas/${server} state ${state}`);
    if (reply.trim()) throw new Error(`haproxy: ${reply.trim()}`);
  };
  const sessions = async (server: string) => {
    const csv = await adminCommand(socket, 'show stat');
    const row = csv.split('\n').find((l) => l.startsWith(`replicas,${server},`));
    if (!row) throw new Error(`haproxy: no server ${server} in show stat`);
    return Number(row.split(',')[4]);
  };
  return { url, logs, setState, sessions, close };
}
