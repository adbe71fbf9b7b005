import { describe, expect, it } from 'vitest';
import { systemClock } from './clock.ts';

describe('systemClock', () => {
  it('reads the current time, afresh on each call', async () => {
    const before = Date.now();
    const first = systemClock.now();
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = systemClock.now();
    expect(first).toBeInstanceOf(Date);
    expect(first.getTime()).toBeGreaterThanOrEqual(before);
    expect(second.getTime()).toBeGreaterThan(first.getTime());
    expect(second.getTime()).toBeLessThanOrEqual(Date.now());
  });
});
