import type { Config } from '@twofa/config';
import { normalizeCidr, parseClientIp } from '@twofa/core';
import type { Metrics } from '@twofa/observability';
import type { RedisConnection as Redis } from '@twofa/queue';
import { ApiError } from './errors.ts';

export type LimitName =
  | 'ip_logins'
  | 'user_challenges'
  | 'destination_sends'
  | 'org_sends'
  | 'account_failures'
  /** Pushed authorization requests of one hosted-prompt app. */
  | 'app_pars';

/** One counter to take a point from: which limit, and whose key. */
export type LimitKey = readonly [limit: LimitName, key: string];

/**
 * Gives back the points a consumption took: all of them, or only those of
 * the limits named. Each point is given back at most once, however often it
 * is called.
 */
export type Refund = (only?: readonly LimitName[]) => Promise<void>;

/**
 * The per-IP key: one spelling per address (an IPv4-mapped or differently
 * written IPv6 address is the same client), and a whole IPv6 /64 as one
 * client, since anyone holding one address of it can use them all.
 */
export function clientIpKey(ip: string): string {
  const addr = parseClientIp(ip);
  if (!addr) return ip;
  if (addr.kind() === 'ipv4') return addr.toString();
  return normalizeCidr(`${addr.toString()}/64`);
}

interface LimitSpec {
  points: number;
  durationMs: number;
}

/**
 * Takes one point from every counter in KEYS, or none: the first counter that
 * is spent refuses the lot. Fixed windows: a counter's window starts with its
 * first point and lasts its duration. ARGV holds the limits, then the
 * durations in ms. Answers {0, 0} when taken, else {index of the refusing
 * counter (1-based), ms until it frees up}.
 */
const TAKE_SCRIPT = `
local n = #KEYS
for i = 1, n do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used >= tonumber(ARGV[i]) then
    local ttl = redis.call('PTTL', KEYS[i])
    if ttl < 0 then
      ttl = tonumber(ARGV[n + i])
      redis.call('PEXPIRE', KEYS[i], ttl)
    end
    return {i, ttl}
  end
end
for i = 1, n do
  redis.call('INCR', KEYS[i])
  if redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], ARGV[n + i])
  end
end
return {0, 0}
`;

/**
 * A give-back and two takes as if made one after the other with nothing in
 * between, in one round trip. KEYS: ARGV[1] counters to give one point back
 * to (as the give-back script does), then the counters to take from: the
 * first ARGV[2] of them all or none, then, if those were taken, the rest all
 * or none. A refusal of the rest keeps the first points, as two scripts
 * would. ARGV[3..] hold the taken counters' limits, then their durations in
 * ms. Answers as the take script does, indexes counting taken counters only.
 */
const TAKE_STAGED_SCRIPT = `
local g = tonumber(ARGV[1])
local split = tonumber(ARGV[2])
local n = #KEYS - g
for i = 1, g do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used > 0 then redis.call('DECR', KEYS[i]) end
end
local function refusal(from, to)
  for i = from, to do
    local key = KEYS[g + i]
    local used = tonumber(redis.call('GET', key) or '0')
    if used >= tonumber(ARGV[2 + i]) then
      local ttl = redis.call('PTTL', key)
      if ttl < 0 then
        ttl = tonumber(ARGV[2 + n + i])
        redis.call('PEXPIRE', key, ttl)
      end
      return {i, ttl}
    end
  end
  return nil
end
local function take(from, to)
  for i = from, to do
    local key = KEYS[g + i]
    redis.call('INCR', key)
    if redis.call('PTTL', key) < 0 then
      redis.call('PEXPIRE', key, ARGV[2 + n + i])
    end
  end
end
local refused = refusal(1, split)
if refused then return refused end
take(1, split)
refused = refusal(split + 1, n)
if refused then return refused end
take(split + 1, n)
return {0, 0}
`;

/** Gives one point back to every counter in KEYS that still has one taken. */
const GIVE_BACK_SCRIPT = `
for i = 1, #KEYS do
  local used = tonumber(redis.call('GET', KEYS[i]) or '0')
  if used > 0 then redis.call('DECR', KEYS[i]) end
end
return 0
`;

type ScriptedRedis = Redis & {
  twofaRateTake(numKeys: number, ...args: (string | number)[]): Promise<[number, number]>;
  twofaRateTakeStaged(numKeys: number, ...args: (string | number)[]): Promise<[number, number]>;
  twofaRateGiveBack(numKeys: number, ...args: string[]): Promise<number>;
};

