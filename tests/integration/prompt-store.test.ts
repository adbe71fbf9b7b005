/**
 * The prompt's store (oidc-provider's short-lived models and ours) on real
 * Redis, one prefix of its own: what the adapter relies on, each step a script
 * or a single command so that racing callers see one order.
 */
import { randomBytes } from 'node:crypto';
import { PROMPT_STORE_MAX_TTL_SECONDS, PromptStore } from '@twofa/api';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
const store = new PromptStore(redis, `store-test-${randomBytes(4).toString('hex')}`);
afterAll(async () => {
  const keys = await redis.keys(store.key('*', '*'));
  if (keys.length > 0) await redis.del(...keys);
  await redis.quit();
});

const id = () => randomBytes(8).toString('hex');

describe('the prompt store', () => {
  it('finds what it stored until the TTL ends, and keys carry the one hash tag', async () => {
    const code = id();
    await store.upsert('AuthorizationCode', code, { grantId: 'g', scope: 'openid' }, 60);
    expect(await store.find('AuthorizationCode', code)).toEqual({
      payload: { grantId: 'g', scope: 'openid' },
      consumedAt: null,
    });
    const key = store.key('AuthorizationCode', code);
    expect(key).toMatch(/^\{store-test-[0-9a-f]+:oidc\}:AuthorizationCode:/);
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(55);
    expect(ttl).toBeLessThanOrEqual(60);
    await redis.pexpire(key, 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await store.find('AuthorizationCode', code)).toBeNull();
    expect(await store.find('AuthorizationCode', id())).toBeNull();
  });

  it('caps a missing or long TTL at a day', async () => {
    const a = id();
    const b = id();
    await store.upsert('Session', a, {}, undefined);
    await store.upsert('Session', b, {}, 10 * PROMPT_STORE_MAX_TTL_SECONDS);
    for (const key of [store.key('Session', a), store.key('Session', b)]) {
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(PROMPT_STORE_MAX_TTL_SECONDS - 5);
      expect(ttl).toBeLessThanOrEqual(PROMPT_STORE_MAX_TTL_SECONDS);
    }
  });

  it('lets exactly one of many consumes racing for one code through, and none of a missing one', async () => {
    const code = id();
    await store.upsert('AuthorizationCode', code, { grantId: 'g' }, 60);
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => store.consume('AuthorizationCode', code)),
    );
    expect(outcomes.filter(Boolean)).toHaveLength(1);
    const found = await store.find('AuthorizationCode', code);
    expect(found?.consumedAt).toBeGreaterThan(Date.now() / 1000 - 60);
    // A consume of nothing stores nothing (no TTL-less key left behind).
    const missing = id();
    expect(await store.consume('AuthorizationCode', missing)).toBe(false);
    expect(await redis.exists(store.key('AuthorizationCode', missing))).toBe(0);
  });

  it('an upsert replaces the model, its consumed mark too', async () => {
    const par = id();
    await store.upsert('PushedAuthorizationRequest', par, { n: 1 }, 60);
    expect(await store.consume('PushedAuthorizationRequest', par)).toBe(true);
    await store.upsert('PushedAuthorizationRequest', par, { n: 2 }, 60);
    expect(await store.find('PushedAuthorizationRequest', par)).toEqual({
      payload: { n: 2 },
      consumedAt: null,
    });
  });

  it('stores once: of callers racing, one stores, the rest find its payload', async () => {
    const claim = id();
    const stored = await Promise.all(
      ['a', 'b', 'c', 'd'].map((uid) => store.insertOnce('PromptRequestClaim', claim, { uid }, 60)),
    );
    expect(stored.filter(Boolean)).toHaveLength(1);
    const winner = ['a', 'b', 'c', 'd'][stored.indexOf(true)];
    expect((await store.find('PromptRequestClaim', claim))?.payload).toEqual({ uid: winner });
    expect(await redis.ttl(store.key('PromptRequestClaim', claim))).toBeGreaterThan(0);
  });

  it('finds a session by its uid, and not after it is destroyed', async () => {
    const session = id();
    const uid = id();
    await store.upsert('Session', session, { uid, accountId: 'u1' }, 3600, { uid });
    expect((await store.findByUid('Session', uid))?.payload).toEqual({ uid, accountId: 'u1' });
    expect(await store.findByUid('Interaction', uid)).toBeNull();
    await store.destroy('Session', session);
    expect(await store.findByUid('Session', uid)).toBeNull();
  });

  it("revokes everything saved under a grant, of every kind, and nothing of another grant's", async () => {
    const grant = id();
    const other = id();
    const mine = [
      ['Grant', grant],
      ['AuthorizationCode', id()],
      ['AccessToken', id()],
      ['PromptDecision', grant],
    ] as const;
    for (const [kind, key] of mine) {
      await store.upsert(kind, key, { grantId: grant }, kind === 'Grant' ? 3600 : 60, {
        grantId: grant,
      });
    }
    const theirs = id();
    await store.upsert('AccessToken', theirs, { grantId: other }, 60, { grantId: other });
    await store.revokeByGrantId(grant);
    for (const [kind, key] of mine) expect(await store.find(kind, key)).toBeNull();
    expect(await store.find('AccessToken', theirs)).not.toBeNull();
    // The grant's index outlives its longest model, and goes with the revocation.
    expect(await redis.exists(store.key('grant', grant))).toBe(0);
  });

  it("keeps a grant's index as long as its longest-lived model", async () => {
    const grant = id();
    await store.upsert('Grant', grant, {}, 3600, { grantId: grant });
    await store.upsert('AuthorizationCode', id(), {}, 60, { grantId: grant });
    expect(await redis.ttl(store.key('grant', grant))).toBeGreaterThan(3500);
  });
});
