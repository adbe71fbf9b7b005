import { loadConfig } from '@twofa/config';
import { metricsAuthorized } from '@twofa/observability';
import { createHarness, type Harness, testEnv } from '@twofa/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
