import { availableParallelism, totalmem } from 'node:os';

/** Every knob the bench reads, from the environment, once. */
export interface BenchConfig {
  quick: boolean;
  /** Measured repetitions of each scenario (min/median/max over them). */
  runs: number;
  /** Seconds of load in one measured req/s run. */
  durationS: number;
  /** Seconds of unmeasured load before a scenario's first run (JIT, pools, caches). */
  warmupS: number;
  /** Concurrent connections (or virtual users) the load generator keeps busy. */
  connections: number;
  /**
   * Virtual users in the full-login comparison: the password hash saturates the cores with a
   * few, and more would only queue (and inflate latency) behind libuv's thread pool.
   */
  loginVus: number;
  /** Worker processes in the pipeline, verify and peer scenarios. */
  workers: number;
  /** WORKER_CONCURRENCY of each worker process, and of the raw BullMQ ceiling. */
  workerConcurrency: number;
  /** DB_POOL_SIZE of the API, and the pool of the raw Postgres ceiling and of the peer. */
  apiPoolSize: number;
  /** Organizations the load is spread over (one hot organization serializes its debits). */
  organizations: number;
  /** Pending challenges ready for the verify scenario (pipeline-made first, then seeded). */
  verifyPool: number;
  scalingWorkers: number[];
  /** BENCH_SOAK: seconds of the memory soak (0: none). */
  soakS: number;
  /** BENCH_DATA=large: rerun the hot scenarios after seeding a year of traffic. */
  large: boolean;
  only: Set<string> | null;
  profile: boolean;
  pgBase: string;
  redisUrl: string;
  machine: { cores: number; memoryGiB: number };
}

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}

function num(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`);
  return value;
}

function seconds(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a whole number >= 0`);
  return value;
}

// Read by name: the bench is no turbo task, so its variables are not declared there.
const str = (name: string): string | undefined => process.env[name];
const flag = (name: string) => ['1', 'true', 'yes', 'on'].includes(process.env[name] ?? '');

export const SCENARIOS = [
  'ceilings',
  'pipeline',
  'scaling',
  'verify',
  'common',
  'peer',
  'logins',
  'prompt',
  'mixed',
  'soak',
] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export function loadBenchConfig(): BenchConfig {
  const quick = flag('BENCH_QUICK');
  const onlyRaw = str('BENCH_ONLY')?.trim();
  const only = onlyRaw ? new Set(onlyRaw.split(',').map((s) => s.trim())) : null;
  for (const name of only ?? []) {
    if (!(SCENARIOS as readonly string[]).includes(name)) {
      throw new Error(`BENCH_ONLY: unknown scenario ${name} (known: ${SCENARIOS.join(', ')})`);
    }
  }
  const runs = int('BENCH_RUNS', quick ? 1 : 3);
  const data = str('BENCH_DATA')?.trim() ?? '';
  if (data !== '' && data !== 'large') throw new Error('BENCH_DATA must be large (or unset)');
  const durationS = num('BENCH_DURATION_S', quick ? 1.5 : 4);
  const warmupS = num('BENCH_WARMUP_S', quick ? 0.5 : 1);
  return {
    quick,
    runs,
    durationS,
    warmupS,
    connections: int('BENCH_CONNECTIONS', 50),
    loginVus: Math.min(int('BENCH_LOGIN_VUS', 8), int('BENCH_CONNECTIONS', 50)),
    workers: int('BENCH_WORKERS', 2),
    workerConcurrency: int('BENCH_WORKER_CONCURRENCY', 10),
    apiPoolSize: int('BENCH_API_POOL', 10),
    organizations: int('BENCH_ORGS', 10),
    // Two requests per challenge, at up to 3,000 verifies a second, with a fifth to spare.
    verifyPool: int('BENCH_VERIFY_POOL', Math.ceil((runs * durationS + warmupS) * 1_500 * 1.2)),
    scalingWorkers: [1, 2, 4],
    soakS: seconds('BENCH_SOAK', quick ? 0 : 300),
    large: data === 'large',
    only,
    profile: flag('BENCH_PROFILE'),
    pgBase: str('BENCH_PG_BASE') ?? 'postgres://postgres@127.0.0.1:5432',
    redisUrl: str('REDIS_URL') ?? 'redis://127.0.0.1:6379',
    machine: {
      cores: availableParallelism(),
      memoryGiB: Math.round(totalmem() / 2 ** 30),
    },
  };
}

export function wants(config: BenchConfig, scenario: ScenarioName): boolean {
  return !config.only || config.only.has(scenario);
}
