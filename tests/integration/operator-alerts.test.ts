import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeServices, createApp, createServices } from '@twofa/api';
import { loadConfig } from '@twofa/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  captureLogs,
  createHarness,
  type Harness,
  REPO_ROOT,
  startTcpProxy,
  testEnv,
  uniquePrefix,
} from '../support/index.ts';
import { parsePrometheus, sampleValue } from './operator-support.ts';

// The operator's alerts and dashboard (deploy/), checked with Prometheus' own
// tool against the service's real /metrics. .ci/run installs promtool (Debian's
// `prometheus` package): a machine without it fails here rather than skipping.
const PROMETHEUS_DIR = join(REPO_ROOT, 'deploy/prometheus');
const ALERTS = join(PROMETHEUS_DIR, 'alerts.yml');
const ALERT_TESTS = join(PROMETHEUS_DIR, 'alerts.test.yml');
const DASHBOARD = join(REPO_ROOT, 'deploy/grafana/twofa.json');

function promtool(args: string[], input?: string) {
  const run = spawnSync('promtool', args, { input, encoding: 'utf8', cwd: PROMETHEUS_DIR });
  if (run.error) {
    throw new Error(
      `promtool did not run (${run.error.message}): install it with ` +
        '`apt-get install -y prometheus` (.ci/run does).',
    );
  }
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** Metric names an expression reads, without the _bucket/_count/_sum of histograms. */
function metricNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const [name] of text.matchAll(/\btwofa_[a-z0-9_]+/g)) {
    names.add(name.replace(/_(bucket|count|sum)$/, ''));
  }
  return names;
}

/** Names declared by `# TYPE` lines: present even before a labelled series has a sample. */
function exposedNames(exposition: string): Set<string> {
  return new Set([...exposition.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
}

let h: Harness;
let apiMetrics = '';
let workerMetrics = '';

beforeAll(async () => {
  h = await createHarness({ env: { DB_POOL_SIZE: '3', WORKER_CONCURRENCY: '2' } });
  // Traffic first, so labelled series (histogram buckets included) have samples.
  const org = await h.createOrganization({ name: 'Alerting Clinic', country: 'FI' });
  await h.topUp(org.id, 20);
  await h.enableTwoFactor(org.apiKey);
  await h.createUser(org.apiKey, {
    email: 'alerts@example.com',
    password: 'pw-0123456789',
    phone: '+358401230077',
  });
  const login = await h.request('POST', '/v1/logins', {
    key: org.apiKey,
    body: { email: 'alerts@example.com', password: 'pw-0123456789', ip: '198.51.100.9' },
  });
  expect(login.status).toBe(200);
  await h.waitFor(async () => h.lastCodeFor('+358401230077'));
  await h.request('GET', '/no-such-route');

  const api = await h.app.request('/metrics');
  expect(api.status).toBe(200);
  apiMetrics = await api.text();
  workerMetrics = await h.waitFor(async () => {
    const res = await fetch(`http://127.0.0.1:${h.worker?.port}/metrics`);
    const text = await res.text();
    return sampleValue(parsePrometheus(text), 'twofa_codes_sent_total', { outcome: 'sent' }) >= 1
      ? text
      : null;
  });
});
afterAll(async () => {
  await h?.close();
});

describe('promtool', () => {
  it('is installed', () => {
    const version = promtool(['--version']);
    expect(version.status).toBe(0);
  });

  it('accepts the alerting rules', () => {
    const run = promtool(['check', 'rules', ALERTS]);
    expect(run.output).toContain('SUCCESS');
    expect(run.status, run.output).toBe(0);
  });

  it('passes the rules unit tests', () => {
    const run = promtool(['test', 'rules', ALERT_TESTS]);
    expect(run.status, run.output).toBe(0);
    expect(run.output).toContain('SUCCESS');
  });

  it('accepts the scrape config, its token file in place', () => {
    const dir = mkdtempSync(join(tmpdir(), 'twofa-prom-'));
    try {
      cpSync(PROMETHEUS_DIR, dir, { recursive: true });
      mkdirSync(join(dir, 'secrets'));
      writeFileSync(join(dir, 'secrets/twofa-metrics-token'), 'metrics-token-0123456789\n');
      const run = promtool(['check', 'config', join(dir, 'prometheus.yml')]);
      expect(run.status, run.output).toBe(0);
      expect(run.output).toContain('alerts.yml');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds nothing to warn about in the API /metrics', () => {
    const run = promtool(['check', 'metrics'], apiMetrics);
    expect(run.output).toBe('');
    expect(run.status).toBe(0);
  });

  it('finds nothing to warn about in the worker /metrics', () => {
    const run = promtool(['check', 'metrics'], workerMetrics);
    expect(run.output).toBe('');
    expect(run.status).toBe(0);
  });

  it('would warn about a gauge named like a counter (the check can fail)', () => {
    const bad = '# HELP x_total x\n# TYPE x_total gauge\nx_total 1\n';
    const run = promtool(['check', 'metrics'], bad);
    expect(run.status).not.toBe(0);
    expect(run.output).toContain('_total');
  });
});

interface RuleFile {
  groups: {
    name: string;
    rules: { alert: string; expr: string; labels?: { severity?: string } }[];
  }[];
}
interface RuleTests {
  tests: { alert_rule_test: { alertname: string; exp_alerts: unknown[] }[] }[];
}

describe('the rules and the dashboard', () => {
  const alerts = readFileSync(ALERTS, 'utf8');
  const rules = (parse(alerts) as RuleFile).groups.flatMap((g) => g.rules);
  const names = rules.map((r) => r.alert);

  it('cover each situation the operator is asked to watch', () => {
    for (const wanted of [
      'TwofaSendQueueBacklogGrowing',
      'TwofaSendJobsFailing',
      'TwofaSendsUnknown',
      'TwofaOrganizationsLowOnCredits',
      'TwofaProviderBalanceLow',
      'TwofaProviderErrors',
      'TwofaNotReady',
      'TwofaSmsCircuitBreakerOpen',
    ]) {
      expect(names).toContain(wanted);
    }
  });

  it('test every alert both firing and quiet', () => {
    const cases = (parse(readFileSync(ALERT_TESTS, 'utf8')) as RuleTests).tests.flatMap(
      (t) => t.alert_rule_test,
    );
    for (const name of names) {
      const mine = cases.filter((c) => c.alertname === name);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${name} fires`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${name} stays quiet`,
      ).toBe(true);
    }
    // Each alert says how bad it is.
    for (const rule of rules)
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
  });

  it('read only metrics the service exports', () => {
    const exported = new Set([...exposedNames(apiMetrics), ...exposedNames(workerMetrics)]);
    const dashboard = readFileSync(DASHBOARD, 'utf8');
    const used = new Set([...metricNames(alerts), ...metricNames(dashboard)]);
    expect(used.size).toBeGreaterThan(10);
    for (const name of used) expect(exported.has(name), name).toBe(true);
  });

  it('the dashboard is Grafana JSON with a query on every panel', () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8'));
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.uid).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
    const panels = (dashboard.panels as any[]).filter((p) => p.type !== 'row');
    expect(panels.length).toBeGreaterThan(8);
    for (const panel of panels) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) expect(target.expr, panel.title).toMatch(/twofa_|up\{/);
    }
  });
});