/**
 * The same fixed windows in this process's memory: the insurance when Redis
 * is away. JavaScript runs one request's check-and-take to the end before
 * another's, so it is as all-or-nothing as the script.
 */
class MemoryCounters {
  private readonly counters = new Map<string, { used: number; resetAt: number }>();

  private live(key: string, now: number) {
    const counter = this.counters.get(key);
    if (counter && counter.resetAt > now) return counter;
    if (counter) this.counters.delete(key);
    return undefined;
  }

  take(keys: readonly string[], specs: readonly LimitSpec[]): [number, number] {
    const now = Date.now();
    if (this.counters.size > 50_000) {
      for (const [key, counter] of this.counters) {
        if (counter.resetAt <= now) this.counters.delete(key);
      }
    }
    for (const [i, key] of keys.entries()) {
      const counter = this.live(key, now);
      if (counter && counter.used >= specs[i]!.points) return [i + 1, counter.resetAt - now];
    }
    for (const [i, key] of keys.entries()) {
      const counter = this.live(key, now);
      if (counter) counter.used += 1;
      else this.counters.set(key, { used: 1, resetAt: now + specs[i]!.durationMs });
    }
    return [0, 0];
  }

  giveBack(keys: readonly string[]): void {
    const now = Date.now();
    for (const key of keys) {
      const counter = this.live(key, now);
      if (counter && counter.used > 0) counter.used -= 1;
    }
  }

  used(key: string): number {
    return this.live(key, Date.now())?.used ?? 0;
  }

  delete(key: string): void {
    this.counters.delete(key);
  }
}

/**
 * Counters live in Redis so every API process shares them. A request takes
 * the points of all its limits in one script, before any work: N requests in
 * flight against a limit of L get at most L through, and a refused request
 * takes nothing from its other limits. Every key of one script shares a hash
 * tag, so it stays in one Redis Cluster slot. When Redis is away each process
 * falls back to its own in-memory counters (the insurance): logins keep
 * working, with per-process limits, rather than failing.
 */
export class RateLimits {
  private readonly specs: Record<LimitName, LimitSpec>;
  private readonly redis: ScriptedRedis;
  private readonly keyPrefix: string;
  private readonly memory = new MemoryCounters();
  /** Each refund's points not yet given back, for a later script to give back instead. */
  private readonly claims = new WeakMap<
    Refund,
    (only?: readonly LimitName[]) => { keys: string[]; inMemory: boolean }
  >();

  constructor(
    redis: Redis,
    prefix: string,
    config: Config,
    private readonly metrics: Metrics,
  ) {
    const env = config.env;
    const minutes = (n: number) => n * 60_000;
    this.specs = {
      ip_logins: { points: env.RATE_LIMIT_IP_LOGINS_PER_MINUTE, durationMs: minutes(1) },
      user_challenges: { points: env.RATE_LIMIT_USER_CHALLENGES_PER_HOUR, durationMs: minutes(60) },
      destination_sends: {
        points: env.RATE_LIMIT_DESTINATION_SENDS_PER_HOUR,
        durationMs: minutes(60),
      },
      org_sends: { points: env.RATE_LIMIT_ORG_SENDS_PER_MINUTE, durationMs: minutes(1) },
      account_failures: {
        points: env.RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN,
        durationMs: minutes(15),
      },
      app_pars: { points: env.RATE_LIMIT_APP_PARS_PER_MINUTE, durationMs: minutes(1) },
    };
    // The hash tag is the first {...} of a key: braces of the prefix itself are left out of it.
    this.keyPrefix = `{${prefix.replace(/[{}]/g, '')}:rl}`;
    redis.defineCommand('twofaRateTake', { lua: TAKE_SCRIPT });
    redis.defineCommand('twofaRateTakeStaged', { lua: TAKE_STAGED_SCRIPT });
    redis.defineCommand('twofaRateGiveBack', { lua: GIVE_BACK_SCRIPT });
    this.redis = redis as ScriptedRedis;
  }

  /** The Redis key of one counter. */
  key(limit: LimitName, key: string): string {
    return `${this.keyPrefix}:${limit}:${key}`;
  }

