import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ServerType, serve } from '@hono/node-server';
import { loadConfig } from '@twofa/config';
import { metricsAuthorized } from '@twofa/observability';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createHarness, freePort, type Harness, REPO_ROOT, testEnv } from '../support/index.ts';
import { find, parsePrometheus } from './operator-support.ts';

// METRICS_TOKEN closes /metrics on the API and on each worker's port to anyone
// without `Authorization: Bearer <token>`, as Prometheus' `authorization` sends it.
const TOKEN = 'metrics-token-0123456789abcdef';

let h: Harness;
let org: { id: string; apiKey: string };

beforeAll(async () => {
  h = await createHarness({ env: { METRICS_TOKEN: TOKEN, DB_POOL_SIZE: '3' } });
  org = await h.createOrganization({ name: 'Token Clinic', country: 'FI' });
  await h.topUp(org.id, 3);
});
afterAll(async () => {
  await h?.close();
});

const REFUSED: Array<[string, Record<string, string>]> = [
  ['no header', {}],
  ['a wrong token', { authorization: `Bearer ${TOKEN.slice(0, -1)}x` }],
  ['a prefix of the token', { authorization: `Bearer ${TOKEN.slice(0, 10)}` }],
  ['the token and more', { authorization: `Bearer ${TOKEN}0` }],
  ['the token as basic auth', { authorization: `Basic ${btoa(`x:${TOKEN}`)}` }],
  ['an empty bearer', { authorization: 'Bearer ' }],
];

