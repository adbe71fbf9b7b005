import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

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
    lowBalanceOrganizations: new Gauge({
      name: 'twofa_sms_balance_low_organizations',
      help: 'Organizations whose SMS balance is below their threshold',
      labelNames: ['organization_id'] as const,
      registers,
    }),
    providerBalance: new Gauge({
      name: 'twofa_sms_provider_account_balance',
      help: 'SMS provider account balance, polled',
      labelNames: ['currency'] as const,
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