  private refuse(limit: LimitName, msBeforeNext: number): never {
    const retryAfter = Math.max(1, Math.ceil(msBeforeNext / 1000));
    this.metrics.rateLimited.inc({ limit });
    throw new ApiError(
      'rate_limited',
      `Too many requests (${limit}); retry in ${retryAfter} s.`,
      { limit, retryAfter },
      { 'retry-after': String(retryAfter) },
    );
  }

  /** Takes one point; throws a 429 when the limit is spent. */
  async consume(limit: LimitName, key: string): Promise<void> {
    await this.consumeAll([[limit, key]]);
  }

  /**
   * Takes one point from each counter, all or none, in one round trip. The
   * first refusal in `entries` order is reported. Returns the refund for a
   * request that then ends without doing what the points were for (a lost
   * race, a refusal that comes later, a right password).
   */
  async consumeAll(entries: readonly LimitKey[]): Promise<Refund> {
    return this.consumeThen([], entries);
  }

  /**
   * `consumeAll(first)`, then `consumeAll(rest)`, in one round trip: the same
   * points taken and the same refusal reported as the calls one after the
   * other would, and nothing in between. `first`'s points are kept whatever
   * happens next; the refund returned gives back only `rest`'s. `giveBack`
   * folds an earlier refund into the same round trip, before the takes: its
   * points are given back whatever the takes answer, and that refund gives
   * them back no more.
   */
  async consumeThen(
    first: readonly LimitKey[],
    rest: readonly LimitKey[],
    giveBack?: { refund: Refund; only: readonly LimitName[] },
  ): Promise<Refund> {
    const back = giveBack ? this.claims.get(giveBack.refund)?.(giveBack.only) : undefined;
    if (back?.inMemory) this.memory.giveBack(back.keys);
    const giveKeys = back && !back.inMemory ? back.keys : [];
    const entries = [...first, ...rest];
    const keys = entries.map(([limit, key]) => this.key(limit, key));
    const specs = entries.map(([limit]) => this.specs[limit]);
    const limits = [...specs.map((s) => s.points), ...specs.map((s) => s.durationMs)];
    let inMemory = false;
    let result: [number, number];
    try {
      if (first.length === 0 && giveKeys.length === 0) {
        result =
          keys.length === 0
            ? [0, 0]
            : await this.redis.twofaRateTake(keys.length, ...keys, ...limits);
      } else {
        result = await this.redis.twofaRateTakeStaged(
          giveKeys.length + keys.length,
          ...giveKeys,
          ...keys,
          giveKeys.length,
          first.length,
          ...limits,
        );
      }
    } catch {
      // The give-back is lost with Redis: best effort, as a refund is.
      inMemory = true;
      result = this.memory.take(keys.slice(0, first.length), specs.slice(0, first.length));
      if (result[0] === 0) {
        const second = this.memory.take(keys.slice(first.length), specs.slice(first.length));
        result = second[0] === 0 ? second : [second[0] + first.length, second[1]];
      }
    }
    const [refused, msBeforeNext] = result;
    if (refused > 0) this.refuse(entries[refused - 1]![0], Number(msBeforeNext));

    const outstanding = new Set([...rest.keys()].map((i) => i + first.length));
    /** Marks the points named as given back, and answers their keys. */
    const claim = (only?: readonly LimitName[]) => {
      const indexes = [...outstanding].filter((i) => !only || only.includes(entries[i]![0]));
      for (const i of indexes) outstanding.delete(i);
      return { keys: indexes.map((i) => keys[i]!), inMemory };
    };
    const refund: Refund = async (only) => {
      const { keys: giving } = claim(only);
      if (giving.length === 0) return;
      if (inMemory) {
        this.memory.giveBack(giving);
        return;
      }
      // Best effort: a lost refund only makes a limit stricter for a while.
      await this.redis.twofaRateGiveBack(giving.length, ...giving).catch(() => {});
    };
    this.claims.set(refund, claim);
    return refund;
  }

  /** Points taken in the counter's current window (Redis, or this process when Redis is away). */
  async used(limit: LimitName, key: string): Promise<number> {
    const name = this.key(limit, key);
    try {
      return Number((await this.redis.get(name)) ?? 0);
    } catch {
      return this.memory.used(name);
    }
  }

  async reset(limit: LimitName, key: string): Promise<void> {
    const name = this.key(limit, key);
    this.memory.delete(name);
    await this.redis.del(name);
  }
}
