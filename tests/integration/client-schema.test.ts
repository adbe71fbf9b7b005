/**
 * The typed client (`@twofa/client`): its committed schema is what `npm run client:generate`
 * makes from the API's document today, and its calls reach the real app with the key and
 * answer typed data or the problem details.
 */
import { readFileSync } from 'node:fs';
import { createTwofaClient } from '@twofa/client';
import { describe, expect, it } from 'vitest';
import { renderClientSchema, SCHEMA_FILE } from '../../scripts/generate-client.ts';
import { ADMIN_KEY, withHarness } from '../support/index.ts';

const h = withHarness({ worker: false, env: { DB_POOL_SIZE: '2' } });

describe('the generated schema', () => {
  it('is up to date with /openapi.json (else run `npm run client:generate`)', async () => {
    const fresh = await renderClientSchema();
    const committed = readFileSync(SCHEMA_FILE, 'utf8');
    // A route of the document is in the text, so an empty render cannot pass as "equal".
    expect(fresh).toContain('"/v1/challenges/{id}/verify"');
    expect(committed === fresh, 'packages/client/src/schema.ts is stale').toBe(true);
  });

  it('renders the document the served app answers (the same routes)', async () => {
    const served = (await h.request('GET', '/openapi.json')).body as {
      paths: Record<string, unknown>;
    };
    const fresh = await renderClientSchema();
    const rendered = [...fresh.matchAll(/^ {4}"(\/[^"]*)": \{$/gm)].map((m) => m[1]);
    expect(rendered.sort()).toEqual(Object.keys(served.paths).sort());
  });
});

describe('createTwofaClient', () => {
  const client = (apiKey: string) =>
    createTwofaClient({
      baseUrl: 'http://twofa.test/',
      apiKey,
      fetch: async (r) => h.app.fetch(r),
    });

  it('sends the key, and answers typed data or problem details', async () => {
    const platform = client(ADMIN_KEY);
    const created = await platform.POST('/v1/organizations', {
      body: { name: 'Typed Clinic', country: 'FI' },
    });
    expect(created.response.status).toBe(201);
    const org = created.data;
    if (!org) throw new Error('no organization');
    expect(org.apiKey).toMatch(/.{20,}/);

    const twofa = client(org.apiKey);
    const user = await twofa.POST('/v1/users', {
      body: { email: 'typed@example.com', phone: '+358401112233' },
    });
    expect(user.data?.email).toBe('typed@example.com');
    const read = await twofa.GET('/v1/users/{userId}', {
      params: { path: { userId: user.data?.id ?? '' } },
    });
    expect(read.data?.phone).toBe('+358401112233');

    const taken = await twofa.POST('/v1/users', { body: { email: 'typed@example.com' } });
    expect(taken.response.status).toBe(409);
    expect(taken.error?.code).toBe('email_taken');

    const unauthorized = await client('not-a-key').GET('/v1/settings/password');
    expect(unauthorized.response.status).toBe(401);
    expect(unauthorized.error?.code).toBe('unauthorized');
  });
});
