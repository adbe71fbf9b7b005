/**
 * `/settings/webhooks`: over HTTP (app.request with a cookie jar) and in
 * Chromium with axe. Webhook targets are a receiver on loopback
 * (WEBHOOK_ALLOW_PRIVATE_TARGETS=true); nothing connects elsewhere.
 */

import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import type { Browser as Chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Browser,
  csrfOf,
  PASSWORD,
  type PagesOrg,
  seedPagesOrg,
  signInWithSmsCode,
  waitForCode,
} from '../pages/support.ts';
import { expectAccessible } from '../support/axe.ts';
import { launchChromium } from '../support/browser.ts';
import { ADMIN_KEY, createHarness, type Harness } from '../support/index.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.ts';

let h: Harness;
let org: PagesOrg;
let receiver: WebhookReceiver;

beforeAll(async () => {
  h = await createHarness({
    env: {
      SMS_PROVIDER: 'console',
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_DISPATCH_INTERVAL_MS: '100',
    },
  });
  org = await seedPagesOrg(h, 'Webhook Paws');
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver?.close();
  await h?.close();
});

async function logIn(b: Browser, email: string, userId: string) {
  const res = await b.submit(`/login?org=${org.id}`, '/login', {
    org: org.id,
    email,
    password: PASSWORD,
  });
  expect(res.location).toBe('/login/code');
  const verify = await b.submit('/login/code', '/login/code', {
    code: await waitForCode(h, userId),
  });
  expect(verify.location).toBe('/account');
}

/** A form post with repeated fields (the event checkboxes), through the browser's cookies. */
async function postForm(b: Browser, path: string, fields: [string, string][]) {
  const cookie = [...b.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const res = await h.app.request(path, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, html: await res.text(), location: res.headers.get('location') };
}

async function webhooksOf(organizationId: string) {
  return h.sql<{ id: string; url: string; events: string[] }[]>`
    select id, url, events from webhooks where organization_id = ${organizationId}`;
}

describe('/settings/webhooks over HTTP', () => {
  it('is for admins only', async () => {
    const anonymous = await new Browser(h).get('/settings/webhooks');
    expect(anonymous.status).toBe(303);
    expect(anonymous.location).toMatch(/^\/login/);
    const member = new Browser(h);
    await logIn(member, org.member.email, org.member.id);
    expect((await member.get('/settings/webhooks')).status).toBe(403);
  });

  it('adds a webhook, shows its secret once, sends a test event, shows the log, deletes it', async () => {
    const b = new Browser(h);
    await logIn(b, org.admin.email, org.admin.id);
    const page = await b.get('/settings/webhooks');
    expect(page.status).toBe(200);
    expect(page.html).toContain('href="/settings/webhooks"');
    const csrf = csrfOf(page.html);

    // Without the CSRF token: 403, nothing stored.
    const forged = await postForm(b, '/settings/webhooks', [['url', `${receiver.url}/forged`]]);
    expect(forged.status).toBe(403);
    expect(await webhooksOf(org.id)).toEqual([]);

    // A refused URL: 422 with the reason, nothing stored, the input kept.
    const refused = await postForm(b, '/settings/webhooks', [
      ['csrf', csrf],
      ['url', 'ftp://files.example.com/in'],
    ]);
    expect(refused.status).toBe(422);
    expect(refused.html).toContain('The URL must start with https://.');
    expect(refused.html).toContain('aria-invalid="true"');
    expect(await webhooksOf(org.id)).toEqual([]);

    const added = await postForm(b, '/settings/webhooks', [
      ['csrf', csrf],
      ['url', `${receiver.url}/page`],
      ['events', 'user_created'],
      ['events', 'challenge_approved'],
    ]);
    expect(added.status).toBe(200);
    const secret = /value="(whsec_[^"]+)"/.exec(added.html)?.[1];
    expect(secret).toMatch(/^whsec_/);
    const [stored] = await webhooksOf(org.id);
    expect(stored).toMatchObject({
      url: `${receiver.url}/page`,
      events: ['user_created', 'challenge_approved'],
    });
    // Shown once: the next view of the page does not have it.
    const again = await b.get('/settings/webhooks');
    expect(again.html).not.toContain(secret!);
    expect(again.html).toContain(`${receiver.url}/page`);

    const test = await b.post(`/settings/webhooks/${stored!.id}/test`, { csrf });
    expect(test.status).toBe(303);
    expect(test.location).toBe('/settings/webhooks?notice=test');
    await h.waitFor(async () => {
      const [row] = await h.sql<{ status: string }[]>`
        select status from webhook_deliveries where webhook_id = ${stored!.id}
          and type = 'webhook_test'`;
      return row?.status === 'delivered';
    });
    const log = await b.get('/settings/webhooks');
    expect(log.html).toContain('Test event');
    expect(log.html).toContain('Delivered');
    expect(log.html).toContain('HTTP 204');

    // Disabled after days of failures: the page says when and why.
    await h.sql`
      update webhooks set disabled_at = now(), disabled_reason = 'consecutive_failures',
        failing_since = now() - interval '3 days'
      where id = ${stored!.id}`;
    const disabled = await b.get('/settings/webhooks');
    expect(disabled.html).toMatch(/Disabled on .*No delivery succeeded for 3 days/s);
    expect(disabled.html).toContain(`action="/settings/webhooks/${stored!.id}/enable"`);

    // Turned on again from the page once the receiver works, and off again.
    const stateOf = async () => {
      const [row] = await h.sql<{ disabledAt: Date | null; reason: string | null }[]>`
        select disabled_at as "disabledAt", disabled_reason as reason
        from webhooks where id = ${stored!.id}`;
      return row;
    };
    const enabled = await b.post(`/settings/webhooks/${stored!.id}/enable`, { csrf });
    expect(enabled.location).toBe('/settings/webhooks?notice=enabled');
    expect(await stateOf()).toEqual({ disabledAt: null, reason: null });
    const on = await b.get('/settings/webhooks?notice=enabled');
    expect(on.html).toContain('Webhook turned on again');
    expect(on.html).toContain(`action="/settings/webhooks/${stored!.id}/disable"`);
    const off = await b.post(`/settings/webhooks/${stored!.id}/disable`, { csrf });
    expect(off.location).toBe('/settings/webhooks?notice=disabled');
    expect((await stateOf())?.reason).toBe('disabled_by_request');
    expect((await b.get('/settings/webhooks')).html).toContain('Turned off by an administrator.');
    const forgedEnable = await b.post(`/settings/webhooks/${stored!.id}/enable`, {});
    expect(forgedEnable.status).toBe(403);
    expect((await stateOf())?.reason).toBe('disabled_by_request');

    // Another organization's admin cannot touch it.
    const other = await seedPagesOrg(h, 'Other Paws');
    const outsider = new Browser(h);
    const res = await outsider.submit(`/login?org=${other.id}`, '/login', {
      org: other.id,
      email: other.admin.email,
      password: PASSWORD,
    });
    expect(res.location).toBe('/login/code');
    await outsider.submit('/login/code', '/login/code', {
      code: await waitForCode(h, other.admin.id),
    });
    const foreign = await outsider.submit(
      '/settings/webhooks',
      `/settings/webhooks/${stored!.id}/delete`,
      {},
    );
    expect(foreign.status).toBe(404);
    expect(await webhooksOf(org.id)).toHaveLength(1);

    const deleted = await b.post(`/settings/webhooks/${stored!.id}/delete`, { csrf });
    expect(deleted.location).toBe('/settings/webhooks?notice=deleted');
    expect(await webhooksOf(org.id)).toEqual([]);
  });

  it('speaks the organization’s language', async () => {
    const b = new Browser(h);
    await logIn(b, org.admin.email, org.admin.id);
    for (const [locale, title] of [
      ['fi', 'Webhookit'],
      ['sv', 'Lägg till en webhook'],
    ] as const) {
      const patch = await h.request('PATCH', `/v1/organizations/${org.id}`, {
        key: ADMIN_KEY,
        body: { locale },
      });
      expect(patch.status).toBe(200);
      const page = await b.get('/settings/webhooks');
      expect(page.html).toContain(`lang="${locale}"`);
      expect(page.html).toContain(title);
    }
    await h.request('PATCH', `/v1/organizations/${org.id}`, {
      key: ADMIN_KEY,
      body: { locale: 'en' },
    });
  });
});

