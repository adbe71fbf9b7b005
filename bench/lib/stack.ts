import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { migrateDatabase } from '@twofa/db';
import { SEND_CODE_QUEUE } from '@twofa/queue';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import type { BenchConfig } from './config.ts';
import {
  ADMIN_API_KEY,
  APP_SECRET,
  FAKE_TWILIO_ACCOUNT_SID,
  FAKE_TWILIO_AUTH_TOKEN,
  TWILIO_FROM,
  UNLIMITED,
} from './constants.ts';
import { CpuMeter } from './cpu.ts';
import type { GcAnswer, GcRequest } from './gc-probe.ts';
import {
  type Child,
  FatalError,
  freePort,
  logTail,
  nextMessage,
  REPO_ROOT,
  startChild,
  waitForHttp,
  waitUntil,
} from './procs.ts';
import { type RssReading, readRss, sampleRss } from './rss.ts';
import type { SinkEvent } from './sink.ts';
import { SinkClient } from './sink-client.ts';

export type Sql = postgres.Sql;

const GC_PROBE = join(REPO_ROOT, 'bench/lib/gc-probe.ts');

export interface BenchDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export async function createDatabase(pgBase: string, label: string): Promise<BenchDatabase> {
  const name = `twofa_bench_${label}_${randomBytes(4).toString('hex')}`;
  const url = `${pgBase}/${name}`;
  const admin = postgres(`${pgBase}/postgres`, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url,
    async drop() {
      const sql = postgres(`${pgBase}/postgres`, { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end();
      }
    },
  };
}

export async function startSink(): Promise<{ child: Child; client: SinkClient }> {
  const child = startChild('sms-sink', 'bench/lib/sink.ts', [], { ipc: true });
  const url = await nextMessage(child, (msg) => {
    const event = msg as SinkEvent;
    return event.type === 'ready' ? event.url : undefined;
  });
  return { child, client: new SinkClient(child, url) };
}

/**
 * One process's heap used (MiB) right after a forced full collection, asked over IPC of a child
 * started with `--expose-gc` and the bench's probe (bench/lib/gc-probe.ts); null when it did not
 * answer within `timeoutMs` (no flag, no probe, no IPC channel, or gone).
 */
export function heapAfterGcOf(
  child: Child | null,
  id: number,
  timeoutMs = 5_000,
): Promise<number | null> {
  return new Promise<number | null>((resolve) => {
    if (!child?.proc.connected) return resolve(null);
    const done = (value: number | null) => {
      clearTimeout(timer);
      child.proc.off('message', onMessage);
      resolve(value);
    };
    const onMessage = (msg: unknown) => {
      const answer = msg as Partial<GcAnswer> | null;
      if (answer?.type === 'bench-heap' && answer.id === id) done(answer.heapUsedMiB ?? null);
    };
    const timer = setTimeout(() => done(null), timeoutMs);
    child.proc.on('message', onMessage);
    child.proc.send({ type: 'bench-gc', id } satisfies GcRequest, (error) => {
      if (error) done(null);
    });
  });
}

/** The flags that load the probe into a child: `--expose-gc` and `--import` of the probe. */
export const GC_PROBE_FLAGS = ['--expose-gc', '--import', pathToFileURL(GC_PROBE).href];

/** The API, N worker processes, a fake SMS provider, a database and a queue prefix of their own. */
export class Stack {
  readonly prefix = `twofa-bench-${randomBytes(4).toString('hex')}`;
  apiUrl = '';
  api: Child | null = null;
  readonly workers: Child[] = [];
  sql!: Sql;
  db!: BenchDatabase;
  sink!: SinkClient;
  /** The fake provider's process, for CPU readings. */
  sinkChild!: Child;
  private queue!: Queue;
  private redis!: Redis;
  private workerSeq = 0;
  private gcSeq = 0;
  private cpu: CpuMeter | null = null;

  constructor(
    private readonly config: BenchConfig,
    private readonly profileDir: string | null,
  ) {}

  env(): Record<string, string> {
    const config = this.config;
    return {
      NODE_ENV: 'production',
      DATABASE_URL: this.db.url,
      REDIS_URL: config.redisUrl,
      QUEUE_PREFIX: this.prefix,
      HOST: '127.0.0.1',
      ADMIN_API_KEY,
      APP_SECRET,
      SMS_PROVIDER: 'twilio',
      TWILIO_ACCOUNT_SID: FAKE_TWILIO_ACCOUNT_SID,
      TWILIO_AUTH_TOKEN: FAKE_TWILIO_AUTH_TOKEN,
      TWILIO_FROM,
      TWILIO_API_BASE_URL: this.sink.url,
      // Puts the send id on each message's status callback, which is how the bench matches
      // provider receive times to sends.
      PUBLIC_BASE_URL: this.apiUrl,
      SMS_CIRCUIT_BREAKER: 'off',
      RATE_LIMIT_IP_LOGINS_PER_MINUTE: UNLIMITED,
      RATE_LIMIT_USER_CHALLENGES_PER_HOUR: UNLIMITED,
      RATE_LIMIT_DESTINATION_SENDS_PER_HOUR: UNLIMITED,
      RATE_LIMIT_ORG_SENDS_PER_MINUTE: UNLIMITED,
      RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN: UNLIMITED,
      RATE_LIMIT_APP_PARS_PER_MINUTE: UNLIMITED,
      DB_POOL_SIZE: String(config.apiPoolSize),
      WORKER_CONCURRENCY: String(config.workerConcurrency),
      WORKER_METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    };
  }

