import type { Config } from '@twofa/config';
import { normalizeCidr, parseClientIp } from '@twofa/core';
import type { Metrics } from '@twofa/observability';
import type { RedisConnection as Redis } from '@twofa/queue';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ApiError } from './errors.ts';

export type LimitName =
  | 'ip_logins'
  | 'user_challenges'
  | 'destination_sends'
  | 'org_sends'
  | 'account_failures';

/** One counter to take a point from: which limit, and whose key. */
export type LimitKey = readonly [limit: LimitName, key: string];

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
  duration: number;
}

/**
 * Counters live in Redis so every API process shares them. When Redis is away
 * each process falls back to its own in-memory counters (the insurance
 * limiter): logins keep working, with per-process limits, rather than failing.
 */
export class RateLimits {
  private readonly limiters: Record<LimitName, RateLimiterRedis>;

  constructor(
    redis: Redis,
    prefix: string,
    config: Config,
    private readonly metrics: Metrics,
  ) {
    const env = config.env;
    const specs: Record<LimitName, LimitSpec> = {
      ip_logins: { points: env.RATE_LIMIT_IP_LOGINS_PER_MINUTE, duration: 60 },
      user_challenges: { points: env.RATE_LIMIT_USER_CHALLENGES_PER_HOUR, duration: 3600 },
      destination_sends: { points: env.RATE_LIMIT_DESTINATION_SENDS_PER_HOUR, duration: 3600 },
      org_sends: { points: env.RATE_LIMIT_ORG_SENDS_PER_MINUTE, duration: 60 },
      account_failures: { points: env.RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN, duration: 900 },
    };
    this.limiters = Object.fromEntries(
      Object.entries(specs).map(([name, spec]) => [
        name,
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${prefix}:rl:${name}`,
          points: spec.points,
          duration: spec.duration,
          insuranceLimiter: new RateLimiterMemory({ points: spec.points, duration: spec.duration }),
        }),
      ]),
    ) as Record<LimitName, RateLimiterRedis>;
  }

  private refuse(limit: LimitName, res: RateLimiterRes): never {
    const retryAfter = Math.max(1, Math.ceil(res.msBeforeNext / 1000));
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
    try {
      await this.limiters[limit].consume(key);
    } catch (error) {
      if (error instanceof RateLimiterRes) this.refuse(limit, error);
      throw error;
    }
  }

  /**
   * Takes one point from each counter, all in one round trip. When one
   * refuses, the points the others took are given back, so a refused request
   * counts toward no limit; the first refusal in `entries` order is reported.
   * Returns a refund for a refusal that comes later (e.g. the circuit breaker).
   */
  async consumeAll(entries: readonly LimitKey[]): Promise<() => Promise<void>> {
    const results = await Promise.allSettled(
      entries.map(([limit, key]) => this.consume(limit, key)),
    );
    const taken = entries.filter((_, i) => results[i]?.status === 'fulfilled');
    const refund = async () => {
      // Best effort: a lost refund only makes a limit stricter for a while.
      await Promise.all(
        taken.map(([limit, key]) => this.limiters[limit].reward(key, 1).catch(() => {})),
      );
    };
    const refused = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (refused) {
      await refund();
      throw refused.reason;
    }
    return refund;
  }

  /** Throws a 429 when the key has no points left, without taking one. */
  async assertOpen(limit: LimitName, key: string): Promise<void> {
    const limiter = this.limiters[limit];
    const res = await limiter.get(key);
    if (res && res.consumedPoints >= limiter.points) this.refuse(limit, res);
  }

  async reset(limit: LimitName, key: string): Promise<void> {
    await this.limiters[limit].delete(key);
  }

  /** Counts a failure without refusing this request (it already failed). */
  async penalize(limit: LimitName, key: string): Promise<void> {
    await this.limiters[limit].penalty(key, 1);
  }
}
