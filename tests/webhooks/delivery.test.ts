/**
 * Webhooks end to end, in process: the API records events, the worker's
 * dispatcher and processor deliver them to a receiver on loopback
 * (WEBHOOK_ALLOW_PRIVATE_TARGETS=true), which checks every signature with the
 * `standardwebhooks` verifier. Nothing here connects anywhere but 127.0.0.1.
 */
import { sealSecret } from '@twofa/core';
import { startWorker, type WorkerRuntime } from '@twofa/worker';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { APP_SECRET, captureLogs, withHarness } from '../support/index.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const h = withHarness({
  worker: false,
  env: {
    WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
    WEBHOOK_RETRY_FIRST_DELAY_MS: '200',
    WEBHOOK_TIMEOUT_MS: '1500',
    WEBHOOK_DISPATCH_INTERVAL_MS: '100',
  },
});

/** A name no resolver knows: only the worker's injected lookup turns it into loopback. */
const PINNED_NAME = 'receiver.webhooks.test';
/** Resolves (injected) to two addresses: first 127.0.0.2, where nothing listens, then 127.0.0.1. */
const TWO_ADDRESS_NAME = 'two.webhooks.test';

let receiver: WebhookReceiver;
let worker: WorkerRuntime;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
  worker = await startWorker(h.config, {
    clock: h.clock,
    logger: captureLogs('worker').logger,
    metricsPort: 0,
    webhookLookup: async (hostname) => {
      if (hostname === PINNED_NAME) return [{ address: '127.0.0.1', family: 4 }];
      if (hostname === TWO_ADDRESS_NAME) {
        return [
          { address: '127.0.0.2', family: 4 },
          { address: '127.0.0.1', family: 4 },
        ];
      }
      throw new Error(`test lookup: ${hostname} is unknown`);
    },
  });
});

afterAll(async () => {
  await worker?.close();
  await receiver?.close();
});

beforeEach(() => {
  receiver.answer = () => 204;
});

interface Created {
  id: string;
  secret: string;
}

