/**
 * The bearer-token lookup: hashed once, the platform key's hash made at start, one
 * database lookup per key in flight, a bounded cache that keeps only keys that exist.
 */
import { randomBytes } from 'node:crypto';
import { API_KEY_CACHE_TTL_MS, ApiKeys, BoundedCache } from '@twofa/api';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, TestClock, withHarness } from '../support/index.ts';

const h = withHarness({ worker: false });

/** A real pool on the harness's database that counts the statements it runs. */
let statements = 0;
let sql: postgres.Sql;
beforeAll(async () => {
  // One connection, opened (and its type lookup done) before anything is counted.
  sql = postgres(h.databaseUrl, { max: 1, onnotice: () => {}, debug: () => void statements++ });
  await sql`select 1`;
});
afterAll(() => sql.end());

function apiKeys(
  clock = new TestClock(),
  maxEntries?: number,
  appSecrets: readonly string[] = [h.config.appSecret],
) {
  return new ApiKeys({ sql, close: () => sql.end() }, clock, {
    appSecrets,
    adminApiKey: ADMIN_KEY,
    ...(maxEntries !== undefined && { maxEntries }),
  });
}

describe('BoundedCache', () => {
  it('drops the least recently used entry past its bound', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(() => new BoundedCache(0)).toThrow(RangeError);
  });
});

describe('ApiKeys', () => {
  it('recognises the platform key by its hash, and nothing else', () => {
    const keys = apiKeys();
    expect(keys.isPlatform(keys.hash(ADMIN_KEY))).toBe(true);
    expect(keys.isPlatform(keys.hash(`${ADMIN_KEY}x`))).toBe(false);
    expect(keys.isPlatform(ADMIN_KEY)).toBe(false);
  });

  it('looks a key up once however many requests carry it at once, then from the cache', async () => {
    const org = await h.createOrganization();
    const keys = apiKeys();
    const hash = keys.hash(org.apiKey);
    const before = statements;
    const found = await Promise.all(
      Array.from({ length: 20 }, () => keys.organizationFor(hash, org.apiKey)),
    );
    expect(found).toEqual(Array(20).fill(org.id));
    expect(statements - before).toBe(1);
    await keys.organizationFor(hash, org.apiKey);
    expect(statements - before).toBe(1);
  });

  it('looks a key up again once its minute is over', async () => {
    const org = await h.createOrganization();
    const clock = new TestClock();
    const keys = apiKeys(clock);
    const hash = keys.hash(org.apiKey);
    await keys.organizationFor(hash, org.apiKey);
    const before = statements;
    clock.advance(API_KEY_CACHE_TTL_MS);
    await expect(keys.organizationFor(hash, org.apiKey)).resolves.toBe(org.id);
    expect(statements - before).toBe(1);
  });

  it('keeps no unknown key, and no more keys than its bound', async () => {
    const keys = apiKeys(new TestClock(), 2);
    for (let i = 0; i < 50; i++) {
      const token = randomBytes(16).toString('hex');
      await expect(keys.organizationFor(keys.hash(token), token)).resolves.toBe(null);
    }
    expect(keys.cachedKeys).toBe(0);
    const orgs = [await h.createOrganization(), await h.createOrganization()];
    orgs.push(await h.createOrganization());
    for (const org of orgs) await keys.organizationFor(keys.hash(org.apiKey), org.apiKey);
    expect(keys.cachedKeys).toBe(2);
  });
});

describe('after APP_SECRET rotates (the old one in APP_SECRET_PREVIOUS)', () => {
  const ROTATED = 'rotated-app-secret-0123456789abcdef';

  it('finds a key stored under the old hash and moves it to the new one, in one statement', async () => {
    const org = await h.createOrganization();
    const keys = apiKeys(new TestClock(), undefined, [ROTATED, h.config.appSecret]);
    const hash = keys.hash(org.apiKey);
    const before = statements;
    await expect(keys.organizationFor(hash, org.apiKey)).resolves.toBe(org.id);
    // The lookup under the new hash, then the one statement that finds and moves it.
    expect(statements - before).toBe(2);
    const [row] = await sql<{ keyHash: string }[]>`
      select key_hash as "keyHash" from api_keys where organization_id = ${org.id}`;
    expect(row?.keyHash).toBe(hash);
    // Found directly from now on, without the old secret.
    const current = apiKeys(new TestClock(), undefined, [ROTATED]);
    await expect(current.organizationFor(hash, org.apiKey)).resolves.toBe(org.id);
  });

  it('finds a key two replicas move at once, on both', async () => {
    // Each replica with a pool of its own, so their statements interleave.
    const pools = [0, 1].map(() => postgres(h.databaseUrl, { max: 1, onnotice: () => {} }));
    try {
      const replicas = pools.map(
        (pool) =>
          new ApiKeys({ sql: pool, close: () => pool.end() }, new TestClock(), {
            appSecrets: [ROTATED, h.config.appSecret],
            adminApiKey: ADMIN_KEY,
          }),
      );
      for (let round = 0; round < 20; round++) {
        const org = await h.createOrganization();
        const found = await Promise.all(
          replicas.map((keys) => keys.organizationFor(keys.hash(org.apiKey), org.apiKey)),
        );
        expect(found).toEqual([org.id, org.id]);
      }
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
  });

  it('refuses a key under the old hash when the old secret is not kept, and a revoked one', async () => {
    const org = await h.createOrganization();
    const without = apiKeys(new TestClock(), undefined, [ROTATED]);
    await expect(without.organizationFor(without.hash(org.apiKey), org.apiKey)).resolves.toBe(null);
    await sql`update api_keys set revoked_at = now() where organization_id = ${org.id}`;
    const withOld = apiKeys(new TestClock(), undefined, [ROTATED, h.config.appSecret]);
    await expect(withOld.organizationFor(withOld.hash(org.apiKey), org.apiKey)).resolves.toBe(null);
  });
});

describe('the auth middleware on it', () => {
  it('tells the platform key and organization keys apart on both kinds of route', async () => {
    const org = await h.createOrganization();
    expect((await h.request('GET', '/v1/sms-balance', { key: org.apiKey })).status).toBe(200);
    expect((await h.request('GET', '/v1/sms-balance', { key: ADMIN_KEY })).status).toBe(403);
    expect((await h.request('GET', '/v1/sms-balance', { key: 'nope' })).status).toBe(401);
    const platform = await h.request('POST', '/v1/organizations', {
      key: org.apiKey,
      body: { name: 'x', country: 'FI' },
    });
    expect(platform.status).toBe(403);
    expect((await h.request('GET', `/v1/organizations/${org.id}`, { key: ADMIN_KEY })).status).toBe(
      200,
    );
  });
});
