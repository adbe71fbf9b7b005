import type { Config } from '@twofa/config';
import { type Clock, DEFAULT_CIRCUIT_BREAKER, systemClock } from '@twofa/core';
import { createDb, type Database } from '@twofa/db';
import { createLogger, createMetrics, type Logger, type Metrics } from '@twofa/observability';
import {
  createQueueConnections,
  type Queue,
  type QueueConnections,
  type RedisConnection,
  type SendCodeJob,
} from '@twofa/queue';
import { ChallengeService } from '../challenges/index.ts';
import { SendHints } from '../challenges/send-hints.ts';
import { PromptStore } from '../prompt/store.ts';
import { ApiKeys } from './api-keys.ts';
import { CircuitBreaker } from './breaker.ts';
import { parseTrustProxy, type TrustedProxies } from './client-address.ts';
import { OrganizationCache } from './org-cache.ts';
import { RateLimits } from './rate-limits.ts';

export interface Services {
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  redis: RedisConnection;
  sendQueue: Queue<SendCodeJob>;
  /** The Redis connection and send queue above, closed together. */
  queueConnections: QueueConnections;
  /** Admission: the rate limits and the circuit breaker, behind one `admit(plan)`. */
  rateLimits: RateLimits;
  /** The hosted prompt's short-lived state (oidc-provider's models and ours), in Redis. */
  promptStore: PromptStore;
  breaker: CircuitBreaker;
  organizations: OrganizationCache;
  /** The challenge lifecycle, shared by the JSON routes and the pages. */
  challenges: ChallengeService;
  /** TRUST_PROXY, parsed at start so a bad entry stops the process. */
  trustedProxies: TrustedProxies;
  /** Bearer token -> platform or organization, cached by the token's hash. */
  apiKeys: ApiKeys;
  /**
   * Set on SIGTERM: /ready answers 503 so load balancers stop sending, and every answer says
   * `Connection: close` so keep-alive clients move on, while requests still get served.
   */
  lifecycle: { draining: boolean };
}

export function createServices(
  config: Config,
  overrides: { clock?: Clock; logger?: Logger } = {},
): Services {
  const env = config.env;
  // Before any connection opens, so a bad TRUST_PROXY leaves nothing behind.
  const trustedProxies = parseTrustProxy(env.TRUST_PROXY);
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? createLogger({ name: 'api', level: env.LOG_LEVEL });
  const metrics = createMetrics('api');
  const db = createDb(env.DATABASE_URL, {
    max: env.DB_POOL_SIZE,
    connectTimeout: 3,
    applicationName: 'twofa-api',
    prepare: env.DATABASE_PREPARED_STATEMENTS,
  });
  // Connection errors surface on each command; the listeners keep them from crashing the process.
  const queueConnections = createQueueConnections(env, 'producer', { logger });
  const { redis, sendQueue } = queueConnections;
  const breaker = new CircuitBreaker(
    db,
    {
      ...DEFAULT_CIRCUIT_BREAKER,
      enabled: env.SMS_CIRCUIT_BREAKER,
      minSent: env.SMS_BREAKER_MIN_SENT,
      minVerifiedRatio: env.SMS_BREAKER_MIN_VERIFIED_RATIO,
    },
    clock,
    metrics,
  );
  const rateLimits = new RateLimits(redis, env.QUEUE_PREFIX, config, metrics, breaker);
  return {
    config,
    clock,
    logger,
    metrics,
    db,
    redis,
    sendQueue,
    queueConnections,
    rateLimits,
    promptStore: new PromptStore(redis, env.QUEUE_PREFIX),
    breaker,
    organizations: new OrganizationCache(db, clock),
    challenges: new ChallengeService({
      appSecret: config.appSecret,
      appSecrets: config.appSecrets,
      clock,
      maxConsecutiveCodeFailures: env.MAX_CONSECUTIVE_CODE_FAILURES,
      db,
      sendQueue,
      rateLimits,
      metrics,
      logger,
      sendHints: new SendHints(),
    }),
    trustedProxies,
    apiKeys: new ApiKeys(db, clock, {
      appSecrets: config.appSecrets,
      adminApiKey: config.adminApiKey,
    }),
    lifecycle: { draining: false },
  };
}

export async function closeServices(services: Services): Promise<void> {
  await services.queueConnections.close();
  await services.db.close();
}
