/** One file-wide fixture: started before the file's tests, closed after them however they end. */
import { afterAll, beforeAll } from 'vitest';

/**
 * Registers `beforeAll(start)` and `afterAll(close)` and returns the started
 * value itself (a stand-in that forwards to it). Touching it before the
 * `beforeAll` has run, at collection time, throws.
 */
export function fileFixture<T extends object>(
  what: string,
  start: () => Promise<T>,
  close: (value: T) => Promise<void>,
  timeoutMs?: number,
): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  }, timeoutMs);
  afterAll(async () => {
    if (started) await close(started);
  });
  const current = (): T => {
    if (!started) throw new Error(`${what} is used before beforeAll started it`);
    return started;
  };
  return new Proxy({} as T, {
    get: (_target, property) => Reflect.get(current(), property),
    set: (_target, property, value) => Reflect.set(current(), property, value),
    has: (_target, property) => Reflect.has(current(), property),
  });
}
