/**
 * Webhook events are not lost between the change and the delivery: the
 * worker is SIGKILLed with deliveries in flight, Redis is flushed (every job
 * gone), more changes land meanwhile, and a new worker still delivers every
 * event at least once, each signed, each under its one `webhook-id`. The
 * receiver is on loopback (WEBHOOK_ALLOW_PRIVATE_TARGETS=true).
 */
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil, withStack } from '../support/index.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const stack = withStack({
  workers: 0,
  env: {
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_DISPATCH_INTERVAL_MS: '200',
    // A lapsed lock is noticed within seconds, not the production 30 s.
    WORKER_LOCK_DURATION_MS: '3000',
  },
});

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

const BEFORE = 30;
const AFTER = 10;

async function createUsers(apiKey: string, from: number, count: number) {
  for (let i = from; i < from + count; i++) {
    const res = await stack.request('POST', '/v1/users', {
      key: apiKey,
      body: { email: `hook-${i}@example.com` },
    });
    expect(res.status).toBe(201);
  }
}

describe('webhook deliveries through a worker crash and a Redis flush', {
  timeout: 180_000,
}, () => {
  it('delivers every event at least once, each with its one webhook-id', async () => {
    const created = await stack.request('POST', '/v1/organizations', {
      key: 'test-platform-key-0123456789',
      body: { name: 'Crash Clinic' },
    });
    const { id: orgId, apiKey } = created.body as { id: string; apiKey: string };
    const hook = await stack.request('POST', '/v1/webhooks', {
      key: apiKey,
      body: { url: `${receiver.url}/crash`, events: ['user_created'] },
    });
    expect(hook.status).toBe(201);
    const secret = hook.body.secret as string;

    // The changes commit while no worker runs: only Postgres knows of their events.
    await createUsers(apiKey, 0, BEFORE);
    // Slow answers keep deliveries in flight when the worker dies.
    receiver.answer = () => ({ status: 200, delayMs: 2_000 });
    const first = await stack.startWorker();
    await waitUntil('deliveries in flight', async () => receiver.received.length >= 5, {
      timeoutMs: 60_000,
      intervalMs: 10,
    });
    await first.kill();
    expect(first.exit?.signal).toBe('SIGKILL');
    await stack.redis.flushAll();
    const [left] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from webhook_deliveries
      where organization_id = ${orgId} and status = 'pending'`;
    expect(left?.n).toBeGreaterThan(0);

    // More changes between the flush and the next worker.
    await createUsers(apiKey, BEFORE, AFTER);
    receiver.answer = () => 204;
    const second = await stack.startWorker();
    await waitUntil(
      'every delivery delivered',
      async () => {
        const [row] = await stack.sql<{ pending: number; delivered: number }[]>`
          select count(*) filter (where status <> 'delivered')::int as pending,
            count(*) filter (where status = 'delivered')::int as delivered
          from webhook_deliveries where organization_id = ${orgId}`;
        return row?.pending === 0 && row.delivered === BEFORE + AFTER;
      },
      { timeoutMs: 120_000, intervalMs: 250 },
    );

    const events = await stack.sql<{ id: string }[]>`
      select id::text as id from audit_events
      where organization_id = ${orgId} and type = 'user_created'`;
    expect(events).toHaveLength(BEFORE + AFTER);
    const verifier = new Webhook(secret);
    const receivedIds = new Map<string, number>();
    for (const r of receiver.received) {
      const body = verifier.verify(r.body, r.headers as Record<string, string>) as { id: string };
      expect(r.headers['webhook-id']).toBe(body.id);
      receivedIds.set(body.id, (receivedIds.get(body.id) ?? 0) + 1);
    }
    // The jobs the flush destroyed came back through the reconciler's pass, nothing else.
    await waitUntil(
      'the reconciler to log its requeues',
      async () =>
        second
          .jsonLogs()
          .some((l) => l.msg === 'reconciler acted' && Number(l.webhooksRequeued) > 0),
      { timeoutMs: 10_000 },
    );
    // Every event arrived; a repeat (the one in flight at the kill) carries the same id.
    expect([...receivedIds.keys()].sort()).toEqual(events.map((e) => e.id).sort());
  });
});