async function addWebhook(apiKey: string, path: string, events?: string[]): Promise<Created> {
  const res = await h.request('POST', '/v1/webhooks', {
    key: apiKey,
    body: { url: `${receiver.url}${path}`, ...(events && { events }) },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
  return { id: res.body.id, secret: res.body.secret };
}

/** Requests at `path`, each verified with the webhook's secret; throws on a bad signature. */
function verifiedAt(path: string, secret: string) {
  const verifier = new Webhook(secret);
  return receiver.received
    .filter((r) => r.path === path)
    .map((r) => ({
      headers: r.headers,
      event: verifier.verify(r.body, r.headers as Record<string, string>) as {
        id: string;
        type: string;
        organizationId: string;
        createdAt: string;
        actor: string;
        ip: string | null;
        data: Record<string, unknown>;
      },
    }));
}

function waitForDelivered(webhookId: string, count: number) {
  return h.waitFor(async () => {
    const rows = await h.sql<{ status: string }[]>`
      select status from webhook_deliveries where webhook_id = ${webhookId}`;
    return rows.length >= count && rows.every((r) => r.status !== 'pending') ? rows : null;
  }, 30_000);
}

let paths = 0;
const nextPath = () => `/hook-${++paths}`;

describe('webhook delivery', { timeout: 60_000 }, () => {
  it('signs every event per Standard Webhooks and sends the contract body', async () => {
    const org = await h.createOrganization({ name: 'Signed Clinic', country: 'FI' });
    const path = nextPath();
    const hook = await addWebhook(org.apiKey, path);
    const user = await h.createUser(org.apiKey, {
      email: 'signed@example.com',
      password: 'correct horse battery',
    });
    await waitForDelivered(hook.id, 2);

    const events = verifiedAt(path, hook.secret);
    const created = events.find((e) => e.event.type === 'user_created');
    expect(created?.event).toMatchObject({
      type: 'user_created',
      organizationId: org.id,
      actor: 'organization_key',
      data: { userId: user.id, hasPhone: false },
    });
    expect(Object.keys(created!.event).sort()).toEqual(
      ['actor', 'createdAt', 'data', 'id', 'ip', 'organizationId', 'type'].sort(),
    );
    // The event's id is the audit event's, and the header carries it.
    const audit = await h.request('GET', '/v1/audit-events', { key: org.apiKey });
    const auditEvent = audit.body.events.find((e: { type: string }) => e.type === 'user_created');
    expect(created!.event.id).toBe(auditEvent.id);
    expect(created!.headers['webhook-id']).toBe(auditEvent.id);
    expect(Number(created!.headers['webhook-timestamp'])).toBeGreaterThan(1_700_000_000);
    // Its own creation is an event too (audit `webhook_created`); no secret in any body.
    expect(events.map((e) => e.event.type).sort()).toEqual(['user_created', 'webhook_created']);
    for (const r of receiver.received.filter((r) => r.path === path)) {
      expect(r.body).not.toContain(hook.secret.slice(6));
      expect(r.body).not.toContain('correct horse');
    }
    // A tampered body fails the same verifier.
    const one = receiver.received.find((r) => r.path === path)!;
    expect(() =>
      new Webhook(hook.secret).verify(`${one.body} `, one.headers as Record<string, string>),
    ).toThrow();

    const log = await h.request('GET', `/v1/webhooks/${hook.id}/deliveries`, { key: org.apiKey });
    expect(log.status).toBe(200);
    expect(log.body.deliveries).toHaveLength(2);
    expect(log.body.deliveries[0]).toMatchObject({
      status: 'delivered',
      attempts: 1,
      lastStatusCode: 204,
    });
    expect(log.body.deliveries[0].deliveredAt).not.toBeNull();
  });

  it('retries after a 500 and after a timeout with the same webhook-id', async () => {
    const org = await h.createOrganization({ name: 'Retry Clinic', country: 'FI' });
    const path = nextPath();
    const hook = await addWebhook(org.apiKey, path, ['user_created']);
    // First attempt 500, second never answers (the deadline), third 200.
    let seen = 0;
    receiver.answer = (r) => {
      if (r.path !== path) return 204;
      seen++;
      return seen === 1 ? 500 : seen === 2 ? 'hang' : 200;
    };
    await h.createUser(org.apiKey, { email: 'retry@example.com' });
    const [row] = await waitForDelivered(hook.id, 1);
    expect(row?.status).toBe('delivered');

    const attempts = verifiedAt(path, hook.secret);
    expect(attempts).toHaveLength(3);
    const ids = new Set(attempts.map((a) => a.headers['webhook-id']));
    expect(ids.size).toBe(1);
    expect(new Set(attempts.map((a) => a.event.id)).size).toBe(1);
    const log = await h.request('GET', `/v1/webhooks/${hook.id}/deliveries`, { key: org.apiKey });
    expect(log.body.deliveries).toEqual([
      expect.objectContaining({ status: 'delivered', attempts: 3, lastStatusCode: 200 }),
    ]);
  });

  it('sends only the subscribed event types', async () => {
    const org = await h.createOrganization({ name: 'Filter Clinic', country: 'FI' });
    const onlyUsers = nextPath();
    const all = nextPath();
    const users = await addWebhook(org.apiKey, onlyUsers, ['user_created']);
    const every = await addWebhook(org.apiKey, all);
    await h.createUser(org.apiKey, { email: 'filter@example.com' });
    await h.enableTwoFactor(org.apiKey);
    // The catch-all one: its own creation, the user, the settings change.
    await waitForDelivered(every.id, 3);
    await waitForDelivered(users.id, 1);
    expect(verifiedAt(onlyUsers, users.secret).map((e) => e.event.type)).toEqual(['user_created']);
    expect(
      verifiedAt(all, every.secret)
        .map((e) => e.event.type)
        .sort(),
    ).toEqual(['settings_changed', 'user_created', 'webhook_created']);
    const unknownType = await h.request('POST', '/v1/webhooks', {
      key: org.apiKey,
      body: { url: `${receiver.url}/x`, events: ['user_created', 'no_such_event'] },
    });
    expect(unknownType.status).toBe(400);
    expect(unknownType.body.code).toBe('invalid_request');
  });

  it('reports challenge_approved and challenge_failed', async () => {
    const org = await h.createOrganization({ name: 'Outcome Clinic', country: 'FI' });
    await h.topUp(org.id, 10);
    await h.enableTwoFactor(org.apiKey);
    const path = nextPath();
    const hook = await addWebhook(org.apiKey, path, ['challenge_approved', 'challenge_failed']);
    const phone = '+358401110001';
    const user = await h.createUser(org.apiKey, { email: 'outcome@example.com', phone });

    const start = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user.id, ip: '203.0.113.7' },
    });
    expect(start.body.result).toBe('challenge_required');
    const code = await h.waitFor(async () => h.lastCodeFor(phone), 30_000);
    const verify = await h.request('POST', `/v1/challenges/${start.body.challenge.id}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(verify.status).toBe(200);

    // A refusal (Twilio 21211) fails the next challenge.
    h.twilio.setMode({ kind: 'error', status: 400, code: 21211, times: 1 });
    const second = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user.id, ip: '203.0.113.8' },
    });
    await waitForDelivered(hook.id, 2);
    h.twilio.setMode({ kind: 'ok' });

    const events = verifiedAt(path, hook.secret).map((e) => e.event);
    expect(events.map((e) => e.type).sort()).toEqual(['challenge_approved', 'challenge_failed']);
    expect(events.find((e) => e.type === 'challenge_approved')).toMatchObject({
      actor: 'user',
      ip: '203.0.113.7',
      data: { challengeId: start.body.challenge.id, userId: user.id },
    });
    expect(events.find((e) => e.type === 'challenge_failed')).toMatchObject({
      ip: '203.0.113.8',
      data: {
        challengeId: second.body.challenge.id,
        userId: user.id,
        failureReason: 'sms_rejected',
      },
    });
  });

  it('sends a test event to that webhook alone', async () => {
    const org = await h.createOrganization({ name: 'Test Event Clinic', country: 'FI' });
    const a = nextPath();
    const b = nextPath();
    const first = await addWebhook(org.apiKey, a, ['user_created']);
    const second = await addWebhook(org.apiKey, b, ['user_created']);
    const res = await h.request('POST', `/v1/webhooks/${first.id}/test`, { key: org.apiKey });
    expect(res.status).toBe(202);
    await waitForDelivered(first.id, 1);
    const [event] = verifiedAt(a, first.secret).map((e) => e.event);
    expect(event).toMatchObject({ id: res.body.eventId, type: 'webhook_test' });
    const others = await h.sql`select 1 from webhook_deliveries where webhook_id = ${second.id}`;
    expect(others).toHaveLength(0);
    expect(receiver.received.filter((r) => r.path === b)).toHaveLength(0);
  });

  it('connects to the address it checked, never looking the name up again', async () => {
    // The name resolves only through the worker's injected lookup (to loopback): a
    // client that resolved it again itself could not connect at all.
    const org = await h.createOrganization({ name: 'Pinned Clinic', country: 'FI' });
    const id = crypto.randomUUID();
    const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
    await h.sql`
      insert into webhooks (id, organization_id, url, events, secret_sealed)
      values (${id}, ${org.id}, ${`http://${PINNED_NAME}:${receiver.port}/pinned`},
        ${['user_created']}, ${sealSecret(APP_SECRET, 'webhook-secret', secret, id)})`;
    await h.createUser(org.apiKey, { email: 'pinned@example.com' });
    const [row] = await waitForDelivered(id, 1);
    expect(row?.status).toBe('delivered');
    const [got] = verifiedAt('/pinned', secret);
    expect(got?.headers.host).toBe(`${PINNED_NAME}:${receiver.port}`);
  });

  it('tries the next address of the host when the first refuses the connection', async () => {
    const org = await h.createOrganization({ name: 'Two Address Clinic', country: 'FI' });
    const id = crypto.randomUUID();
    const secret = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
    await h.sql`
      insert into webhooks (id, organization_id, url, events, secret_sealed)
      values (${id}, ${org.id}, ${`http://${TWO_ADDRESS_NAME}:${receiver.port}/two`},
        ${['user_created']}, ${sealSecret(APP_SECRET, 'webhook-secret', secret, id)})`;
    await h.createUser(org.apiKey, { email: 'two-addresses@example.com' });
    const [row] = await waitForDelivered(id, 1);
    expect(row?.status).toBe('delivered');
    const [attempt] = await h.sql<{ attempts: number }[]>`
      select attempts from webhook_deliveries where webhook_id = ${id}`;
    expect(attempt?.attempts).toBe(1);
    expect(verifiedAt('/two', secret)).toHaveLength(1);
  });

  it('keeps each organization to its own webhooks and events', async () => {
    const a = await h.createOrganization({ name: 'Tenant A', country: 'FI' });
    const b = await h.createOrganization({ name: 'Tenant B', country: 'FI' });
    const pathA = nextPath();
    const pathB = nextPath();
    const hookA = await addWebhook(a.apiKey, pathA, ['user_created']);
    const hookB = await addWebhook(b.apiKey, pathB, ['user_created']);
    await h.createUser(a.apiKey, { email: 'tenant-a@example.com' });
    await waitForDelivered(hookA.id, 1);
    expect(verifiedAt(pathA, hookA.secret).map((e) => e.event.organizationId)).toEqual([a.id]);
    expect(receiver.received.filter((r) => r.path === pathB)).toHaveLength(0);

    const listB = await h.request('GET', '/v1/webhooks', { key: b.apiKey });
    expect(listB.body.webhooks.map((w: { id: string }) => w.id)).toEqual([hookB.id]);
    expect(JSON.stringify(listB.body)).not.toContain('secret');
    for (const [method, path] of [
      ['GET', `/v1/webhooks/${hookA.id}/deliveries`],
      ['POST', `/v1/webhooks/${hookA.id}/test`],
      ['DELETE', `/v1/webhooks/${hookA.id}`],
    ] as const) {
      const res = await h.request(method, path, { key: b.apiKey });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.code).toBe('not_found');
    }
    const stillThere = await h.request('GET', '/v1/webhooks', { key: a.apiKey });
    expect(stillThere.body.webhooks).toHaveLength(1);

    const deleted = await h.request('DELETE', `/v1/webhooks/${hookA.id}`, { key: a.apiKey });
    expect(deleted.status).toBe(204);
    expect((await h.request('GET', '/v1/webhooks', { key: a.apiKey })).body.webhooks).toEqual([]);
  });

  it('stores the secret sealed, never in clear', async () => {
    const org = await h.createOrganization({ name: 'Sealed Clinic', country: 'FI' });
    const hook = await addWebhook(org.apiKey, nextPath(), ['user_created']);
    const [row] = await h.sql<{ sealed: string }[]>`
      select secret_sealed as sealed from webhooks where id = ${hook.id}`;
    expect(row?.sealed.startsWith('v1.')).toBe(true);
    expect(row?.sealed).not.toContain(hook.secret.slice(6, 20));
  });

  it('disables a webhook that has failed for days, and says why', async () => {
    const org = await h.createOrganization({ name: 'Failing Clinic', country: 'FI' });
    const path = nextPath();
    const hook = await addWebhook(org.apiKey, path, ['user_created']);
    receiver.answer = (r) => (r.path === path ? 503 : 204);
    // Failing since four days ago (as if every attempt since had failed).
    await h.sql`
      update webhooks set failing_since = now() - interval '4 days' where id = ${hook.id}`;
    await h.createUser(org.apiKey, { email: 'failing@example.com' });
    await waitForDelivered(hook.id, 1);
    const list = await h.request('GET', '/v1/webhooks', { key: org.apiKey });
    expect(list.body.webhooks[0]).toMatchObject({
      id: hook.id,
      disabledReason: 'consecutive_failures',
    });
    expect(list.body.webhooks[0].disabledAt).not.toBeNull();
    // A disabled webhook gets no new deliveries.
    await h.createUser(org.apiKey, { email: 'failing-2@example.com' });
    const rows = await h.sql`select 1 from webhook_deliveries where webhook_id = ${hook.id}`;
    expect(rows).toHaveLength(1);
  });

  it('turns a disabled webhook on again with PATCH enabled: true, and off with false', async () => {
    const org = await h.createOrganization({ name: 'Recovered Clinic', country: 'FI' });
    const path = nextPath();
    const hook = await addWebhook(org.apiKey, path, ['user_created', 'webhook_updated']);
    receiver.answer = (r) => (r.path === path ? 503 : 204);
    await h.sql`
      update webhooks set failing_since = now() - interval '4 days' where id = ${hook.id}`;
    await h.createUser(org.apiKey, { email: 'recovered-1@example.com' });
    await waitForDelivered(hook.id, 1);
    const listed = await h.request('GET', '/v1/webhooks', { key: org.apiKey });
    expect(listed.body.webhooks[0]).toMatchObject({ enabled: false });

    // The receiver works again; the admin turns the webhook back on.
    receiver.answer = () => 204;
    const on = await h.request('PATCH', `/v1/webhooks/${hook.id}`, {
      key: org.apiKey,
      body: { enabled: true },
    });
    expect(on.status, JSON.stringify(on.body)).toBe(200);
    expect(on.body).toMatchObject({
      id: hook.id,
      enabled: true,
      disabledAt: null,
      disabledReason: null,
      failingSince: null,
    });
    const user = await h.createUser(org.apiKey, { email: 'recovered-2@example.com' });
    // Its own webhook_updated event and the new user reach it.
    const rows = await waitForDelivered(hook.id, 3);
    expect(rows.map((r) => r.status).sort()).toEqual(['delivered', 'delivered', 'failed']);
    const events = verifiedAt(path, hook.secret).map((e) => e.event);
    expect(events).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'webhook_updated' }),
        expect.objectContaining({
          type: 'user_created',
          data: expect.objectContaining({ userId: user.id }),
        }),
      ]),
    );
    const [audit] = await h.sql<{ data: Record<string, unknown>; actor: string }[]>`
      select data, actor from audit_events
      where organization_id = ${org.id} and type = 'webhook_updated'`;
    expect(audit).toMatchObject({
      actor: 'organization_key',
      data: { webhookId: hook.id, enabled: true, wasDisabledReason: 'consecutive_failures' },
    });

    // Off on request: no new events, and what was pending fails.
    receiver.answer = (r) => (r.path === path ? 503 : 204);
    await h.createUser(org.apiKey, { email: 'recovered-3@example.com' });
    await h.waitFor(async () => {
      const [row] = await h.sql`
        select 1 from webhook_deliveries
        where webhook_id = ${hook.id} and status = 'pending' and attempts >= 1`;
      return row;
    }, 30_000);
    const off = await h.request('PATCH', `/v1/webhooks/${hook.id}`, {
      key: org.apiKey,
      body: { enabled: false },
    });
    expect(off.body).toMatchObject({ enabled: false, disabledReason: 'disabled_by_request' });
    const pending = await h.sql`
      select 1 from webhook_deliveries where webhook_id = ${hook.id} and status = 'pending'`;
    expect(pending).toHaveLength(0);
    const before = await h.sql`select 1 from webhook_deliveries where webhook_id = ${hook.id}`;
    await h.createUser(org.apiKey, { email: 'recovered-4@example.com' });
    const after = await h.sql`select 1 from webhook_deliveries where webhook_id = ${hook.id}`;
    expect(after).toHaveLength(before.length);
  });

  it("refuses a bad PATCH body (400) and another organization's webhook (404)", async () => {
    const org = await h.createOrganization({ name: 'Patch Clinic', country: 'FI' });
    const other = await h.createOrganization({ name: 'Other Patch Clinic', country: 'FI' });
    const hook = await addWebhook(org.apiKey, nextPath(), ['user_created']);
    for (const body of [{ enabled: 'yes' }, {}]) {
      const res = await h.request('PATCH', `/v1/webhooks/${hook.id}`, { key: org.apiKey, body });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_request');
    }
    const theirs = await h.request('PATCH', `/v1/webhooks/${hook.id}`, {
      key: other.apiKey,
      body: { enabled: false },
    });
    expect(theirs.status).toBe(404);
    expect(theirs.body.code).toBe('not_found');
    const listed = await h.request('GET', '/v1/webhooks', { key: org.apiKey });
    expect(listed.body.webhooks[0]).toMatchObject({ enabled: true, disabledAt: null });
  });
});

describe('webhook metrics', () => {
  it('counts deliveries by result and shows the queue and the oldest undelivered event', async () => {
    const res = await fetch(`http://127.0.0.1:${worker.port}/metrics`);
    const text = await res.text();
    // The earlier tests delivered, retried and failed deliveries.
    expect(text).toMatch(
      /twofa_webhook_deliveries_total\{result="delivered",service="worker"\} [1-9]/,
    );
    expect(text).toMatch(
      /twofa_webhook_deliveries_total\{result="retrying",service="worker"\} [1-9]/,
    );
    expect(text).toMatch(
      /twofa_queue_jobs\{queue="webhook-delivery",state="completed",service="worker"\} [1-9]/,
    );
    expect(text).toMatch(
      /twofa_webhook_oldest_undelivered_seconds\{attempted="false",service="worker"\} \d/,
    );
  });
});
