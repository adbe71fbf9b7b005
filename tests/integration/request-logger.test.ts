/**
 * The request-scoped logger is made only when something logs through it, and every
 * line of a request carries its request id: the access line as the child would have
 * written it, and the lines a handler writes.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, withHarness } from '../support/index.ts';

const h = withHarness({ worker: false });

function linesOf(requestId: string): Record<string, unknown>[] {
  return h.logs.lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((l) => l.requestId === requestId);
}

describe('request logger', () => {
  it('makes a child only for a request that logs more than its access line', async () => {
    const logger = h.services.logger;
    const child = logger.child;
    let children = 0;
    logger.child = (...args) => {
      children++;
      return child.apply(logger, args);
    };
    try {
      const created = await h.request('POST', '/v1/organizations', {
        key: ADMIN_KEY,
        headers: { 'x-request-id': 'lazy-1' },
        body: { name: 'Logged Clinic', country: 'FI' },
      });
      expect(created.status).toBe(201);
      expect(children).toBe(1);
      expect(linesOf('lazy-1').map((l) => l.msg)).toEqual(['organization created', 'request']);

      const res = await h.request('GET', `/v1/organizations/${created.body.id}`, {
        key: ADMIN_KEY,
        headers: { 'x-request-id': 'lazy-2' },
      });
      expect(res.status).toBe(200);
      expect(children).toBe(1);
      const [line, ...more] = linesOf('lazy-2');
      expect(more).toEqual([]);
      // The child's binding came right after the base fields; so does the field.
      expect(Object.keys(line!).slice(0, 7)).toEqual([
        'level',
        'time',
        'pid',
        'hostname',
        'name',
        'requestId',
        'method',
      ]);
      expect(line).toMatchObject({ msg: 'request', status: 200 });
    } finally {
      logger.child = child;
    }
  });
});
