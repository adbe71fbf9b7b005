import { createHash, timingSafeEqual } from 'node:crypto';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { type Readiness, withTimeout } from './health.ts';

/** Most organizations given a series of their own in the low-balance gauge. */
export const LOW_BALANCE_SERIES_LIMIT = 100;

/**
 * prom-client's default gauges whose names end in `_total`, which Prometheus
 * reserves for counters (`promtool check metrics` warns). Each is the sum of its
 * by-type twin (`nodejs_active_handles` etc.), so dropping them loses nothing.
 */
const MISNAMED_DEFAULT_GAUGES = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * All metric definitions, in one place so API and worker agree on names.
 * Each process gets its own registry (tests run several apps in one process).
 * A metric only one of the two moves is exposed only by that one: the other
 * keeps the object (so shared code type-checks) but registers it nowhere.
 */
export function createMetrics(service: 'api' | 'worker') {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(name);
  const both = [registry];
  const api = service === 'api' ? both : [];
  const worker = service === 'worker' ? both : [];
  return {
    registry,
    httpRequests: new Counter({
      name: 'twofa_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers: api,
    }),
    httpDuration: new Histogram({
      name: 'twofa_http_request_duration_seconds',
      help: 'HTTP request latency, by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: api,
    }),
    challengesStarted: new Counter({
      name: 'twofa_challenges_started_total',
      help: 'Login decisions, by policy outcome (challenge or the reason none was needed)',
      labelNames: ['outcome'] as const,
      registers: api,
    }),
    verifyResults: new Counter({
      name: 'twofa_verify_results_total',
      help: 'Code verifications, by result',
      labelNames: ['result'] as const,
      registers: api,
    }),
    loginsByMethod: new Counter({
      name: 'twofa_logins_by_method_total',
      help: 'Challenges approved, by the second factor used (sms, totp, backup_code)',
      labelNames: ['method'] as const,
      registers: api,
    }),
    codesSent: new Counter({
      name: 'twofa_codes_sent_total',
      help: 'Send attempts, by outcome',
      labelNames: ['outcome'] as const,
      registers: worker,
    }),
    jobDuration: new Histogram({
      name: 'twofa_job_duration_seconds',
      help: 'Send job processing time, by outcome',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: worker,
    }),
    queueDepth: new Gauge({
      name: 'twofa_queue_jobs',
      help: 'Jobs in each queue, by state',
      labelNames: ['queue', 'state'] as const,
      registers: both,
    }),
    workerConcurrency: new Gauge({
      name: 'twofa_worker_concurrency',
      help: 'Send jobs one worker process runs at once',
      registers: worker,
    }),
    smsPaused: new Counter({
      name: 'twofa_sms_paused_total',
      help: 'Sends refused by the SMS pumping circuit breaker',
      registers: api,
    }),
    lowBalanceCrossings: new Counter({
      name: 'twofa_sms_balance_low_total',
      help: 'Times an organization balance fell below its low-balance threshold',
      registers: worker,
    }),
    // Per-organization series only for the few organizations that need attention
    // (below threshold, ever topped up, capped), so cardinality stays bounded.
    lowBalanceOrganizations: new Gauge({
      name: 'twofa_sms_balance_low_organizations',
      help: 'Organizations that have topped up at least once and are now below their threshold',
      registers: api,
    }),
    lowBalanceCredits: new Gauge({
      name: 'twofa_sms_balance_low_credits',
      help: `SMS credits left, for at most ${LOW_BALANCE_SERIES_LIMIT} organizations below their threshold (lowest first)`,
      labelNames: ['organization_id'] as const,
      registers: api,
    }),
    deliveryReceipts: new Counter({
      name: 'twofa_delivery_receipts_total',
      help: 'Provider delivery receipts, by reported status and whether they moved the send',
      labelNames: ['status', 'applied'] as const,
      registers: api,
    }),
    providerBalance: new Gauge({
      name: 'twofa_sms_provider_account_balance',
      help: 'SMS provider account balance, polled at an interval',
      labelNames: ['provider', 'currency'] as const,
      registers: worker,
    }),
    providerBalanceUpdated: new Gauge({
      name: 'twofa_sms_provider_account_balance_updated_seconds',
      help: 'Unix time of the last successful provider balance poll',
      labelNames: ['provider'] as const,
      registers: worker,
    }),
    ready: new Gauge({
      name: 'twofa_ready',
      help: 'Whether every dependency answered the last readiness check (1) or not (0)',
      registers: both,
    }),
    dependencyUp: new Gauge({
      name: 'twofa_dependency_up',
      help: 'Whether a dependency answered the last readiness check within its timeout',
      labelNames: ['dependency'] as const,
      registers: both,
    }),
    retentionDeleted: new Counter({
      name: 'twofa_retention_deleted_total',
      help: 'Finished challenges and their sends deleted past CHALLENGE_RETENTION_DAYS',
      labelNames: ['table'] as const,
      registers: worker,
    }),
    webhookDeliveries: new Counter({
      name: 'twofa_webhook_deliveries_total',
      help: 'Webhook delivery attempts, by result (delivered, retrying, failed, skipped, error)',
      labelNames: ['result'] as const,
      registers: worker,
    }),
    webhookOldestUndelivered: new Gauge({
      name: 'twofa_webhook_oldest_undelivered_seconds',
      help: 'Age of the oldest webhook event still to deliver, by whether it was attempted yet; 0 when none',
      labelNames: ['attempted'] as const,
      registers: worker,
    }),
    rateLimited: new Counter({
      name: 'twofa_rate_limited_total',
      help: 'Requests refused by a rate limit',
      labelNames: ['limit'] as const,
      registers: api,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** What the queue gauges need from a queue; structural, so this package stays free of BullMQ. */
export interface CountableQueue {
  readonly name: string;
  getJobCounts(...states: string[]): Promise<Record<string, number>>;
}

export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized'];

/** Reads each queue's job counts into the depth gauge; called at scrape time. */
export async function recordQueueDepths(
  metrics: Metrics,
  queues: CountableQueue[],
  timeoutMs: number,
): Promise<void> {
  await Promise.all(
    queues.map(async (queue) => {
      try {
        const counts = await withTimeout(queue.getJobCounts(...QUEUE_STATES), timeoutMs);
        for (const state of QUEUE_STATES) {
          metrics.queueDepth.set({ queue: queue.name, state }, counts[state] ?? 0);
        }
      } catch {
        // Redis away: keep the last known values; /ready says what is down.
      }
    }),
  );
}

export interface LowBalanceOrganization {
  organizationId: string;
  balance: number;
}

/** Replaces the per-organization low-balance series with a fresh reading. */
export function recordLowBalances(
  metrics: Metrics,
  reading: { total: number; organizations: LowBalanceOrganization[] },
): void {
  metrics.lowBalanceOrganizations.set(reading.total);
  metrics.lowBalanceCredits.reset();
  for (const org of reading.organizations.slice(0, LOW_BALANCE_SERIES_LIMIT)) {
    metrics.lowBalanceCredits.set({ organization_id: org.organizationId }, org.balance);
  }
}

/** Keeps the last readiness check in the gauges, so an alert sees what /ready answers. */
export function recordReadiness<N extends string>(metrics: Metrics, readiness: Readiness<N>): void {
  metrics.ready.set(readiness.ready ? 1 : 0);
  for (const [dependency, state] of Object.entries(readiness.checks)) {
    metrics.dependencyUp.set({ dependency }, state === 'ok' ? 1 : 0);
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Whether a scrape may read /metrics: always when no token is configured, else
 * only with `Authorization: Bearer <token>` (what Prometheus' `authorization`
 * scrape setting sends). Compared as digests in constant time, so neither the
 * token's content nor its length leaks through timing.
 */
export function metricsAuthorized(
  token: string | undefined,
  authorization: string | null | undefined,
): boolean {
  if (!token) return true;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(authorization ?? '');
  const given = match?.[1] ?? '';
  return timingSafeEqual(digest(given), digest(token)) && given.length > 0;
}

/** The header a 401 from /metrics carries (RFC 6750). */
export const METRICS_CHALLENGE = 'Bearer realm="metrics"';
