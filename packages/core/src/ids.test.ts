import { describe, expect, it } from 'vitest';
import { idTime, newId } from './ids.ts';

describe('newId', () => {
  it('is a UUIDv7 (version 7, RFC 9562 variant) carrying the current millisecond', () => {
    const before = Date.now();
    const id = newId();
    const after = Date.now();
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const at = idTime(id)?.getTime();
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
  });

  it('sorts in the order the ids were made, within one millisecond too, and never repeats', () => {
    const ids = Array.from({ length: 5000 }, () => newId());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('orders ids of later milliseconds after earlier ones', async () => {
    const first = newId();
    await new Promise((resolve) => setTimeout(resolve, 3));
    const second = newId();
    expect(second > first).toBe(true);
    expect(idTime(second)!.getTime()).toBeGreaterThan(idTime(first)!.getTime());
  });
});

describe('idTime', () => {
  it('reads the millisecond of a known UUIDv7 (RFC 9562, appendix A.6)', () => {
    expect(idTime('017f22e2-79b0-7cc3-98c4-dc0c0c07398f')?.toISOString()).toBe(
      '2022-02-22T19:22:22.000Z',
    );
  });

  it('is null for a UUIDv4 or anything else', () => {
    expect(idTime('3f1c7e4a-9b2d-4c8e-8f1a-2b3c4d5e6f70')).toBeNull();
    expect(idTime('not an id')).toBeNull();
  });
});
