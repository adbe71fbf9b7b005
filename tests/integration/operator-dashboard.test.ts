import { randomUUID } from 'node:crypto';
import { SEND_CODE_QUEUE } from '@twofa/queue';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, withHarness } from '../support/index.ts';
import { failOneJob } from './operator-support.ts';

// No worker: jobs stay where the test puts them.
const h = withHarness({ worker: false, env: { DB_POOL_SIZE: '3' } });
let org: { id: string; apiKey: string };

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Dashboard Clinic' });
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function dashboard(path: string, authorization?: string, method = 'GET') {
  const res = await h.app.request(`/admin/queues${path}`, {
    method,
    headers: authorization ? { authorization } : {},
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function queueListing(): Promise<{ name: string; counts: Record<string, number> }> {
  const res = await dashboard('/api/queues', `Bearer ${ADMIN_KEY}`);
  expect(res.status).toBe(200);
  const body = JSON.parse(res.text) as {
    queues: { name: string; counts: Record<string, number> }[];
  };
  const queue = body.queues.find((q) => q.name === SEND_CODE_QUEUE);
  if (!queue) throw new Error(`send-code queue not listed: ${res.text.slice(0, 200)}`);
  return queue;
}

/** Runs one job through a worker whose processor fails for good, leaving it `failed`. */
describe('queue dashboard', () => {
  it('refuses anyone without the platform key', async () => {
    const none = await dashboard('');
    expect(none.status).toBe(401);
    // The browser is asked for basic auth.
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic /);
    expect(none.text).not.toContain('<html');

    for (const authorization of [
      `Bearer ${org.apiKey}`,
      'Bearer not-the-key-0123456789',
      basic('admin', 'wrong-password-0123456789'),
      basic('admin', org.apiKey),
      basic('root', ADMIN_KEY),
      basic('admin', ''),
      `Basic ${Buffer.from(ADMIN_KEY).toString('base64')}`,
    ]) {
      const res = await dashboard('', authorization);
      expect(res.status, authorization).toBe(401);
      expect(res.text).not.toContain('<html');
    }
    // The JSON API and the static assets sit behind the same check.
    expect((await dashboard('/api/queues')).status).toBe(401);
    expect((await dashboard('/api/queues', `Bearer ${org.apiKey}`)).status).toBe(401);
    const jobId = randomUUID();
    expect(
      (await dashboard(`/api/queues/${SEND_CODE_QUEUE}/${jobId}/retry`, undefined, 'PUT')).status,
    ).toBe(401);
  });

  it('serves the dashboard page with the platform key as Bearer or as basic auth', async () => {
    for (const authorization of [`Bearer ${ADMIN_KEY}`, basic('admin', ADMIN_KEY)]) {
      const res = await dashboard('', authorization);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(res.text).toContain('<title>Bull Dashboard</title>');
      // The page boots the board under our base path.
      expect(res.text).toContain('<base href="/admin/queues/"');
    }
    // Its script loads too (the static route resolves from any working directory).
    const page = await dashboard('', `Bearer ${ADMIN_KEY}`);
    const script = /src="(static\/js\/main\.[^"]+\.js)"/.exec(page.text)?.[1];
    expect(script).toBeDefined();
    const asset = await h.app.request(`/admin/queues/${script}`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toMatch(/javascript/);
  });

  it('lists the send-code queue with its counts', async () => {
    const before = await queueListing();
    for (const state of ['waiting', 'active', 'delayed', 'completed', 'failed']) {
      expect(typeof before.counts[state], state).toBe('number');
    }
    const sendId = randomUUID();
    await h.services.sendQueue.add('send-code', { sendId }, { jobId: sendId });
    const delayedId = randomUUID();
    await h.services.sendQueue.add(
      'send-code',
      { sendId: delayedId },
      { jobId: delayedId, delay: 3_600_000 },
    );
    const after = await queueListing();
    expect(after.counts.waiting).toBe((before.counts.waiting ?? 0) + 1);
    expect(after.counts.delayed).toBe((before.counts.delayed ?? 0) + 1);
  });

  it('retries a failed job through the dashboard API', async () => {
    const jobId = await failOneJob(h);
    const listed = await queueListing();
    expect(listed.counts.failed).toBeGreaterThanOrEqual(1);

    // Refused without the key, and the job stays failed.
    const refused = await dashboard(
      `/api/queues/${SEND_CODE_QUEUE}/${jobId}/retry`,
      undefined,
      'PUT',
    );
    expect(refused.status).toBe(401);
    expect(await h.services.sendQueue.getJobState(jobId)).toBe('failed');

    const retry = await dashboard(
      `/api/queues/${SEND_CODE_QUEUE}/${jobId}/retry`,
      basic('admin', ADMIN_KEY),
      'PUT',
    );
    expect(retry.status).toBeLessThan(300);
    expect(await h.services.sendQueue.getJobState(jobId)).toBe('waiting');
    expect((await queueListing()).counts.failed).toBe((listed.counts.failed ?? 0) - 1);
  });

  it('retries every failed job at once', async () => {
    const ids = [await failOneJob(h), await failOneJob(h)];
    const retry = await dashboard(
      `/api/queues/${SEND_CODE_QUEUE}/retry/failed`,
      `Bearer ${ADMIN_KEY}`,
      'PUT',
    );
    expect(retry.status).toBeLessThan(300);
    for (const id of ids) expect(await h.services.sendQueue.getJobState(id)).toBe('waiting');
    expect((await queueListing()).counts.failed).toBe(0);
  });
});