  /**
   * The bench's own flags for the API and workers: `--expose-gc` with the bench's probe (a forced
   * collection on request over IPC, for the soak's heap figures), and with BENCH_PROFILE a CPU
   * profile directory per process (tsx's loader thread writes a profile of its own beside main's).
   */
  private nodeFlags(name: string): string[] {
    if (!this.profileDir) return GC_PROBE_FLAGS;
    return [...GC_PROBE_FLAGS, '--cpu-prof', `--cpu-prof-dir=${join(this.profileDir, name)}`];
  }

  async start(workers: number): Promise<void> {
    this.db = await createDatabase(this.config.pgBase, 'svc');
    await migrateDatabase(this.db.url);
    this.sql = postgres(this.db.url, { max: 2, onnotice: () => {} });
    this.redis = new Redis(this.config.redisUrl, { maxRetriesPerRequest: null });
    this.queue = new Queue(SEND_CODE_QUEUE, { connection: this.redis, prefix: this.prefix });
    await this.startProcesses(workers);
  }

  /**
   * Stops the API, the workers and the fake provider and starts them anew, on the same database
   * and queue: a pass after it runs on processes as fresh as the first pass's were.
   */
  async restart(workers: number): Promise<void> {
    await this.stopProcesses();
    await this.startProcesses(workers);
  }

  private async stopProcesses(): Promise<void> {
    await Promise.all([...this.workers.splice(0).map((w) => w.stop()), this.api?.stop()]);
    await this.sinkChild?.stop();
  }

  private async startProcesses(workers: number): Promise<void> {
    const sink = await startSink();
    this.sink = sink.client;
    this.sinkChild = sink.child;
    const port = await freePort();
    this.apiUrl = `http://127.0.0.1:${port}`;
    // From its own directory, as `npm start` runs it: tsx then reads apps/api/tsconfig.json,
    // whose JSX settings (hono/jsx) the settings pages need.
    this.api = startChild('api', 'src/main.ts', [], {
      cwd: join(REPO_ROOT, 'apps/api'),
      env: { ...this.env(), PORT: String(port) },
      nodeFlags: this.nodeFlags('api'),
      ipc: true,
    });
    await waitForHttp(`${this.apiUrl}/health`, this.api);
    await this.setWorkers(workers);
  }

  /** Starts or drains worker processes until `n` run, and waits until BullMQ sees exactly n. */
  async setWorkers(n: number): Promise<void> {
    while (this.workers.length > n) await this.workers.pop()?.stop();
    while (this.workers.length < n) {
      const name = `worker-${++this.workerSeq}`;
      this.workers.push(
        startChild(name, 'apps/worker/src/main.ts', [], {
          env: this.env(),
          nodeFlags: this.nodeFlags(name),
          ipc: true,
        }),
      );
    }
    await waitUntil(
      `${n} workers to register with BullMQ`,
      async () => {
        const dead = this.workers.find((w) => w.exited());
        if (dead) throw new FatalError(`${dead.name} exited:\n${logTail(dead)}`);
        return (await this.queue.getWorkersCount()) === n;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
  }

  /**
   * Starts a CPU reading of every process serving the bench (or of `children`, by group, plus
   * Postgres and Redis); call the result to end it.
   */
  startCpu(children?: Record<string, Child[]>) {
    this.cpu ??= new CpuMeter(this.sql, this.db.name, this.config.redisUrl);
    const pids = (list: (Child | null)[]) => list.flatMap((c) => (c?.proc.pid ? [c.proc.pid] : []));
    const groups = children ?? {
      api: [this.api],
      workers: this.workers,
      sink: [this.sinkChild],
    };
    return this.cpu.start(
      Object.fromEntries(Object.entries(groups).map(([name, list]) => [name, pids(list)])),
    );
  }

  /** Starts sampling the API's and the workers' RSS; call the result for each one's peak. */
  startRss(): () => RssReading {
    return sampleRss(() => ({ api: this.api, workers: this.workers }));
  }

  /** The API's and the workers' RSS now. */
  rss(): RssReading {
    return readRss(this.api, this.workers);
  }

  /**
   * The API's and each worker's heap used (MiB) right after a forced full collection, asked of
   * each process at once over IPC; null for a process that did not answer within `timeoutMs`.
   */
  async heapAfterGc(timeoutMs = 5_000): Promise<RssReading> {
    const ask = (child: Child | null) => heapAfterGcOf(child, ++this.gcSeq, timeoutMs);
    const [api, ...workers] = await Promise.all([this.api, ...this.workers].map(ask));
    return { api: api ?? null, workers: workers.flatMap((w) => (w === null ? [] : [w])) };
  }

  async stop(): Promise<void> {
    await this.stopProcesses();
    await this.queue?.close().catch(() => {});
    if (this.redis) {
      // The prefix and the raw BullMQ ceiling's `<prefix>-raw`.
      let cursor = '0';
      do {
        const [next, keys] = await this.redis.scan(
          cursor,
          'MATCH',
          `${this.prefix}*`,
          'COUNT',
          1000,
        );
        if (keys.length) await this.redis.del(...keys);
        cursor = next;
      } while (cursor !== '0');
      this.redis.disconnect();
    }
    await this.sql?.end({ timeout: 2 });
    await this.db?.drop();
  }
}
