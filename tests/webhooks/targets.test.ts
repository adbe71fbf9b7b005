/**
 * Server-side request forgery, with the rules on (WEBHOOK_ALLOW_PRIVATE_TARGETS
 * unset): every refused URL form is 422 invalid_webhook_url and stores
 * nothing, and a delivery whose target became non-public is refused before
 * any connection. The only socket here is a canary receiver on loopback,
 * which must see no connection at all.
 */
import { sealSecret } from '@twofa/core';
import { startWorker, type WorkerRuntime } from '@twofa/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_SECRET, captureLogs, withHarness } from '../support/index.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

const h = withHarness({
  worker: false,
  env: { WEBHOOK_RETRY_FIRST_DELAY_MS: '200', WEBHOOK_DISPATCH_INTERVAL_MS: '100' },
});

/** Resolves, through the worker's injected lookup only, to the loopback canary. */
const REBOUND_NAME = 'rebound.webhooks.test';

let canary: WebhookReceiver;
let worker: WorkerRuntime;

beforeAll(async () => {
  canary = await startWebhookReceiver();
  worker = await startWorker(h.config, {
    clock: h.clock,
    logger: captureLogs('worker').logger,
    metricsPort: 0,
    webhookLookup: async (hostname) => {
      if (hostname === REBOUND_NAME) return [{ address: '127.0.0.1', family: 4 }];
      throw new Error(`test lookup: ${hostname} is unknown`);
    },
  });
});

afterAll(async () => {
  await worker?.close();
  await canary?.close();
});

describe('webhook targets with the rules on', { timeout: 60_000 }, () => {
  it.each([
    ['plain http', 'http://hooks.example.com/in'],
    ['loopback', 'https://127.0.0.1/in'],
    ['loopback elsewhere in 127/8', 'https://127.8.9.10/in'],
    ['loopback as a hex literal', 'https://0x7f000001/in'],
    ['10/8', 'https://10.1.2.3/in'],
    ['172.16/12', 'https://172.20.0.5/in'],
    ['192.168/16', 'https://192.168.10.20/in'],
    ['169.254/16 (cloud metadata)', 'https://169.254.169.254/latest/meta-data/'],
    ['fc00::/7', 'https://[fd00::5]/in'],
    ['fe80::/10', 'https://[fe80::1]/in'],
    ['IPv4 multicast', 'https://239.1.2.3/in'],
    ['IPv6 multicast', 'https://[ff05::2]/in'],
    ['0.0.0.0', 'https://0.0.0.0/in'],
    ['::ffff:127.0.0.1', 'https://[::ffff:127.0.0.1]/in'],
    ['::ffff:10.0.0.1', 'https://[::ffff:10.0.0.1]/in'],
    ['IPv6 loopback', 'https://[::1]/in'],
    ['carrier-grade NAT', 'https://100.64.1.1/in'],
    ['a name that resolves to loopback', 'https://localhost/in'],
    ['credentials in the URL', 'https://user:secret@hooks.example.com/in'],
    ['not a URL', 'hooks.example.com/in'],
  ])('refuses %s', async (_what, url) => {
    const org = await h.createOrganization({ name: 'SSRF Clinic', country: 'FI' });
    const res = await h.request('POST', '/v1/webhooks', { key: org.apiKey, body: { url } });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.code).toBe('invalid_webhook_url');
    expect(res.body.detail).toBeTruthy();
    const stored = await h.sql`select 1 from webhooks where organization_id = ${org.id}`;
    expect(stored).toHaveLength(0);
    const audit = await h.sql`
      select 1 from audit_events where organization_id = ${org.id} and type = 'webhook_created'`;
    expect(audit).toHaveLength(0);
  });

  it('checks the target again when a disabled webhook is turned on: 422, still off', async () => {
    const org = await h.createOrganization({ name: 'Reenabling Clinic', country: 'FI' });
    const id = crypto.randomUUID();
    const sealed = sealSecret(APP_SECRET, 'webhook-secret', `whsec_${'A'.repeat(43)}=`, id);
    await h.sql`
      insert into webhooks (id, organization_id, url, events, secret_sealed, disabled_at,
        disabled_reason)
      values (${id}, ${org.id}, ${`https://127.0.0.1:${canary.port}/in`}, ${['user_created']},
        ${sealed}, now(), 'consecutive_failures')`;
    const res = await h.request('PATCH', `/v1/webhooks/${id}`, {
      key: org.apiKey,
      body: { enabled: true },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalid_webhook_url');
    const [row] = await h.sql`select disabled_at from webhooks where id = ${id}`;
    expect(row?.disabled_at).not.toBeNull();
  });

  it('checks again at delivery: a name now resolving to loopback gets no connection', async () => {
    const org = await h.createOrganization({ name: 'Rebinding Clinic', country: 'FI' });
    // As if the name had resolved to a public address when the webhook was created.
    const targets = [
      `https://${REBOUND_NAME}:${canary.port}/in`,
      `https://127.0.0.1:${canary.port}/in`,
      `https://[::ffff:127.0.0.1]:${canary.port}/in`,
    ];
    const ids: string[] = [];
    for (const url of targets) {
      const id = crypto.randomUUID();
      ids.push(id);
      const sealed = sealSecret(APP_SECRET, 'webhook-secret', `whsec_${'A'.repeat(43)}=`, id);
      await h.sql`
        insert into webhooks (id, organization_id, url, events, secret_sealed)
        values (${id}, ${org.id}, ${url}, ${['user_created']}, ${sealed})`;
    }
    await h.createUser(org.apiKey, { email: 'rebound@example.com' });
    const rows = await h.waitFor(async () => {
      const found = await h.sql<{ attempts: number; lastError: string }[]>`
        select attempts, last_error as "lastError" from webhook_deliveries
        where webhook_id in ${h.sql(ids)} and attempts >= 1`;
      return found.length === ids.length ? found : null;
    }, 30_000);
    for (const row of rows)
      expect(row.lastError).toMatch(/^target refused: .*not a public address/);
    expect(canary.connections).toBe(0);
    expect(canary.received).toHaveLength(0);
  });
});
