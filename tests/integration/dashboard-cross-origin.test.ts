/**
 * The queue dashboard's state-changing calls are authorized by the browser's
 * cached basic auth, so a page on another site must not be able to make them:
 * cross-origin POST/PUT/DELETE to /admin/queues are 403 and change nothing.
 */
import { randomUUID } from 'node:crypto';
import { SEND_CODE_QUEUE } from '@twofa/queue';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createHarness, type Harness } from '../support/index.ts';
import { failOneJob } from './operator-support.ts';

let h: Harness;

beforeAll(async () => {
  h = await createHarness({ worker: false, env: { DB_POOL_SIZE: '2' } });
});
afterAll(async () => {
  await h?.close();
});

const BASIC = `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}`;

async function call(method: string, path: string, headers: Record<string, string>, body?: string) {
  const res = await h.app.request(`http://localhost/admin/queues${path}`, {
    method,
    headers: { authorization: BASIC, ...headers },
    body,
  });
  return { status: res.status, text: await res.text() };
}

const CROSS: [string, Record<string, string>][] = [
  ['Sec-Fetch-Site: cross-site', { 'sec-fetch-site': 'cross-site' }],
  ['Sec-Fetch-Site: same-site', { 'sec-fetch-site': 'same-site' }],
  ['a foreign Origin', { origin: 'https://evil.example' }],
  ['Origin: null (a sandboxed page)', { origin: 'null' }],
  [
    'a same-origin claim with a foreign Origin',
    { origin: 'https://evil.example', 'sec-fetch-site': 'same-origin' },
  ],
  ['a foreign Referer and no Origin', { referer: 'https://evil.example/page' }],
];

describe('queue dashboard writes from another origin', () => {
  it.each(CROSS)('a retry with %s is 403 and the job stays failed', async (_label, headers) => {
    const jobId = await failOneJob(h);
    const res = await call('PUT', `/api/queues/${SEND_CODE_QUEUE}/${jobId}/retry`, headers);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.text)).toMatchObject({ status: 403, code: 'forbidden' });
    expect(await h.services.sendQueue.getJobState(jobId)).toBe('failed');
  });

  it('a cross-site text/plain POST .../add is refused and adds no job', async () => {
    const before = await h.services.sendQueue.getJobCounts('waiting');
    const res = await call(
      'POST',
      `/api/queues/${SEND_CODE_QUEUE}/add`,
      { 'sec-fetch-site': 'cross-site', 'content-type': 'text/plain' },
      JSON.stringify({ name: 'send-code', data: { sendId: randomUUID() } }),
    );
    expect(res.status).toBe(403);
    expect(await h.services.sendQueue.getJobCounts('waiting')).toEqual(before);
  });

  it.each([
    [
      'Sec-Fetch-Site: same-origin and its own Origin (the dashboard page)',
      { 'sec-fetch-site': 'same-origin', origin: 'http://localhost' },
    ],
    ['its own Origin only', { origin: 'http://localhost' }],
    ['no browser headers (curl, the CLI)', {}],
  ])('a retry with %s goes through', async (_label, headers) => {
    const jobId = await failOneJob(h);
    const res = await call('PUT', `/api/queues/${SEND_CODE_QUEUE}/${jobId}/retry`, headers);
    expect(res.status).toBeLessThan(300);
    expect(await h.services.sendQueue.getJobState(jobId)).toBe('waiting');
  });

  it('reads stay open to the key from anywhere (a cross-site page cannot read them)', async () => {
    const res = await call('GET', '/api/queues', { 'sec-fetch-site': 'cross-site' });
    expect(res.status).toBe(200);
  });
});
