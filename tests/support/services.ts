/** The API and workers as child processes: `node --import tsx apps/<app>/src/main.ts`. */
import { testEnv } from './env.ts';
import {
  isPortClash,
  type ManagedProcess,
  PortClashError,
  sleep,
  spawnManaged,
  startOnFreePort,
  waitHealthy,
} from './process.ts';

export interface ServiceProcess extends ManagedProcess {
  readonly port: number;
  readonly url: string;
}

function nodeArgs(entry: string): string[] {
  return ['--import', 'tsx', entry];
}

async function startService(
  name: string,
  entry: string,
  portVariable: 'PORT' | 'WORKER_METRICS_PORT',
  env: Record<string, string>,
  timeoutMs: number,
  port?: number,
): Promise<ServiceProcess> {
  const launch = async (p: number): Promise<ServiceProcess> => {
    const proc = spawnManaged(`${name}:${p}`, process.execPath, nodeArgs(entry), {
      ...process.env,
      ...env,
      [portVariable]: String(p),
    });
    const url = `http://127.0.0.1:${p}`;
    try {
      await waitHealthy(proc, `${url}/health`, timeoutMs);
      // Another process may have answered on a port we lost the race for.
      await sleep(100);
      if (proc.exit) throw new Error(`${proc.name} exited right after start:\n${proc.tail()}`);
    } catch (error) {
      if (isPortClash(proc)) throw new PortClashError(`${name}: port ${p} taken`);
      throw error;
    }
    return Object.assign(proc, { port: p, url });
  };
  return port === undefined ? startOnFreePort(launch) : launch(port);
}

export interface StartOptions {
  /** Reuse a port (a restart); a fresh free one otherwise. */
  port?: number;
  timeoutMs?: number;
}

/** `node --import tsx apps/api/src/main.ts`, resolved once /health answers. */
export function startApiProcess(
  env: Record<string, string>,
  opts: StartOptions = {},
): Promise<ServiceProcess> {
  return startService(
    'api',
    'apps/api/src/main.ts',
    'PORT',
    { HOST: '127.0.0.1', ...env },
    opts.timeoutMs ?? 60_000,
    opts.port,
  );
}

/** `node --import tsx apps/worker/src/main.ts`, resolved once its metrics server's /health answers. */
export function startWorkerProcess(
  env: Record<string, string>,
  opts: StartOptions = {},
): Promise<ServiceProcess> {
  return startService(
    'worker',
    'apps/worker/src/main.ts',
    'WORKER_METRICS_PORT',
    env,
    opts.timeoutMs ?? 60_000,
    opts.port,
  );
}

export interface ServiceEnvInput {
  databaseUrl: string;
  redisUrl: string;
  queuePrefix: string;
  twilioUrl: string;
  /** Where status callbacks point; each carries its send's id either way. */
  publicBaseUrl?: string;
}

/**
 * The environment of an API or worker child: small pools, a fast reconciler,
 * no circuit breaker and rate limits far above any test's load.
 */
export function serviceEnv(
  input: ServiceEnvInput,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...testEnv(input.databaseUrl, input.queuePrefix, input.twilioUrl),
    REDIS_URL: input.redisUrl,
    PUBLIC_BASE_URL: input.publicBaseUrl ?? 'http://127.0.0.1:9',
    LOG_LEVEL: 'info',
    DB_POOL_SIZE: '3',
    WORKER_CONCURRENCY: '10',
    RECONCILE_INTERVAL_MS: '500',
    SHUTDOWN_TIMEOUT_MS: '15000',
    SMS_CIRCUIT_BREAKER: 'off',
    RATE_LIMIT_IP_LOGINS_PER_MINUTE: '1000000',
    RATE_LIMIT_USER_CHALLENGES_PER_HOUR: '1000000',
    RATE_LIMIT_DESTINATION_SENDS_PER_HOUR: '1000000',
    RATE_LIMIT_ORG_SENDS_PER_MINUTE: '1000000',
    RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN: '1000000',
    ...extra,
  };
}
