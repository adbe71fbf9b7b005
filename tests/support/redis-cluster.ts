/**
 * A real Redis Cluster for tests: `masters` masters with `replicasPerMaster`
 * replicas each, as `redis-server --cluster-enabled yes` processes on free
 * local ports, joined by `redis-cli --cluster create`. No persistence; a short
 * `cluster-node-timeout` so a killed master's replica is promoted in seconds.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitUntil } from './process.ts';
import { EPHEMERAL_REDIS_ARGS } from './redis-server.ts';

const run = promisify(execFile);

export interface RedisClusterNode {
  readonly port: number;
  /** The cluster bus port (`--cluster-port`). */
  readonly busPort: number;
  readonly running: boolean;
  /** The redis-server's stdout and stderr, one entry a line. */
  readonly logs: string[];
}

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long a master may be silent before it counts as failed. */
  nodeTimeoutMs?: number;
  /**
   * The nodes' client ports (from `freePorts`), so services can be started with
   * REDIS_CLUSTER_NODES while the cluster forms; free ones otherwise.
   */
  ports?: readonly number[];
}

export interface ClusterNodeRole {
  port: number;
  role: 'master' | 'slave';
  /** For a replica, the port of its master. */
  masterPort: number | null;
  /** For a master, how many slots it serves. */
  slots: number;
  /** For a master, the slot ranges it serves, inclusive. */
  ranges: [number, number][];
  failed: boolean;
}

export interface RedisCluster {
  readonly nodes: readonly RedisClusterNode[];
  /** `127.0.0.1:P1,127.0.0.1:P2,...`: every node, for REDIS_CLUSTER_NODES. */
  readonly seedNodes: string;
  /** One command on one node (RESP over a raw socket); the reply as text. */
  command(port: number, ...args: string[]): Promise<string>;
  /** The cluster as the given (or the first running) node sees it. */
  topology(port?: number): Promise<ClusterNodeRole[]>;
  /** Running masters that serve slots. */
  masters(): Promise<ClusterNodeRole[]>;
  /** The master serving `key`'s slot. */
  masterFor(key: string): Promise<ClusterNodeRole>;
  /** SIGKILL one node: gone without a goodbye, as a crashed host. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port with its nodes.conf: it rejoins (as a replica). */
  restart(port: number): Promise<void>;
  /** Until every running node reports `cluster_state:ok` and every slot has a live master. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Every redis-server this process started, killed if the test process exits first. */
const live = new Set<ChildProcess>();
let exitHook = false;

/** One RESP command; the whole reply decoded to text (bulk strings joined by newlines). */
function respCommand(port: number, args: string[], timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const timer = setTimeout(() => socket.destroy(new Error('redis command timeout')), timeoutMs);
    let buffer = Buffer.alloc(0);
    const finish = (error: Error | null, value?: string) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value ?? '');
    };
    socket.on('connect', () => {
      const parts = args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
      socket.write(`*${args.length}\r\n${parts}`);
    });
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      const parsed = parseReply(buffer, 0);
      if (!parsed) return;
      if (parsed.error) finish(new Error(parsed.error));
      else finish(null, parsed.value);
    });
    socket.on('error', (error) => finish(error));
  });
}

type Parsed = { value: string; error?: string; end: number } | null;

function parseReply(buf: Buffer, at: number): Parsed {
  const lineEnd = buf.indexOf('\r\n', at);
  if (lineEnd < 0) return null;
  const type = String.fromCharCode(buf[at] ?? 0);
  const line = buf.toString('utf8', at + 1, lineEnd);
  switch (type) {
    case '+':
    case ':':
      return { value: line, end: lineEnd + 2 };
    case '-':
      return { value: '', error: line, end: lineEnd + 2 };
    case '$': {
      const length = Number(line);
      if (length < 0) return { value: '', end: lineEnd + 2 };
      const start = lineEnd + 2;
      if (buf.length < start + length + 2) return null;
      return { value: buf.toString('utf8', start, start + length), end: start + length + 2 };
    }
    case '*': {
      const count = Number(line);
      const values: string[] = [];
      let next = lineEnd + 2;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buf, next);
        if (!item) return null;
        values.push(item.value);
        next = item.end;
      }
      return { value: values.join('\n'), end: next };
    }
    default:
      return { value: '', error: `unexpected reply type ${type}`, end: buf.length };
  }
}

