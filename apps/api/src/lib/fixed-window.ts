import type { RedisConnection as Redis } from '@twofa/queue';

/** One counter of a fixed window: its key, the points a window allows, and the window's length. */
export interface Counter {
  key: string;
  points: number;
  durationMs: number;
}

/**
 * One admission's work on the counters, as if done one step after the other
 * with nothing in between: `give` gets one point back each (those still
 * holding one), then `keep` is taken all or none, then, if it was, `take` all
 * or none. A refusal of `take` leaves `keep`'s points taken.
 */
export interface WindowStep {
  give: readonly string[];
  keep: readonly Counter[];
  take: readonly Counter[];
}

/**
 * `[0, 0]` when everything was taken; else the refusing counter's 1-based
 * index over `keep` then `take`, and the ms until its window ends.
 */
export type WindowAnswer = readonly [refused: number, msBeforeNext: number];

/**
 * The fixed window, the one copy of it in Lua: a counter's window starts with
 * its first point and lasts its duration. KEYS: ARGV[1] counters to give back
 * to, then ARGV[2] to take and keep, then the rest to take. ARGV[3..]: the
 * taken counters' points, then their durations in ms. Answers as WindowAnswer.
 */
const FIXED_WINDOW_SCRIPT = `
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

type ScriptedRedis = Redis & {
  twofaFixedWindow(numKeys: number, ...args: (string | number)[]): Promise<[number, number]>;
};

/** The fixed windows in Redis, shared by every API process: one script call a step. */
export class RedisWindows {
  private readonly redis: ScriptedRedis;

  constructor(redis: Redis) {
    redis.defineCommand('twofaFixedWindow', { lua: FIXED_WINDOW_SCRIPT });
    this.redis = redis as ScriptedRedis;
  }

  async run(step: WindowStep): Promise<WindowAnswer> {
    const counters = [...step.keep, ...step.take];
    const [refused, ms] = await this.redis.twofaFixedWindow(
      step.give.length + counters.length,
      ...step.give,
      ...counters.map((c) => c.key),
      step.give.length,
      step.keep.length,
      ...counters.map((c) => c.points),
      ...counters.map((c) => c.durationMs),
    );
    return [Number(refused), Number(ms)];
  }

  async used(key: string): Promise<number> {
    return Number((await this.redis.get(key)) ?? 0);
  }

  async delete(key: string): Promise<void> {
    await this.redis.del(key);
  }
}

/**
 * The same fixed windows in this process's memory: the insurance when Redis
 * is away. JavaScript runs one step to the end before another's, so it is as
 * all-or-nothing as the script; tests/integration/fixed-window.test.ts runs
 * one table of cases through both.
 */
export class MemoryWindows {
  private readonly counters = new Map<string, { used: number; resetAt: number }>();

  private live(key: string, now: number) {
    const counter = this.counters.get(key);
    if (counter && counter.resetAt > now) return counter;
    if (counter) this.counters.delete(key);
    return undefined;
  }

  run(step: WindowStep): WindowAnswer {
    const now = Date.now();
    if (this.counters.size > 50_000) {
      for (const [key, counter] of this.counters) {
        if (counter.resetAt <= now) this.counters.delete(key);
      }
    }
    for (const key of step.give) {
      const counter = this.live(key, now);
      if (counter && counter.used > 0) counter.used -= 1;
    }
    const kept = this.takeAll(step.keep, now);
    if (kept) return kept;
    const taken = this.takeAll(step.take, now);
    return taken ? [taken[0] + step.keep.length, taken[1]] : [0, 0];
  }

  /** Takes a point from every counter, or none; the refusal (1-based index, ms left) if any. */
  private takeAll(counters: readonly Counter[], now: number): WindowAnswer | undefined {
    for (const [i, { key, points }] of counters.entries()) {
      const counter = this.live(key, now);
      if (counter && counter.used >= points) return [i + 1, counter.resetAt - now];
    }
    for (const { key, durationMs } of counters) {
      const counter = this.live(key, now);
      if (counter) counter.used += 1;
      else this.counters.set(key, { used: 1, resetAt: now + durationMs });
    }
    return undefined;
  }

  used(key: string): number {
    return this.live(key, Date.now())?.used ?? 0;
  }

  delete(key: string): void {
    this.counters.delete(key);
  }
}
