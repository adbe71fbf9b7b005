import type { RedisConnection as Redis } from '@twofa/queue';

/**
 * The hosted prompt's short-lived state in Redis: oidc-provider's models (the
 * pushed request, the interaction, the session, the grant, the code, the
 * access token) and our own beside them (PromptState, the pushed request's
 * claim, the decision by grant). Each lives minutes to an hour, is read by
 * key, and expires by itself (a TTL on every key), so none of it is a row in
 * Postgres: a round no longer writes and rereads a dozen rows there.
 *
 * What Redis losing its data means here: every prompt under way ends on the
 * error page (its interaction is gone) and the app starts the login again; no
 * code or token it held is accepted afterwards, since they are gone too.
 * Nothing of the challenge itself lives here: it is in Postgres as always.
 *
 * One hash per model: `p` its JSON, `c` when it was consumed (epoch seconds).
 * Every key carries the `{prefix:oidc}` hash tag, so on a Redis Cluster a
 * model, its grant's index and its uid's index share one slot and each script
 * below is atomic over them.
 */

/** Longest any model is kept, whatever the provider asks (its longest TTL is an hour). */
export const PROMPT_STORE_MAX_TTL_SECONDS = 24 * 60 * 60;

export interface StoredModel {
  payload: Record<string, unknown>;
  /** Epoch seconds of the (first) consume, or null. */
  consumedAt: number | null;
}

export interface UpsertIndexes {
  /** Revoked together by `revokeByGrantId`. */
  grantId?: string | null | undefined;
  /** Found again by `findByUid`. */
  uid?: string | null | undefined;
}

/**
 * KEYS[1] the model; then the grant's set when ARGV[3] has `g`, the uid's key
 * when it has `u` (in that order). ARGV[1] JSON, ARGV[2] TTL in seconds.
 * Replaces the model (consumed mark included), indexes it, and keeps each
 * index at least as long as the model.
 */
const UPSERT = `
local ttl = tonumber(ARGV[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'p', ARGV[1])
redis.call('EXPIRE', KEYS[1], ttl)
local k = 2
if string.find(ARGV[3], 'g', 1, true) then
  local left = redis.call('TTL', KEYS[k])
  redis.call('SADD', KEYS[k], KEYS[1])
  if left < ttl then redis.call('EXPIRE', KEYS[k], ttl) end
  k = k + 1
end
if string.find(ARGV[3], 'u', 1, true) then
  redis.call('SET', KEYS[k], KEYS[1], 'EX', ttl)
end
return 1
`;

/** KEYS[1] the model, ARGV as UPSERT's first two: stores it only when absent; 1 when this call did. */
const INSERT_ONCE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'p', ARGV[1])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
`;

/** KEYS[1] the model, ARGV[1] now: marks it consumed; 1 only for the call that marked it. */
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
return redis.call('HSETNX', KEYS[1], 'c', ARGV[1])
`;

/** KEYS[1] a uid's key: the model it names, as HMGET p c. */
const FIND_BY_UID = `
local key = redis.call('GET', KEYS[1])
if not key then return {false, false} end
return redis.call('HMGET', key, 'p', 'c')
`;

/** KEYS[1] a grant's set: deletes every model indexed under it, and the set. */
const REVOKE_GRANT = `
local members = redis.call('SMEMBERS', KEYS[1])
for i = 1, #members do redis.call('DEL', members[i]) end
redis.call('DEL', KEYS[1])
return #members
`;

type ScriptedRedis = Redis & {
  twofaPromptUpsert(numKeys: number, ...args: string[]): Promise<number>;
  twofaPromptInsertOnce(key: string, json: string, ttl: string): Promise<number>;
  twofaPromptConsume(key: string, now: string): Promise<number>;
  twofaPromptFindByUid(key: string): Promise<[string | null, string | null]>;
  twofaPromptRevokeGrant(key: string): Promise<number>;
};

function ttlOf(seconds: number | null | undefined): string {
  const ttl = seconds && seconds > 0 ? Math.ceil(seconds) : PROMPT_STORE_MAX_TTL_SECONDS;
  return String(Math.min(ttl, PROMPT_STORE_MAX_TTL_SECONDS));
}

