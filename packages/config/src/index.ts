import { z } from 'zod';

const DEV_APP_SECRET = 'development-only-app-secret-change-me';
const DEV_ADMIN_KEY = 'dev-admin-key';

/** The only environments where the fixed development secrets above may be used. */
const DEVELOPMENT_ENVS = new Set(['development', 'test']);

/** The configuration is unusable; its message names each bad variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

const bool = z
  .enum(['on', 'off', 'true', 'false', '1', '0'])
  .transform((v) => v === 'on' || v === 'true' || v === '1');

/** `host:port,host:port,...` of a Redis Cluster's seed nodes. */
const clusterNodes = z.string().transform((value, ctx) => {
  if (value.trim() === '') return undefined;
  const nodes: { host: string; port: number }[] = [];
  for (const entry of value.split(',').map((e) => e.trim())) {
    if (entry === '') continue;
    const match = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match?.[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not host:port` });
      return z.NEVER;
    }
    nodes.push({ host: match[1].replace(/^\[(.*)\]$/, '$1'), port });
  }
  if (nodes.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'names no host:port' });
    return z.NEVER;
  }
  return nodes;
});

/** Where a worker serves /health, /ready and /metrics unless WORKER_METRICS_PORT says otherwise. */
export const DEFAULT_WORKER_METRICS_PORT = 9464;

const schema = z
  .object({
    /**
     * Unset on purpose: only `development` and `test` run on the fixed development
     * secrets; anything else (unset included) must be given both secrets.
     */
    NODE_ENV: z.string().min(1).optional(),
    DATABASE_URL: z.string().url().default('postgres://postgres@localhost:5432/twofa'),
    REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
    REDIS_CLUSTER_NODES: clusterNodes.optional(),
    QUEUE_PREFIX: z.string().min(1).default('twofa'),
    PORT: z.coerce.number().int().min(0).max(65535).default(3000),
    HOST: z.string().default('0.0.0.0'),
    ADMIN_API_KEY: z.string().min(16).optional(),
    APP_SECRET: z.string().min(16).optional(),
    /**
     * Comma-separated earlier APP_SECRETs, kept after a rotation: sealed secrets
     * (authenticator, webhook, signing keys) still open with them, and organization
     * keys, app secrets, trusted devices and backup codes hashed under them still
     * match (keys and app secrets move to the new hash on first use).
     */
    APP_SECRET_PREVIOUS: z
      .string()
      .optional()
      .transform((value) =>
        (value ?? '')
          .split(',')
          .map((part) => part.trim())
          .filter((part) => part.length > 0),
      )
      .pipe(z.array(z.string().min(16))),
    /** Lets webhooks target loopback and private addresses, and plain http (tests, private networks). */
    WEBHOOK_ALLOW_PRIVATE_TARGETS: bool.default(false),
    /** A webhook attempt's whole deadline: connect, send, status and (capped) body. */
    WEBHOOK_TIMEOUT_MS: z.coerce.number().int().positive().max(10_000).default(10_000),
    /** First retry delay of a webhook delivery; the later ones scale with it (tests lower it). */
    WEBHOOK_RETRY_FIRST_DELAY_MS: z.coerce.number().int().positive().max(10_000).default(5_000),
    /** How often each worker hands new webhook deliveries to the queue. */
    WEBHOOK_DISPATCH_INTERVAL_MS: z.coerce.number().int().positive().default(1_000),
    /** When set, /metrics (API and worker) answers only `Authorization: Bearer <token>`. */
    METRICS_TOKEN: z.string().trim().min(16).regex(/^\S+$/, 'no spaces').optional(),
    SMS_PROVIDER: z.enum(['twilio', 'console']).optional(),
    TWILIO_ACCOUNT_SID: z.string().startsWith('AC').optional(),
    TWILIO_AUTH_TOKEN: z.string().min(1).optional(),
    TWILIO_FROM: z.string().min(1).optional(),
    TWILIO_API_BASE_URL: z.string().url().optional(),
    TWILIO_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
    PUBLIC_BASE_URL: z.string().url().optional(),
    TRUST_PROXY: z.string().optional(),
    SMS_CIRCUIT_BREAKER: bool.default(true),
    SMS_BREAKER_MIN_SENT: z.coerce.number().int().positive().default(30),
    SMS_BREAKER_MIN_VERIFIED_RATIO: z.coerce.number().min(0).max(1).default(0.2),
    RATE_LIMIT_IP_LOGINS_PER_MINUTE: z.coerce.number().int().positive().default(30),
    RATE_LIMIT_USER_CHALLENGES_PER_HOUR: z.coerce.number().int().positive().default(10),
    RATE_LIMIT_DESTINATION_SENDS_PER_HOUR: z.coerce.number().int().positive().default(10),
    RATE_LIMIT_ORG_SENDS_PER_MINUTE: z.coerce.number().int().positive().default(600),
    RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN: z.coerce.number().int().positive().default(10),
    /** Pushed authorization requests (the hosted prompt) per app and minute. */
    RATE_LIMIT_APP_PARS_PER_MINUTE: z.coerce.number().int().positive().default(600),
    MAX_CONSECUTIVE_CODE_FAILURES: z.coerce.number().int().positive().default(20),
    WORKER_CONCURRENCY: z.coerce.number().int().positive().max(500).default(50),
    /**
     * Concurrent send jobs of one worker share a transaction and its commit for their
     * claims, and another for their outcome records (`off`: one commit each).
     */
    WORKER_GROUP_COMMIT: bool.default(true),
    /**
     * Unset: DEFAULT_WORKER_METRICS_PORT, or any free port when another worker on
     * the host has it. Set: that port or a failed start (0 asks for any free port).
     */
    WORKER_METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
    RECONCILE_INTERVAL_MS: z.coerce.number().int().positive().default(5_000),
    /**
     * Days a finished challenge and its sends are kept; the worker deletes older ones
     * (never ledger lines or audit events).
     */
    CHALLENGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(90),
    /** How long after its claim an `unknown` send is settled from the provider's own record. */
    SMS_SETTLE_AFTER_MS: z.coerce.number().int().positive().default(30_000),
    /** First retry delay of a send job; later ones double (tests lower it). */
    SEND_RETRY_BASE_DELAY_MS: z.coerce.number().int().positive().default(1_000),
    /** How long a worker that died keeps its jobs before another takes them over. */
    WORKER_LOCK_DURATION_MS: z.coerce.number().int().min(1_000).default(30_000),
    SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(20_000),
    /**
     * API only: after SIGTERM, how long /ready answers 503 while requests are still served,
     * before the listener closes. Set it to what the load balancer needs to notice.
     */
    SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(0),
    DB_POOL_SIZE: z.coerce.number().int().positive().default(10),
    /** Off behind PgBouncer in transaction mode, whose server connections do not keep them. */
    DATABASE_PREPARED_STATEMENTS: bool.default(true),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
  })
  .superRefine((env, ctx) => {
    if (env.SHUTDOWN_DRAIN_MS >= env.SHUTDOWN_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['SHUTDOWN_DRAIN_MS'],
        message: 'must be shorter than SHUTDOWN_TIMEOUT_MS, which bounds the whole shutdown',
      });
    }
    if (!DEVELOPMENT_ENVS.has(env.NODE_ENV ?? '')) {
      const where =
        env.NODE_ENV === undefined
          ? 'NODE_ENV is unset'
          : `NODE_ENV is ${JSON.stringify(env.NODE_ENV)}`;
      const message = `required: ${where}, and only NODE_ENV=development or test may use the fixed development value`;
      if (!env.ADMIN_API_KEY) ctx.addIssue({ code: 'custom', path: ['ADMIN_API_KEY'], message });
      if (!env.APP_SECRET) ctx.addIssue({ code: 'custom', path: ['APP_SECRET'], message });
    }
    if (env.NODE_ENV === 'production') {
      if (env.SMS_PROVIDER === 'console') {
        ctx.addIssue({
          code: 'custom',
          path: ['SMS_PROVIDER'],
          message: 'console is refused in production',
        });
      }
    }
  });

export type RawEnv = z.infer<typeof schema>;

export interface Config {
  env: RawEnv;
  appSecret: string;
  /** APP_SECRET first, then APP_SECRET_PREVIOUS: the keys that may open a sealed secret. */
  appSecrets: readonly string[];
  adminApiKey: string;
  warnings: string[];
}

/** Parses the environment once, at start, and fails fast naming each bad variable. */
export function loadConfig(source: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n${lines.join('\n')}`);
  }
  const env = parsed.data;
  const warnings: string[] = [];
  if (!env.APP_SECRET) warnings.push('APP_SECRET is not set: using a fixed development value');
  if (!env.ADMIN_API_KEY)
    warnings.push(`ADMIN_API_KEY is not set: the platform key is "${DEV_ADMIN_KEY}"`);
  return {
    env,
    appSecret: env.APP_SECRET ?? DEV_APP_SECRET,
    appSecrets: [env.APP_SECRET ?? DEV_APP_SECRET, ...env.APP_SECRET_PREVIOUS],
    adminApiKey: env.ADMIN_API_KEY ?? DEV_ADMIN_KEY,
    warnings,
  };
}

/**
 * `loadConfig` for a process's entry point: a bad configuration prints its
 * message (no stack trace: the message is the whole story) and exits with 78
 * (EX_CONFIG), so a supervisor sees a refusal, not a crash to retry.
 */
export function loadConfigOrExit(
  source: NodeJS.ProcessEnv = process.env,
  exit: (code: number) => never = process.exit,
  write: (text: string) => void = (text) => process.stderr.write(text),
): Config {
  try {
    return loadConfig(source);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    write(`${error.message}\n`);
    return exit(78);
  }
}