describe('/settings/webhooks in Chromium', () => {
  let chromium: Chromium;
  let server: ReturnType<typeof serve>;
  let base: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => {
      server = serve(
        { fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' },
        (info: AddressInfo) => {
          base = `http://127.0.0.1:${info.port}`;
          resolve();
        },
      );
    });
    chromium = await launchChromium();
  });
  afterAll(async () => {
    await chromium?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('adds a webhook with the form and passes axe on each state of the page', async () => {
    // axe is injected as an inline script, which the pages' CSP refuses by design.
    const context = await chromium.newContext({ bypassCSP: true, locale: 'en-US' });
    const page = await context.newPage();

    await signInWithSmsCode(page, base, h, org.id, org.admin);

    await page.getByRole('link', { name: 'Webhooks' }).first().click();
    await page.waitForURL(`${base}/settings/webhooks`);
    await expectAccessible(page, 'webhooks, none yet');

    await page.getByLabel('URL').fill('ftp://files.example.com/in');
    // The browser's own type="url" check lets ftp through; the server refuses it.
    await page.getByRole('button', { name: 'Add webhook' }).click();
    expect(await page.getByRole('alert').textContent()).toBe('The URL must start with https://.');
    await expectAccessible(page, 'webhooks, refused URL');

    await page.getByLabel('URL').fill(`${receiver.url}/browser`);
    await page.getByLabel(/User created/).check();
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secret = await page.getByLabel('Signing secret').inputValue();
    expect(secret).toMatch(/^whsec_/);
    await expectAccessible(page, 'webhooks, secret shown');

    await page.getByRole('button', { name: 'Send a test event' }).click();
    await page.waitForURL(`${base}/settings/webhooks?notice=test`);
    expect(await page.getByRole('status').first().textContent()).toMatch(/Test event queued/);
    await expectAccessible(page, 'webhooks, with a webhook');
    await context.close();
  });
});