function modelOf(p: string | null, c: string | null): StoredModel | null {
  if (p === null) return null;
  return {
    payload: JSON.parse(p) as Record<string, unknown>,
    consumedAt: c === null ? null : Number(c),
  };
}

export class PromptStore {
  readonly #redis: ScriptedRedis;
  readonly #prefix: string;

  constructor(redis: Redis, queuePrefix: string) {
    redis.defineCommand('twofaPromptUpsert', { lua: UPSERT });
    redis.defineCommand('twofaPromptInsertOnce', { lua: INSERT_ONCE, numberOfKeys: 1 });
    redis.defineCommand('twofaPromptConsume', { lua: CONSUME, numberOfKeys: 1 });
    redis.defineCommand('twofaPromptFindByUid', { lua: FIND_BY_UID, numberOfKeys: 1 });
    redis.defineCommand('twofaPromptRevokeGrant', { lua: REVOKE_GRANT, numberOfKeys: 1 });
    this.#redis = redis as ScriptedRedis;
    // The hash tag is the first {...} of a key: braces of the prefix itself are left out of it.
    this.#prefix = `{${queuePrefix.replace(/[{}]/g, '')}:oidc}`;
  }

  /**
   * The Redis key of one model (a `*` makes a pattern). The indexes use it too, under the kinds
   * `grant` (a grant's set) and `uid` (the id `<kind>:<uid>`), which no model is named.
   */
  key(kind: string, id: string): string {
    return `${this.#prefix}:${kind}:${id}`;
  }

  #grantKey(grantId: string): string {
    return this.key('grant', grantId);
  }

  #uidKey(kind: string, uid: string): string {
    return this.key('uid', `${kind}:${uid}`);
  }

  async upsert(
    kind: string,
    id: string,
    payload: Record<string, unknown>,
    ttlSeconds: number | null | undefined,
    indexes: UpsertIndexes = {},
  ): Promise<void> {
    const keys = [this.key(kind, id)];
    let which = '';
    if (indexes.grantId) {
      keys.push(this.#grantKey(indexes.grantId));
      which += 'g';
    }
    if (indexes.uid) {
      keys.push(this.#uidKey(kind, indexes.uid));
      which += 'u';
    }
    await this.#redis.twofaPromptUpsert(
      keys.length,
      ...keys,
      JSON.stringify(payload),
      ttlOf(ttlSeconds),
      which,
    );
  }

  /** Stores a model unless one of that kind and id exists: true when this call stored it. */
  async insertOnce(
    kind: string,
    id: string,
    payload: Record<string, unknown>,
    ttlSeconds: number,
  ): Promise<boolean> {
    const stored = await this.#redis.twofaPromptInsertOnce(
      this.key(kind, id),
      JSON.stringify(payload),
      ttlOf(ttlSeconds),
    );
    return stored === 1;
  }

  /** A model that has not expired, or null. */
  async find(kind: string, id: string): Promise<StoredModel | null> {
    const [p, c] = await this.#redis.hmget(this.key(kind, id), 'p', 'c');
    return modelOf(p ?? null, c ?? null);
  }

  async findByUid(kind: string, uid: string): Promise<StoredModel | null> {
    const [p, c] = await this.#redis.twofaPromptFindByUid(this.#uidKey(kind, uid));
    return modelOf(p ?? null, c ?? null);
  }

  /**
   * Marks a model used (a code, a pushed request). True only for the call
   * that marked it: of two redemptions of one code racing, one wins.
   */
  async consume(kind: string, id: string): Promise<boolean> {
    const now = String(Math.floor(Date.now() / 1000));
    return (await this.#redis.twofaPromptConsume(this.key(kind, id), now)) === 1;
  }

  async destroy(kind: string, id: string): Promise<void> {
    await this.#redis.del(this.key(kind, id));
  }

  /** Everything saved under a grant, of every kind: a replayed code revokes them all. */
  async revokeByGrantId(grantId: string): Promise<void> {
    await this.#redis.twofaPromptRevokeGrant(this.#grantKey(grantId));
  }
}
