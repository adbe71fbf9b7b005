/**
 * The fixed window is written twice: the Lua script every API process shares through
 * Redis, and the in-memory twin each process falls back to when Redis is away. One
 * table of cases runs through both, against real Redis, so the two cannot drift.
 */
import { randomBytes } from 'node:crypto';
import { type Counter, MemoryWindows, RedisWindows, type WindowStep } from '@twofa/api';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
afterAll(() => redis.quit());

type Name = 'a' | 'b' | 'c';
/** A step over named counters: a name in `keep`/`take` is a counter with these points. */
interface Step {
  give?: Name[];
  keep?: [Name, number][];
  take?: [Name, number][];
}
interface Case {
  name: string;
  /** Steps run first, each expected to be admitted. */
  before?: Step[];
  step: Step;
  /** 0 when admitted, else the refusing counter's 1-based index over keep then take. */
  refused: number;
  /** Points used afterwards, per counter. */
  used: Record<Name, number>;
}

const HOUR_MS = 3_600_000;
const CASES: Case[] = [
  {
    name: 'takes from fresh counters',
    step: {
      take: [
        ['a', 2],
        ['b', 1],
      ],
    },
    refused: 0,
    used: { a: 1, b: 1, c: 0 },
  },
  {
    name: 'refuses on a spent counter and takes none of the others',
    before: [{ take: [['b', 1]] }],
    step: {
      take: [
        ['a', 5],
        ['b', 1],
        ['c', 5],
      ],
    },
    refused: 2,
    used: { a: 0, b: 1, c: 0 },
  },
  {
    name: 'reports the first spent counter in order',
    before: [
      {
        take: [
          ['b', 1],
          ['c', 1],
        ],
      },
    ],
    step: {
      take: [
        ['a', 5],
        ['c', 1],
        ['b', 1],
      ],
    },
    refused: 2,
    used: { a: 0, b: 1, c: 1 },
  },
  {
    name: 'refuses on keep before looking at take, taking nothing',
    before: [{ take: [['a', 1]] }],
    step: { keep: [['a', 1]], take: [['b', 5]] },
    refused: 1,
    used: { a: 1, b: 0, c: 0 },
  },
  {
    name: 'keeps keep when take is refused; the index counts keep first',
    before: [{ take: [['c', 1]] }],
    step: {
      keep: [['a', 3]],
      take: [
        ['b', 3],
        ['c', 1],
      ],
    },
    refused: 3,
    used: { a: 1, b: 0, c: 1 },
  },
  {
    name: 'gives back before it takes: a spent counter admits again',
    before: [{ take: [['a', 1]] }],
    step: { give: ['a'], take: [['a', 1]] },
    refused: 0,
    used: { a: 1, b: 0, c: 0 },
  },
  {
    name: 'gives back whatever the takes answer',
    before: [
      {
        take: [
          ['a', 3],
          ['b', 1],
        ],
      },
    ],
    step: { give: ['a'], take: [['b', 1]] },
    refused: 1,
    used: { a: 0, b: 1, c: 0 },
  },
  {
    name: 'never gives back below zero',
    step: { give: ['a', 'a'], take: [['b', 2]] },
    refused: 0,
    used: { a: 0, b: 1, c: 0 },
  },
  {
    name: 'counts a counter named twice once per mention, checked before either take',
    step: {
      take: [
        ['a', 1],
        ['a', 1],
      ],
    },
    refused: 0,
    used: { a: 2, b: 0, c: 0 },
  },
  {
    name: 'refuses at the limit, not before it',
    before: [{ take: [['a', 3]] }, { take: [['a', 3]] }],
    step: { take: [['a', 3]] },
    refused: 0,
    used: { a: 3, b: 0, c: 0 },
  },
  {
    name: 'refuses past the limit',
    before: [{ take: [['a', 2]] }, { take: [['a', 2]] }],
    step: { take: [['a', 2]] },
    refused: 1,
    used: { a: 2, b: 0, c: 0 },
  },
];

function stepOf(step: Step, key: (name: Name) => string): WindowStep {
  const counter = ([name, points]: [Name, number]): Counter => ({
    key: key(name),
    points,
    durationMs: HOUR_MS,
  });
  return {
    give: (step.give ?? []).map(key),
    keep: (step.keep ?? []).map(counter),
    take: (step.take ?? []).map(counter),
  };
}

const twins = {
  redis: () => {
    const windows = new RedisWindows(redis);
    return { run: (s: WindowStep) => windows.run(s), used: (k: string) => windows.used(k) };
  },
  memory: () => {
    const windows = new MemoryWindows();
    return {
      run: async (s: WindowStep) => windows.run(s),
      used: async (k: string) => windows.used(k),
    };
  },
};

describe.each(Object.entries(twins))('the fixed window in %s', (_, make) => {
  it.each(CASES)('$name', async ({ before = [], step, refused, used }) => {
    const windows = make();
    const prefix = `twofa-fw-${randomBytes(6).toString('hex')}`;
    const key = (name: Name) => `{${prefix}}:${name}`;
    for (const earlier of before) {
      expect(await windows.run(stepOf(earlier, key))).toEqual([0, 0]);
    }
    const [index, msBeforeNext] = await windows.run(stepOf(step, key));
    expect(index).toBe(refused);
    if (refused > 0) {
      expect(msBeforeNext).toBeGreaterThan(0);
      expect(msBeforeNext).toBeLessThanOrEqual(HOUR_MS);
    } else {
      expect(msBeforeNext).toBe(0);
    }
    const names: Name[] = ['a', 'b', 'c'];
    const after = Object.fromEntries(
      await Promise.all(names.map(async (n) => [n, await windows.used(key(n))] as const)),
    );
    expect(after).toEqual(used);
  });
});
