/**
 * A real Redis Cluster for tests: `masters` masters with `replicasPerMaster`
 * replicas each, as `redis-server --cluster-enabled yes` processes on free
 * local ports, joined by `redis-cli --cluster create`, inspected through
 * ioredis' CLUSTER commands. Each node has a directory of its own and keeps no
 * data on disk, so a restarted node comes back empty with only its nodes.conf;
 * a short `cluster-node-timeout` lets a killed master's replica take over in
 * seconds.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import {
  FatalError,
  freePort,
  type ManagedProcess,
  requireCommand,
  spawnManaged,
  waitUntil,
} from './process.ts';
import { EPHEMERAL_REDIS_ARGS } from './redis-server.ts';

const SLOTS = 16_384;

/** One node as another node sees it (`CLUSTER NODES`). */
export interface ClusterNodeView {
  id: string;
  port: number;
  role: 'master' | 'replica';
  /** For a replica, the port of its master. */
  masterPort: number | null;
  /** For a master, how many slots it serves. */
  slots: number;
  /** Slots it is importing or migrating (`[slot-<-id]`, `[slot->-id]`): a half-done move. */
  openSlots: string[];
  /** Flagged `fail`, `fail?` (suspected), `noaddr` or still in `handshake`. */
  failed: boolean;
}

export interface RedisCluster {
  readonly ports: readonly number[];
  /** `127.0.0.1:P1,127.0.0.1:P2,...`: every node, for REDIS_CLUSTER_NODES. */
  readonly seedNodes: string;
  running(port: number): boolean;
  /** A connection to one node (not cluster-aware: a command for another node's slot gets MOVED). */
  node(port: number): Redis;
  /** The cluster as the given (or the first running) node sees it. */
  topology(port?: number): Promise<ClusterNodeView[]>;
  /** Running masters that serve slots. */
  masters(): Promise<ClusterNodeView[]>;
  /** The master serving `key`'s slot (`CLUSTER KEYSLOT`, then `CLUSTER SLOTS`). */
  masterFor(key: string): Promise<ClusterNodeView>;
  /** SIGKILL one node: gone without a goodbye, as a crashed host. */
  kill(port: number): Promise<void>;
  /** Starts a killed node again on its port with its nodes.conf: it rejoins, empty. */
  restart(port: number): Promise<void>;
  /**
   * Until every running node reports `cluster_state:ok` and sees every slot
   * served by a running master, none half-moved; a timeout names what each node said.
   */
  waitHealthy(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface RedisClusterOptions {
  masters?: number;
  replicasPerMaster?: number;
  /** `cluster-node-timeout`: how long a master may be silent before it counts as failed. */
  nodeTimeoutMs?: number;
  /** The nodes' client ports (from `freePorts`), so services can be started while the cluster forms. */
  ports?: readonly number[];
}

/** `count` distinct free ports, none of `except`. */
export async function freePorts(count: number, except: readonly number[] = []): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const port = await freePort();
    if (!except.includes(port)) ports.add(port);
  }
  return [...ports];
}

/** REDIS_CLUSTER_NODES for nodes on these local ports. */
export function clusterSeedNodes(ports: readonly number[]): string {
  return ports.map((p) => `127.0.0.1:${p}`).join(',');
}