/** `CLUSTER NODES` as roles by port. */
function parseClusterNodes(text: string): ClusterNodeRole[] {
  const rows = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((line) => {
      const [id = '', address = '', flags = '', master = '', , , , , ...slots] = line.split(' ');
      return { id, port: Number(/:(\d+)@/.exec(address)?.[1]), flags, master, slots };
    });
  const portOf = new Map(rows.map((r) => [r.id, r.port]));
  return rows.map((r) => {
    // Entries in brackets are slots being migrated, not served.
    const ranges = r.slots
      .filter((s) => !s.startsWith('['))
      .map((s): [number, number] => {
        const [from = 0, to = from] = s.split('-').map(Number);
        return [from, to];
      });
    return {
      port: r.port,
      role: r.flags.includes('master') ? 'master' : 'slave',
      masterPort: r.master === '-' ? null : (portOf.get(r.master) ?? null),
      slots: ranges.reduce((n, [from, to]) => n + to - from + 1, 0),
      ranges,
      failed: /fail(?!\?)/.test(r.flags) || r.flags.includes('noaddr'),
    };
  });
}

/** The slot of a key, as Redis Cluster computes it (CRC16 of the hash tag or key, mod 16384). */
export function clusterKeySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++)
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

interface NodeState {
  port: number;
  busPort: number;
  logs: string[];
  child: ChildProcess | null;
}

