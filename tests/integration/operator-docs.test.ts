import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';

/**
 * The repository's own API reference, and the shared contract it is written
 * against when a checkout sits beside it (a bare clone has only the first).
 */
const REFERENCE = fileURLToPath(new URL('../../docs/api.md', import.meta.url));
const SHARED_CONTRACT = fileURLToPath(new URL('../../../shared/docs/api.md', import.meta.url));
const DOCUMENTS = [REFERENCE, ...(existsSync(SHARED_CONTRACT) ? [SHARED_CONTRACT] : [])];

const h = withHarness({ worker: false, env: { DB_POOL_SIZE: '2' } });

/**
 * Every `METHOD /path` named in the first column of the contract's tables; a
 * bare `/path` there (the dashboard, the docs page) is a GET.
 */
function contractRoutes(markdown: string): { method: string; path: string }[] {
  const routes: { method: string; path: string }[] = [];
  for (const line of markdown.split('\n')) {
    if (!line.startsWith('|')) continue;
    const firstCell = line.split('|')[1] ?? '';
    for (const match of firstCell.matchAll(
      /`(?:(GET|POST|PUT|PATCH|DELETE) )?(\/[^`\s?]*)[^`]*`/g,
    )) {
      routes.push({ method: (match[1] ?? 'GET').toLowerCase(), path: match[2] as string });
    }
  }
  return routes;
}

/** `/v1/users/{userId}` and `/v1/users/{id}` name the same route. */
const shape = (path: string) => path.replace(/\{[^}]+\}/g, '{}');

type OpenApi = {
  openapi: string;
  paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
  components?: { securitySchemes?: Record<string, unknown> };
};

async function documentedRoutes(): Promise<Map<string, Set<string>>> {
  const res = await h.request('GET', '/openapi.json');
  expect(res.status).toBe(200);
  const doc = res.body as OpenApi;
  const documented = new Map<string, Set<string>>();
  for (const [path, operations] of Object.entries(doc.paths)) {
    const methods = documented.get(shape(path)) ?? new Set<string>();
    for (const method of Object.keys(operations)) methods.add(method);
    documented.set(shape(path), methods);
  }
  return documented;
}

describe('API docs', () => {
  it('the reference names every operation /openapi.json documents', async () => {
    const routes = contractRoutes(readFileSync(REFERENCE, 'utf8'));
    const named = new Set(routes.map((r) => `${r.method} ${shape(r.path)}`));
    const documented = await documentedRoutes();
    const unnamed = [...documented].flatMap(([path, methods]) =>
      [...methods].map((m) => `${m} ${path}`).filter((route) => !named.has(route)),
    );
    expect(unnamed).toEqual([]);
  });

  it.each(DOCUMENTS)('documents every route of %s in /openapi.json', async (file) => {
    const routes = contractRoutes(readFileSync(file, 'utf8'));
    // The parser found the tables: platform, org, login, challenge and operations routes.
    expect(routes.length).toBeGreaterThanOrEqual(25);
    expect(routes).toContainEqual({ method: 'post', path: '/v1/challenges/{id}/verify' });
    expect(routes).toContainEqual({ method: 'post', path: '/webhooks/twilio/status' });
    expect(routes).toContainEqual({ method: 'get', path: '/admin/queues' });

    const res = await h.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body as OpenApi;
    expect(doc.openapi).toMatch(/^3\./);
    const documented = new Map<string, Set<string>>();
    for (const [path, operations] of Object.entries(doc.paths)) {
      const methods = documented.get(shape(path)) ?? new Set<string>();
      for (const method of Object.keys(operations)) methods.add(method);
      documented.set(shape(path), methods);
    }
    const missing = routes.filter((r) => !documented.get(shape(r.path))?.has(r.method));
    expect(missing).toEqual([]);
    for (const operations of Object.values(doc.paths)) {
      for (const operation of Object.values(operations)) {
        expect(Object.keys(operation.responses ?? {}).length).toBeGreaterThan(0);
      }
    }
  });

  it('derives request schemas from the zod schemas that validate them', async () => {
    const doc = (await h.request('GET', '/openapi.json')).body as any;
    const create = doc.paths['/v1/organizations'].post;
    const schema = create.requestBody.content['application/json'].schema;
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['name', 'authMethod', 'country']),
    );
    expect(schema.properties.authMethod.enum).toEqual(
      expect.arrayContaining(['password', 'saml2', 'ldap']),
    );
    expect(schema.required).toContain('name');
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });

    // The same schema refuses what the document says is invalid.
    const refused = await h.request('POST', '/v1/organizations', {
      key: 'test-platform-key-0123456789',
      body: { name: 'X', authMethod: 'kerberos' },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('invalid_request');
  });

  it('serves a browsable page of the document at /docs', async () => {
    const res = await h.app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    expect(html).toMatch(/swagger-ui/i);
    expect(html).toContain("'/openapi.json'");
  });
});
