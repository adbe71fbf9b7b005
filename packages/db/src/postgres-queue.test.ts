/**
 * postgres.js keeps its pool's connections (open, busy, full, ...) and waiting
 * queries in a small FIFO (`src/queue.js`). As published (3.4.9) that FIFO
 * never shrinks while it is not empty, and its `remove` scans every slot ever
 * shifted out: under steady load, with every connection busy, each query
 * shifts a connection off `busy` and pushes it back, so the array grows by one
 * slot per query and each `remove` gets slower. patches/postgres+3.4.9.patch
 * (applied by patch-package at install) drops the shifted-out half once it is
 * the larger part and starts `remove` at the head. These tests hold the FIFO's
 * behaviour (order, remove, length) against a plain array, through the same
 * pattern the pool makes, and check that the installed copy is the patched one.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

interface PgQueue<T> {
  readonly length: number;
  push(x: T): T;
  shift(): T | undefined;
  remove(x: T): T | null;
}

const sources = ['src', 'cjs/src', 'cf/src'].map(
  (dir) => new URL(`../../../node_modules/postgres/${dir}/queue.js`, import.meta.url),
);

async function loadQueue(): Promise<<T>(initial?: T[]) => PgQueue<T>> {
  const module = (await import(sources[0]!.href)) as {
    default: <T>(initial?: T[]) => PgQueue<T>;
  };
  return module.default;
}

/** A tiny deterministic generator, so a failure replays. */
function random(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("postgres.js's pool queue (patched)", () => {
  it('is the patched copy in every build postgres.js ships', () => {
    for (const file of sources) {
      const text = readFileSync(file, 'utf8');
      expect(text, file.pathname).toContain('xs.indexOf(x, index)');
      expect(text, file.pathname).toContain('xs = xs.slice(index)');
    }
  });

  it('behaves as a FIFO with remove, like a plain array, through 50,000 random steps', async () => {
    const Queue = await loadQueue();
    const next = random(20261207);
    const queue = Queue<number>();
    const model: number[] = [];
    let id = 0;
    for (let step = 0; step < 50_000; step++) {
      const r = next();
      if (r < 0.45) {
        model.push(++id);
        queue.push(id);
      } else if (r < 0.85) {
        expect(queue.shift()).toBe(model.shift());
      } else {
        // Sometimes one that is queued, sometimes one long gone.
        const x = model.length && next() < 0.7 ? model[Math.floor(next() * model.length)]! : -id;
        const at = model.indexOf(x);
        if (at !== -1) model.splice(at, 1);
        expect(queue.remove(x)).toBe(at === -1 ? null : x);
      }
      expect(queue.length).toBe(model.length);
    }
  });

  it("keeps a connection's place through the pool's busy pattern: shift and push back, remove when idle", async () => {
    const Queue = await loadQueue();
    const connections = Array.from({ length: 10 }, (_, i) => ({ id: i }));
    const busy = Queue(connections);
    const idle: { id: number }[] = [];
    for (let query = 0; query < 100_000; query++) {
      // A query goes to the busy connection at the head, which goes to the back.
      if (busy.length) busy.push(busy.shift()!);
      // Now and then one finishes everything it had and moves to the open queue.
      if (query % 7 === 0) {
        const leaving = connections[query % 10]!;
        if (busy.remove(leaving)) idle.push(leaving);
      }
      if (query % 11 === 0 && idle.length) busy.push(idle.shift()!);
      expect(busy.length + idle.length).toBe(10);
    }
    const drained: number[] = [];
    while (busy.length) drained.push(busy.shift()!.id);
    expect([...drained, ...idle.map((c) => c.id)].sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
  });
});