/** `CLUSTER NODES`: one line a node, `id ip:port@bus flags master ping pong epoch link slot...`. */
function parseClusterNodes(text: string): ClusterNodeView[] {
  const rows = text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const [id = '', address = '', flags = '', master = '', , , , , ...slots] = line.split(' ');
      return { id, port: Number(/:(\d+)@/.exec(address)?.[1]), flags, master, slots };
    });
  const portOf = new Map(rows.map((r) => [r.id, r.port]));
  return rows.map((r) => ({
    id: r.id,
    port: r.port,
    role: r.flags.includes('master') ? 'master' : 'replica',
    masterPort: r.master === '-' ? null : (portOf.get(r.master) ?? null),
    slots: r.slots
      .filter((s) => !s.startsWith('['))
      .reduce((n, s) => {
        const [from = 0, to = from] = s.split('-').map(Number);
        return n + to - from + 1;
      }, 0),
    openSlots: r.slots.filter((s) => s.startsWith('[')),
    failed: /fail|noaddr|handshake/.test(r.flags),
  }));
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisCluster> {
  requireCommand('redis-server', 'redis-server');
  requireCommand('redis-cli', 'redis-tools');
  const replicas = options.replicasPerMaster ?? 1;
  const total = (options.masters ?? 3) * (1 + replicas);
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  if (options.ports && options.ports.length !== total) {
    throw new Error(`${total} nodes need ${total} ports, got ${options.ports.length}`);
  }
  const ports = options.ports ?? (await freePorts(total));
  const busPorts = await freePorts(total, ports);
  const root = mkdtempSync(join(tmpdir(), 'twofa-redis-cluster-'));
  const processes = new Map<number, ManagedProcess>();
  const clients = new Map<number, Redis>();

  const launch = (port: number, busPort: number) => {
    // A directory per node: the nodes.conf is the node's own, and so would be any file
    // it wrote (with one shared directory every node reloaded whichever node's dump.rdb
    // was written last, and claimed slots that are not its own as importing).
    const dir = join(root, String(port));
    mkdirSync(dir, { recursive: true });
    processes.set(
      port,
      spawnManaged(
        `redis-cluster:${port}`,
        'redis-server',
        [
          ...['--port', String(port), '--cluster-port', String(busPort), '--bind', '127.0.0.1'],
          ...['--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf')],
          ...['--cluster-node-timeout', String(nodeTimeoutMs), '--dir', dir],
          // Any replica may be promoted, however long it was cut off from its master.
          ...['--cluster-replica-validity-factor', '0'],
          ...EPHEMERAL_REDIS_ARGS,
        ],
        process.env,
      ),
    );
  };
  const running = (port: number) => {
    const proc = processes.get(port);
    return proc !== undefined && proc.exit === null;
  };
  const node = (port: number) => {
    let client = clients.get(port);
    if (!client || client.status === 'end') {
      // One attempt per command, no reconnecting: a killed node's commands fail at once.
      client = new Redis({
        host: '127.0.0.1',
        port,
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 2_000,
        commandTimeout: 3_000,
      });
      client.on('error', () => {});
      clients.set(port, client);
    }
    return client;
  };
  const topology = async (port = ports.find(running)) => {
    if (port === undefined) throw new Error('no cluster node is running');
    return parseClusterNodes(String(await node(port).cluster('NODES')));
  };
  const waitForPing = (port: number) =>
    waitUntil(
      `redis-server on ${port} to answer`,
      async () => {
        if (!running(port)) throw new FatalError(`redis-server on ${port} exited`);
        return (await node(port).ping()) === 'PONG';
      },
      { timeoutMs: 10_000, intervalMs: 50, tail: () => processes.get(port)?.tail(10) ?? '' },
    );
  const close = async () => {
    for (const client of clients.values()) client.disconnect();
    await Promise.all([...processes.values()].map((p) => p.kill()));
    rmSync(root, { recursive: true, force: true });
  };

  const cluster: RedisCluster = {
    ports,
    seedNodes: clusterSeedNodes(ports),
    running,
    node,
    topology,
    async masters() {
      return (await topology()).filter(
        (n) => n.role === 'master' && n.slots > 0 && !n.failed && running(n.port),
      );
    },
    async masterFor(key) {
      const from = node(ports.find(running) ?? ports[0]!);
      const slot = await from.cluster('KEYSLOT', key);
      const range = (await from.cluster('SLOTS')).find(([a, b]) => slot >= a && slot <= b);
      const port = range?.[2]?.[1];
      const master = (await topology()).find((n) => n.port === port);
      if (!master) throw new Error(`no master serves slot ${slot} of ${key}`);
      return master;
    },
    async kill(port) {
      clients.get(port)?.disconnect();
      await processes.get(port)?.kill();
    },
    async restart(port) {
      if (running(port)) return;
      launch(port, busPorts[ports.indexOf(port)]!);
      await waitForPing(port);
    },
    async waitHealthy(timeoutMs = 30_000) {
      let seen = '';
      await waitUntil(
        'the Redis Cluster to be healthy',
        async () => {
          const views = await Promise.all(
            ports.map(async (port) => {
              if (!running(port)) return { port, healthy: true, said: 'not running' };
              const [info, nodes] = await Promise.all([
                node(port).cluster('INFO'),
                node(port).cluster('NODES'),
              ]).catch((error: Error) => [`no answer: ${error.message}`, ''] as const);
              const view = parseClusterNodes(String(nodes));
              const served = view
                .filter((n) => n.role === 'master' && !n.failed && running(n.port))
                .reduce((sum, n) => sum + n.slots, 0);
              const healthy =
                info.includes('cluster_state:ok') &&
                served === SLOTS &&
                view.every((n) => n.openSlots.length === 0);
              const state = info
                .split(/\r?\n/)
                .filter((l) => /^cluster_(state|slots_|known_nodes|size|current_epoch)/.test(l));
              const said = `${state.join(' ')}; slots served by running masters: ${served}\n${String(nodes).trim()}`;
              return { port, healthy, said };
            }),
          );
          seen = views.map((v) => `node ${v.port}: ${v.said}`).join('\n');
          return views.every((v) => v.healthy);
        },
        { timeoutMs, intervalMs: 100, tail: () => `What each node said last:\n${seen}` },
      );
    },
    close,
  };

  try {
    for (const [i, port] of ports.entries()) launch(port, busPorts[i]!);
    await Promise.all(ports.map(waitForPing));
    const create = ['--cluster', 'create', ...cluster.seedNodes.split(',')];
    await promisify(execFile)(
      'redis-cli',
      [...create, '--cluster-replicas', String(replicas), '--cluster-yes'],
      { timeout: 30_000 },
    );
    await cluster.waitHealthy();
    // Replicas in sync, and every node sees all the others: a failover needs both.
    await waitUntil(
      'every node to know every other and every replica to sync with its master',
      async () => {
        for (const port of ports) {
          const view = await topology(port);
          if (view.length !== total || view.some((n) => n.failed)) return false;
          if (view.find((n) => n.port === port)?.role !== 'replica') continue;
          const replication = await node(port).info('replication');
          if (!replication.includes('master_link_status:up')) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
  } catch (error) {
    const tails = ports.map((p) => `${p}: ${processes.get(p)?.tail(5)}`).join('\n');
    await close();
    throw new Error(`${(error as Error).message}\n${tails}`, { cause: error });
  }
  return cluster;
}