describe('what each process exports', () => {
  const WORKER_ONLY = [
    'twofa_worker_concurrency',
    'twofa_codes_sent_total',
    'twofa_job_duration_seconds',
    'twofa_sms_balance_low_total',
    'twofa_sms_provider_account_balance',
  ];
  const API_ONLY = [
    'twofa_http_requests_total',
    'twofa_http_request_duration_seconds',
    'twofa_challenges_started_total',
    'twofa_sms_balance_low_organizations',
    'twofa_sms_paused_total',
  ];

  it('keeps worker-only series off the API and API-only series off the worker', () => {
    const api = exposedNames(apiMetrics);
    const worker = exposedNames(workerMetrics);
    for (const name of WORKER_ONLY) {
      expect(api.has(name), name).toBe(false);
      expect(worker.has(name), name).toBe(true);
    }
    for (const name of API_ONLY) {
      expect(worker.has(name), name).toBe(false);
      expect(api.has(name), name).toBe(true);
    }
    for (const name of ['twofa_queue_jobs', 'twofa_ready', 'twofa_dependency_up']) {
      expect(api.has(name), name).toBe(true);
      expect(worker.has(name), name).toBe(true);
    }
  });

  it('reports readiness in gauges on both', () => {
    for (const text of [apiMetrics, workerMetrics]) {
      const samples = parsePrometheus(text);
      expect(sampleValue(samples, 'twofa_ready')).toBe(1);
      expect(sampleValue(samples, 'twofa_dependency_up', { dependency: 'postgres' })).toBe(1);
      expect(sampleValue(samples, 'twofa_dependency_up', { dependency: 'redis' })).toBe(1);
    }
  });

  it('keeps the default process metrics, without the gauges misnamed _total', () => {
    const api = exposedNames(apiMetrics);
    expect(api.has('process_cpu_seconds_total')).toBe(true);
    expect(api.has('nodejs_active_handles')).toBe(true);
    expect(api.has('nodejs_active_handles_total')).toBe(false);
  });
});

it('shows a hung Redis in the readiness gauges, and /metrics still answers', async () => {
  const redisUrl = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const proxy = await startTcpProxy({
    host: redisUrl.hostname,
    port: Number(redisUrl.port || 6379),
  });
  redisUrl.hostname = '127.0.0.1';
  redisUrl.port = String(proxy.port);
  const config = loadConfig(
    testEnv(h.databaseUrl, uniquePrefix('alerts'), h.twilio.url, {
      REDIS_URL: redisUrl.toString(),
      DB_POOL_SIZE: '2',
    }),
  );
  const services = createServices(config, { logger: captureLogs('api').logger });
  const app = createApp(services);
  try {
    const scrape = async () => {
      const res = await app.request('/metrics');
      expect(res.status).toBe(200);
      return parsePrometheus(await res.text());
    };
    // Connected once, through the relay.
    await h.waitFor(async () => sampleValue(await scrape(), 'twofa_ready') === 1);
    proxy.freeze();
    const started = Date.now();
    const down = await scrape();
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(sampleValue(down, 'twofa_ready')).toBe(0);
    expect(sampleValue(down, 'twofa_dependency_up', { dependency: 'redis' })).toBe(0);
    expect(sampleValue(down, 'twofa_dependency_up', { dependency: 'postgres' })).toBe(1);
    proxy.thaw();
    await h.waitFor(async () => sampleValue(await scrape(), 'twofa_ready') === 1);
  } finally {
    proxy.thaw();
    await closeServices(services);
    await proxy.close();
  }
});