describe('API /metrics with METRICS_TOKEN', () => {
  it.each(REFUSED)('refuses %s with 401 and a Bearer challenge', async (_, headers) => {
    const res = await h.app.request('/metrics', { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const body = (await res.json()) as { code: string };
    expect(body.code).toBe('unauthorized');
    const text = JSON.stringify(body);
    expect(text).not.toContain('twofa_');
    expect(text).not.toContain(org.id);
  });

  it('refuses the platform key: metrics have their own credential', async () => {
    const res = await h.request('GET', '/metrics', { key: h.config.adminApiKey });
    expect(res.status).toBe(401);
  });

  it('answers the scraper that sends the token', async () => {
    const res = await h.app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    const samples = parsePrometheus(await res.text());
    // The organization low on credits is there, for the scraper only.
    expect(
      find(samples, 'twofa_sms_balance_low_credits', { organization_id: org.id }),
    ).toHaveLength(1);
  });

  it('leaves /health and /ready open for load balancers', async () => {
    expect((await h.app.request('/health')).status).toBe(200);
    expect((await h.app.request('/ready')).status).toBe(200);
  });
});

describe('worker /metrics with METRICS_TOKEN', () => {
  const url = () => `http://127.0.0.1:${h.worker?.port}`;

  it.each(REFUSED)('refuses %s with 401 and a Bearer challenge', async (_, headers) => {
    const res = await fetch(`${url()}/metrics`, { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const body = (await res.json()) as { code: string };
    expect(body.code).toBe('unauthorized');
  });

  it('answers the scraper that sends the token', async () => {
    const res = await fetch(`${url()}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(find(parsePrometheus(await res.text()), 'twofa_worker_concurrency')).toHaveLength(1);
  });

  it('leaves /health and /ready open', async () => {
    expect((await fetch(`${url()}/health`)).status).toBe(200);
    expect((await fetch(`${url()}/ready`)).status).toBe(200);
  });
});

describe('the token itself', () => {
  it('is compared whole, scheme case-insensitively', () => {
    expect(metricsAuthorized(TOKEN, `Bearer ${TOKEN}`)).toBe(true);
    expect(metricsAuthorized(TOKEN, `bearer ${TOKEN}`)).toBe(true);
    expect(metricsAuthorized(TOKEN, `Bearer ${TOKEN} `)).toBe(true);
    expect(metricsAuthorized(TOKEN, `Bearer ${TOKEN.toUpperCase()}`)).toBe(false);
    expect(metricsAuthorized(TOKEN, TOKEN)).toBe(false);
    expect(metricsAuthorized(TOKEN, undefined)).toBe(false);
    // Unset: open, as before.
    expect(metricsAuthorized(undefined, undefined)).toBe(true);
  });

  it('must be long enough and free of spaces', () => {
    const env = (METRICS_TOKEN: string) =>
      testEnv('postgres://postgres@127.0.0.1:5432/x', 'p', 'http://127.0.0.1:9', {
        METRICS_TOKEN,
      });
    expect(() => loadConfig(env('short'))).toThrow(/METRICS_TOKEN/);
    expect(() => loadConfig(env('with a space in the middle'))).toThrow(/METRICS_TOKEN/);
    // A token read from a file keeps its newline; it is trimmed.
    expect(loadConfig(env(`${TOKEN}\n`)).env.METRICS_TOKEN).toBe(TOKEN);
  });
});

describe('Prometheus with deploy/prometheus/prometheus.yml', () => {
  let dir: string;
  let server: ServerType;
  let prometheus: ChildProcess | undefined;
  let output = '';

  afterAll(async () => {
    prometheus?.kill('SIGTERM');
    if (prometheus && prometheus.exitCode === null) {
      await new Promise((resolve) => prometheus?.once('exit', resolve));
    }
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  interface Target {
    labels: { job: string };
    health: string;
    lastError: string;
  }

  it('scrapes API and worker with the token from its credentials file, and is refused without', async () => {
    server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    const apiPort = (server.address() as AddressInfo).port;

    // The shipped config, its targets pointed here and its interval shortened.
    dir = mkdtempSync(join(tmpdir(), 'twofa-prometheus-'));
    cpSync(join(REPO_ROOT, 'deploy/prometheus'), dir, { recursive: true });
    const config = parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8'));
    config.global.scrape_interval = '1s';
    const targets: Record<string, string> = {
      'twofa-api': `127.0.0.1:${apiPort}`,
      'twofa-worker': `127.0.0.1:${h.worker?.port}`,
    };
    for (const job of config.scrape_configs) {
      expect(job.authorization).toMatchObject({ type: 'Bearer' });
      job.static_configs = [{ targets: [targets[job.job_name]] }];
    }
    // A copy of the api job whose token file holds the wrong token.
    const wrong = structuredClone(config.scrape_configs[0]);
    wrong.job_name = 'wrong-token';
    wrong.authorization.credentials_file = 'secrets/wrong-token';
    config.scrape_configs.push(wrong);
    writeFileSync(join(dir, 'prometheus.yml'), stringify(config));
    mkdirSync(join(dir, 'secrets'));
    const tokenFile = config.scrape_configs[0].authorization.credentials_file;
    writeFileSync(join(dir, tokenFile), `${TOKEN}\n`);
    writeFileSync(join(dir, 'secrets/wrong-token'), 'not-the-metrics-token-at-all\n');

    const webPort = await freePort();
    try {
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${webPort}`,
        ],
        { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch (error) {
      throw new Error(
        `prometheus did not start (${(error as Error).message}): apt-get install -y prometheus`,
      );
    }
    prometheus.stdout?.on('data', (chunk) => (output += chunk));
    prometheus.stderr?.on('data', (chunk) => (output += chunk));
    const spawnError = new Promise<never>((_, reject) =>
      prometheus?.once('error', (error) =>
        reject(
          new Error(`prometheus did not run (${error.message}): apt-get install -y prometheus`),
        ),
      ),
    );

    const health = await Promise.race([
      spawnError,
      h.waitFor(async () => {
        const res = await fetch(`http://127.0.0.1:${webPort}/api/v1/targets`).catch(() => null);
        if (!res?.ok) return null;
        const body = (await res.json()) as { data: { activeTargets: Target[] } };
        const byJob = new Map(body.data.activeTargets.map((t) => [t.labels.job, t]));
        const settled = ['twofa-api', 'twofa-worker', 'wrong-token'].every(
          (job) => byJob.get(job) && byJob.get(job)?.health !== 'unknown',
        );
        return settled ? byJob : null;
      }, 30_000),
    ]).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${output.slice(-2000)}`);
    });
    expect(health.get('twofa-api')?.health, health.get('twofa-api')?.lastError).toBe('up');
    expect(health.get('twofa-worker')?.health, health.get('twofa-worker')?.lastError).toBe('up');
    expect(health.get('wrong-token')?.health).toBe('down');
    expect(health.get('wrong-token')?.lastError).toContain('401');
  }, 60_000);
});
