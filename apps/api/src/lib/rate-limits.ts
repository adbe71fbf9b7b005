import type { Config } from '@twofa/config';
import { normalizeCidr, parseClientIp } from '@twofa/core';
import type { Metrics } from '@twofa/observability';
import type { RedisConnection as Redis } from '@twofa/queue';
import type { CircuitBreaker } from './breaker.ts';
import { ApiError } from './errors.ts';
import {
  type Counter,
  MemoryWindows,
  RedisWindows,
  type WindowAnswer,
  type WindowStep,
} from './fixed-window.ts';

export type LimitName =
  | 'ip_logins'
  | 'user_challenges'
  | 'destination_sends'
  | 'org_sends'
  | 'account_failures';

/** One counter to take a point from: which limit, and whose key. */
export type LimitKey = readonly [limit: LimitName, key: string];

/** Points a refund hands over, for an admission to give back in its own round trip. */
export interface RefundClaim {
  /** The counters' keys (as stored), one point each. */
  keys: readonly string[];
  /** Taken while Redis was away: they live in this process's counters. */
  inMemory: boolean;
}

/**
 * The points an admission took that its request may give back: they are
 * given back when the request ends without doing what they were for (a lost
 * race, a refusal that comes later, a right password). Each point is given
 * back at most once, whichever of `give` and `claim` takes it.
 */
export class Refund {
  private readonly owed: { limit: LimitName; key: string }[];

  constructor(
    owed: readonly { limit: LimitName; key: string }[],
    readonly inMemory: boolean,
    private readonly giveBack: (claim: RefundClaim) => Promise<void>,
  ) {
    this.owed = [...owed];
  }

  /** A refund that owes nothing (nothing was taken). */
  static none(): Refund {
    return new Refund([], false, async () => {});
  }

  /** The counters still owed a point, by limit. */
  get keys(): readonly { limit: LimitName; key: string }[] {
    return this.owed;
  }

  /** Hands over the points of the limits named (all when none are), taking them off this refund. */
  claim(only?: readonly LimitName[]): RefundClaim {
    const claimed = this.owed.filter(({ limit }) => !only || only.includes(limit));
    for (const point of claimed) this.owed.splice(this.owed.indexOf(point), 1);
    return { keys: claimed.map(({ key }) => key), inMemory: this.inMemory };
  }

  /** Gives back the points of the limits named (all when none are), now. */
  async give(only?: readonly LimitName[]): Promise<void> {
    const claim = this.claim(only);
    if (claim.keys.length > 0) await this.giveBack(claim);
  }
}

/**
 * Everything one request needs admitted, in one round trip: `giveBack` is
 * given back first, whatever follows; `keep` is taken all or none and kept
 * whatever follows; then `take` all or none, refundable. With `send`, the
 * circuit breaker is asked last; its refusal gives `take` back.
 */
export interface AdmissionPlan {
  giveBack?: RefundClaim | undefined;
  keep?: readonly LimitKey[] | undefined;
  take?: readonly LimitKey[] | undefined;
  send?: { organizationId: string; phone: string; ip: string | null } | undefined;
}

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

/**
 * Admission: the rate limits and the SMS circuit breaker. Counters live in
 * Redis so every API process shares them; a request's points are all taken
 * in one script, before any work: N requests in flight against a limit of L
 * get at most L through, and a refused request takes nothing from its other
 * limits. Every key of one script shares a hash tag, so it stays in one Redis
 * Cluster slot. When Redis is away each process falls back to its own
 * in-memory counters (the insurance): logins keep working, with per-process
 * limits, rather than failing.
 */
export class RateLimits {
  private readonly specs: Record<LimitName, { points: number; durationMs: number }>;
  private readonly redis: RedisWindows;
  private readonly keyPrefix: string;
  private readonly memory = new MemoryWindows();

  constructor(
    redis: Redis,
    prefix: string,
    config: Config,
    private readonly metrics: Metrics,
    private readonly breaker: CircuitBreaker,
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
    };
    // The hash tag is the first {...} of a key: braces of the prefix itself are left out of it.
    this.keyPrefix = `{${prefix.replace(/[{}]/g, '')}:rl}`;
    this.redis = new RedisWindows(redis);
  }

  /** The Redis key of one counter. */
  key(limit: LimitName, key: string): string {
    return `${this.keyPrefix}:${limit}:${key}`;
  }

  private counter([limit, key]: LimitKey): Counter {
    return { key: this.key(limit, key), ...this.specs[limit] };
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

  /**
   * Admits a request by its plan, or throws its refusal (429 naming the
   * first spent limit, `keep` before `take`, in their order; or the
   * breaker's). Returns the refund of `take`'s points.
   */
  async admit(plan: AdmissionPlan): Promise<Refund> {
    const keep = plan.keep ?? [];
    const take = plan.take ?? [];
    const back = plan.giveBack;
    if (back?.inMemory) this.memory.run({ give: back.keys, keep: [], take: [] });
    const step: WindowStep = {
      give: back && !back.inMemory ? back.keys : [],
      keep: keep.map((entry) => this.counter(entry)),
      take: take.map((entry) => this.counter(entry)),
    };
    let inMemory = false;
    let answer: WindowAnswer = [0, 0];
    if (step.give.length + step.keep.length + step.take.length > 0) {
      try {
        answer = await this.redis.run(step);
      } catch {
        // The give-back is lost with Redis: best effort, as a refund is.
        inMemory = true;
        answer = this.memory.run({ ...step, give: [] });
      }
    }
    const [refused, msBeforeNext] = answer;
    if (refused > 0) this.refuse([...keep, ...take][refused - 1]![0], msBeforeNext);
    const refund = new Refund(
      take.map(([limit], i) => ({ limit, key: step.take[i]!.key })),
      inMemory,
      (claim) => this.giveBack(claim),
    );
    if (plan.send) {
      const { organizationId, phone, ip } = plan.send;
      try {
        await this.breaker.assertSendAllowed(organizationId, phone, ip);
      } catch (error) {
        await refund.give();
        throw error;
      }
    }
    return refund;
  }

  private async giveBack(claim: RefundClaim): Promise<void> {
    if (claim.inMemory) {
      this.memory.run({ give: claim.keys, keep: [], take: [] });
      return;
    }
    // Best effort: a lost refund only makes a limit stricter for a while.
    await this.redis.run({ give: claim.keys, keep: [], take: [] }).catch(() => {});
  }

  /** Points taken in the counter's current window (Redis, or this process when Redis is away). */
  async used(limit: LimitName, key: string): Promise<number> {
    const name = this.key(limit, key);
    try {
      return await this.redis.used(name);
    } catch {
      return this.memory.used(name);
    }
  }

  async reset(limit: LimitName, key: string): Promise<void> {
    const name = this.key(limit, key);
    this.memory.delete(name);
    await this.redis.delete(name);
  }
}
