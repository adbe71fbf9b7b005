import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { withTimeout } from './health.ts';

/** Most organizations given a series of their own in the low-balance gauge. */
export const LOW_BALANCE_SERIES_LIMIT = 100;

/**
 * All metric definitions, in one place so API and worker agree on names.
 * Each process gets its own registry (tests run several apps in one process).
 */
export function createMetrics(service: 'api' | 'worker') {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    httpRequests: new Counter({
      name: 'twofa_http_requests_total',
      help: 'HTTP requests answered, by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    httpDuration: new Histogram({
      name: 'twofa_http_request_duration_seconds',
      help: 'HTTP request latency, by route and status',
      labelNames: ['method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    challengesStarted: new Counter({
      name: 'twofa_challenges_started_total',
      help: 'Login decisions, by policy outcome (challenge or the reason none was needed)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    verifyResults: new Counter({
      name: 'twofa_verify_results_total',
      help: 'Code verifications, by result',
      labelNames: ['result'] as const,
      registers,
    }),
    codesSent: new Counter({
      name: 'twofa_codes_sent_total',
      help: 'Send attempts, by outcome',
      labelNames: ['outcome'] as const,
      registers,
    }),
    jobDuration: new Histogram({
      name: 'twofa_job_duration_seconds',
      help: 'Send job processing time, by outcome',
      labelNames: ['queue', 'outcome'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    queueDepth: new Gauge({
      name: 'twofa_queue_jobs',
      help: 'Jobs in each queue, by state',
      labelNames: ['queue', 'state'] as const,
      registers,
    }),
    workerConcurrency: new Gauge({
      name: 'twofa_worker_concurrency',
      help: 'Send jobs one worker process runs at once',
      registers,
    }),
    smsPaused: new Counter({
      name: 'twofa_sms_paused_total',
      help: 'Sends refused by the SMS pumping circuit breaker',
      registers,
    }),
    lowBalanceCrossings: new Counter({
      name: 'twofa_sms_balance_low_total',
      help: 'Times an organization balance fell below its low-balance threshold',
      registers,
    }),
    // Per-organization series only for the few organizations that need attention
    // (below threshold, ever topped up, capped), so cardinality stays bounded.
    lowBalanceOrganizations: new Gauge({
      name: 'twofa_sms_balance_low_organizations',
      help: 'Organizations that have topped up at least once and are now below their threshold',
      registers,
    }),
    lowBalanceCredits: new Gauge({
      name: 'twofa_sms_balance_low_credits',
      help: `SMS credits left, for at most ${LOW_BALANCE_SERIES_LIMIT} organizations below their threshold (lowest first)`,
      labelNames: ['organization_id'] as const,
      registers,
    }),
    deliveryReceipts: new Counter({
      name: 'twofa_delivery_receipts_total',
      help: 'Provider delivery receipts, by reported status and whether they moved the send',
      labelNames: ['status', 'applied'] as const,
      registers,
    }),
    providerBalance: new Gauge({
      name: 'twofa_sms_provider_account_balance',
      help: 'SMS provider account balance, polled at an interval',
      labelNames: ['provider', 'currency'] as const,
      registers,
    }),
    providerBalanceUpdated: new Gauge({
      name: 'twofa_sms_provider_account_balance_updated_seconds',
      help: 'Unix time of the last successful provider balance poll',
      labelNames: ['provider'] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: 'twofa_rate_limited_total',
      help: 'Requests refused by a rate limit',
      labelNames: ['limit'] as const,
      registers,
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