function launch(node: NodeState, dir: string, nodeTimeoutMs: number): ChildProcess {
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(node.port),
      '--cluster-port',
      String(node.busPort),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${node.port}.conf`),
      '--cluster-node-timeout',
      String(nodeTimeoutMs),
      // Any replica may be promoted, however long it was cut off from its master.
      '--cluster-replica-validity-factor',
      '0',
      '--dir',
      dir,
      ...EPHEMERAL_REDIS_ARGS,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  live.add(child);
  const collect = (stream: NodeJS.ReadableStream | null) => {
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line) node.logs.push(line);
      if (node.logs.length > 5_000) node.logs.splice(0, node.logs.length - 5_000);
    });
  };
  collect(child.stdout);
  collect(child.stderr);
  child.once('exit', () => {
    live.delete(child);
    if (node.child === child) node.child = null;
  });
  node.child = child;
  return child;
}

async function waitForPing(node: NodeState): Promise<void> {
  await waitUntil(
    `redis-server on ${node.port} to answer`,
    async () => {
      if (!node.child) throw new Error(`redis-server ${node.port} exited: ${node.logs.slice(-5)}`);
      return (await respCommand(node.port, ['PING'], 500)) === 'PONG';
    },
    { timeoutMs: 10_000, intervalMs: 50 },
  );
}

/** `count` distinct free ports, none of `except`. */
export async function freePorts(count: number, except: readonly number[] = []): Promise<number[]> {
  const taken = new Set(except);
  const ports: number[] = [];
  while (ports.length < count) {
    const port = await freePort();
    if (!taken.has(port)) {
      taken.add(port);
      ports.push(port);
    }
  }
  return ports;
}

/** REDIS_CLUSTER_NODES for nodes on these local ports. */
export function clusterSeedNodes(ports: readonly number[]): string {
  return ports.map((p) => `127.0.0.1:${p}`).join(',');
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const replicas = options.replicasPerMaster ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const total = masters * (1 + replicas);
  const dir = mkdtempSync(join(tmpdir(), 'twofa-redis-cluster-'));
  if (options.ports && options.ports.length !== total) {
    throw new Error(`${total} nodes need ${total} ports, got ${options.ports.length}`);
  }
  const ports = options.ports ?? (await freePorts(total));
  const busPorts = await freePorts(total, ports);
  const states: NodeState[] = Array.from({ length: total }, (_, i) => ({
    port: ports[i]!,
    busPort: busPorts[i]!,
    logs: [],
    child: null,
  }));
  const byPort = new Map(states.map((s) => [s.port, s]));
  const stateOf = (port: number) => {
    const state = byPort.get(port);
    if (!state) throw new Error(`no cluster node on ${port}`);
    return state;
  };

  const close = async () => {
    await Promise.all(
      states.map(async (s) => {
        const child = s.child;
        if (!child) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };

  const topology = async (port?: number) => {
    const from = port ?? states.find((s) => s.child)?.port;
    if (from === undefined) throw new Error('no cluster node is running');
    return parseClusterNodes(await respCommand(from, ['CLUSTER', 'NODES']));
  };

  const cluster: RedisCluster = {
    nodes: states.map((s) => ({
      port: s.port,
      busPort: s.busPort,
      logs: s.logs,
      get running() {
        return s.child !== null;
      },
    })),
    seedNodes: clusterSeedNodes(ports),
    command: (port, ...args) => respCommand(port, args),
    topology,
    async masters() {
      const running = new Set(states.filter((s) => s.child).map((s) => s.port));
      return (await topology()).filter(
        (n) => n.role === 'master' && n.slots > 0 && !n.failed && running.has(n.port),
      );
    },
    async masterFor(key) {
      const slot = clusterKeySlot(key);
      const master = (await topology()).find(
        (n) => n.role === 'master' && n.ranges.some(([a, b]) => slot >= a && slot <= b),
      );
      if (!master) throw new Error(`no master serves slot ${slot} of ${key}`);
      return master;
    },
    async kill(port) {
      const state = stateOf(port);
      const child = state.child;
      if (!child) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    },
    async restart(port) {
      const state = stateOf(port);
      if (state.child) return;
      launch(state, dir, nodeTimeoutMs);
      await waitForPing(state);
    },
    async waitHealthy(timeoutMs = 30_000) {
      await waitUntil(
        'the Redis Cluster to be healthy',
        async () => {
          for (const state of states) {
            if (!state.child) continue;
            const info = await respCommand(state.port, ['CLUSTER', 'INFO']);
            if (!info.includes('cluster_state:ok')) return false;
          }
          // Every slot served by a node that runs, as every running node sees it.
          const running = new Set(states.filter((s) => s.child).map((s) => s.port));
          for (const port of running) {
            const serving = (await topology(port)).filter(
              (n) => n.role === 'master' && n.slots > 0 && !n.failed && running.has(n.port),
            );
            if (serving.reduce((n, m) => n + m.slots, 0) !== 16384) return false;
          }
          return true;
        },
        { timeoutMs, intervalMs: 100 },
      );
    },
    close,
  };

  try {
    for (const state of states) launch(state, dir, nodeTimeoutMs);
    await Promise.all(states.map(waitForPing));
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...states.map((s) => `127.0.0.1:${s.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    await cluster.waitHealthy();
    // Replicas in sync, and every node sees all the others: a failover needs both.
    await waitUntil(
      'every replica to sync with its master',
      async () => {
        for (const state of states) {
          const roles = await topology(state.port);
          if (roles.length !== total || roles.some((r) => r.failed)) return false;
          const mine = roles.find((r) => r.port === state.port);
          if (mine?.role !== 'slave') continue;
          const info = await respCommand(state.port, ['INFO', 'replication']);
          if (!info.includes('master_link_status:up')) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (error) {
    const tails = states.map((s) => `${s.port}: ${s.logs.slice(-5).join(' | ')}`).join('\n');
    await close();
    throw new Error(`${(error as Error).message}\n${tails}`, { cause: error });
  }
  return cluster;
}
