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

function apiKeys(clock = new TestClock(), maxEntries?: number) {
  return new ApiKeys({ sql, close: () => sql.end() }, clock, {
    appSecret: h.config.appSecret,
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
    const found = await Promise.all(Array.from({ length: 20 }, () => keys.organizationFor(hash)));
    expect(found).toEqual(Array(20).fill(org.id));
    expect(statements - before).toBe(1);
    await keys.organizationFor(hash);
    expect(statements - before).toBe(1);
  });

  it('looks a key up again once its minute is over', async () => {
    const org = await h.createOrganization();
    const clock = new TestClock();
    const keys = apiKeys(clock);
    const hash = keys.hash(org.apiKey);
    await keys.organizationFor(hash);
    const before = statements;
    clock.advance(API_KEY_CACHE_TTL_MS);
    await expect(keys.organizationFor(hash)).resolves.toBe(org.id);
    expect(statements - before).toBe(1);
  });

  it('keeps no unknown key, and no more keys than its bound', async () => {
    const keys = apiKeys(new TestClock(), 2);
    for (let i = 0; i < 50; i++) {
      await expect(keys.organizationFor(keys.hash(randomBytes(16).toString('hex')))).resolves.toBe(
        null,
      );
    }
    expect(keys.cachedKeys).toBe(0);
    const orgs = [await h.createOrganization(), await h.createOrganization()];
    orgs.push(await h.createOrganization());
    for (const org of orgs) await keys.organizationFor(keys.hash(org.apiKey));
    expect(keys.cachedKeys).toBe(2);
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
