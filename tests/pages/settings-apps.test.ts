/**
 * `/settings/apps`: over HTTP (the in-process app with a cookie-keeping browser), then in
 * Chromium with axe. The JSON API and the database are the witnesses: what the page shows
 * is what `/v1/apps` lists, and a secret shown once is the one whose hash is stored.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { hashSecret } from '@twofa/core';
import type { Browser as Chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AxeFinding, expectAccessible } from '../support/axe.ts';
import { launchChromium } from '../support/browser.ts';
import { createHarness, type Harness } from '../support/index.ts';
import {
  Browser,
  csrfOf,
  PASSWORD,
  type PagesOrg,
  seedPagesOrg,
  signInWithSmsCode,
  waitForCode,
} from './support.ts';

let h: Harness;
let org: PagesOrg;

beforeAll(async () => {
  h = await createHarness({ env: { SMS_PROVIDER: 'console' } });
  org = await seedPagesOrg(h, 'Apps Clinic');
});
afterAll(async () => {
  await h?.close();
});

async function signedIn(email: string, userId: string): Promise<Browser> {
  const b = new Browser(h);
  await b.submit(`/login?org=${org.id}`, '/login', { org: org.id, email, password: PASSWORD });
  const done = await b.submit('/login/code', '/login/code', { code: await waitForCode(h, userId) });
  expect(done.location).toBe('/account');
  return b;
}

const apiApps = async (key = org.apiKey) =>
  (await h.request('GET', '/v1/apps', { key })).body.apps as {
    id: string;
    clientId: string;
    name: string;
    redirectUris: string[];
  }[];

const storedHash = async (clientId: string) =>
  (
    await h.sql<{ hash: string }[]>`
      select client_secret_hash as hash from apps where client_id = ${clientId}`
  )[0]?.hash;

const textOf = (html: string, testId: string) =>
  new RegExp(`data-testid="${testId}">([^<]+)<`).exec(html)?.[1];

describe('/settings/apps over HTTP', () => {
  it('is for admins: a logged-out browser goes to /login, a member gets 403', async () => {
    const anonymous = await new Browser(h).get('/settings/apps');
    expect(anonymous.status).toBe(303);
    expect(anonymous.location).toBe('/login');
    const member = await signedIn(org.member.email, org.member.id);
    expect((await member.get('/settings/apps')).status).toBe(403);
    const csrf = csrfOf((await member.get('/account')).html);
    const post = await member.post('/settings/apps', {
      csrf,
      name: 'Sneaky',
      redirectUris: 'https://sneaky.example/cb',
    });
    expect(post.status).toBe(403);
    expect(await apiApps()).toEqual([]);
  });

  it('registers, shows the secret once, rotates it and deletes the app', async () => {
    const admin = await signedIn(org.admin.email, org.admin.id);
    const empty = await admin.get('/settings/apps');
    expect(empty.status).toBe(200);
    expect(empty.html).toContain('href="/settings/apps"');
    expect(empty.html).toContain('No apps yet.');

    // Without the CSRF token: 403, nothing registered.
    const forged = await admin.post('/settings/apps', {
      csrf: 'forged',
      name: 'Clinic',
      redirectUris: 'https://clinic.example/callback',
    });
    expect(forged.status).toBe(403);
    expect(await apiApps()).toEqual([]);

    // Each bad redirect URI flagged by its line; nothing registered.
    const bad = await admin.submit('/settings/apps', '/settings/apps', {
      name: 'Clinic',
      redirectUris:
        'https://clinic.example/callback\n\nhttp://clinic.example/callback\nhttps://clinic.example/cb#x\n',
    });
    expect(bad.status).toBe(422);
    expect(bad.html).toContain('Nothing was saved');
    expect(bad.html).toContain('Line 3: <code>http://clinic.example/callback</code>');
    expect(bad.html).toContain('Line 4: <code>https://clinic.example/cb#x</code>');
    expect(bad.html).not.toContain('Line 1:');
    expect(bad.html).toMatch(/<textarea[^>]*aria-invalid="true"/);
    expect(bad.html).toContain('http://clinic.example/callback\n'); // kept for fixing
    const noName = await admin.submit('/settings/apps', '/settings/apps', {
      name: '   ',
      redirectUris: 'https://clinic.example/callback',
    });
    expect(noName.status).toBe(422);
    expect(noName.html).toContain('Give the app a name of 1 to 100 characters.');
    const tooMany = await admin.submit('/settings/apps', '/settings/apps', {
      name: 'Clinic',
      redirectUris: Array.from({ length: 11 }, (_, i) => `https://c.example/${i}`).join('\n'),
    });
    expect(tooMany.status).toBe(422);
    expect(tooMany.html).toContain('Give 1 to 10 redirect URIs, one a line.');
    expect(await apiApps()).toEqual([]);

    const made = await admin.submit('/settings/apps', '/settings/apps', {
      name: 'Clinic',
      redirectUris: 'https://clinic.example/callback\r\nhttp://localhost:3001/callback',
    });
    expect(made.status).toBe(200);
    expect(made.headers.get('cache-control')).toBe('no-store');
    const clientId = textOf(made.html, 'client-id');
    const secret = textOf(made.html, 'client-secret') ?? '';
    const [app] = await apiApps();
    expect(app).toMatchObject({
      clientId,
      name: 'Clinic',
      redirectUris: ['https://clinic.example/callback', 'http://localhost:3001/callback'],
    });
    expect(await storedHash(clientId ?? '')).toBe(
      hashSecret(h.config.appSecret, 'client-secret', secret),
    );
    // Once: the page that lists the app never shows the secret again.
    const listed = await admin.get('/settings/apps');
    expect(listed.html).toContain(clientId);
    expect(listed.html).not.toContain(secret);

    const rotated = await admin.submit('/settings/apps', `/settings/apps/${app?.id}/secret`, {});
    expect(rotated.status).toBe(200);
    const newSecret = textOf(rotated.html, 'client-secret') ?? '';
    expect(newSecret).not.toBe(secret);
    expect(rotated.html).toContain('Clinic has a new secret; the old one no longer works.');
    expect(await storedHash(clientId ?? '')).toBe(
      hashSecret(h.config.appSecret, 'client-secret', newSecret),
    );

    const deleted = await admin.submit('/settings/apps', `/settings/apps/${app?.id}/delete`, {});
    expect(deleted.status).toBe(303);
    expect(deleted.location).toBe('/settings/apps?deleted');
    expect(await apiApps()).toEqual([]);
    expect((await admin.get(deleted.location ?? '')).html).toContain('The app is deleted');

    const audit = await h.request('GET', '/v1/audit-events', { key: org.apiKey });
    const events = (audit.body.events as { type: string; actor: string; data: unknown }[]).filter(
      (e) => e.type.startsWith('app_'),
    );
    expect(events.map((e) => [e.type, e.actor])).toEqual([
      ['app_deleted', `admin:${org.admin.id}`],
      ['app_secret_rotated', `admin:${org.admin.id}`],
      ['app_created', `admin:${org.admin.id}`],
    ]);
    expect(JSON.stringify(events)).not.toContain(newSecret);
  });

  it("answers 404 for another organization's app and leaves it alone", async () => {
    const other = await seedPagesOrg(h, 'Other Clinic');
    const theirs = await h.request('POST', '/v1/apps', {
      key: other.apiKey,
      body: { name: 'Theirs', redirectUris: ['https://theirs.example/cb'] },
    });
    expect(theirs.status).toBe(201);
    const admin = await signedIn(org.admin.email, org.admin.id);
    for (const action of ['secret', 'delete']) {
      const res = await admin.submit(
        '/settings/apps',
        `/settings/apps/${theirs.body.id}/${action}`,
        {},
      );
      expect(res.status, action).toBe(404);
      expect(res.html).toContain('No such app.');
    }
    expect(
      (await admin.submit('/settings/apps', '/settings/apps/not-a-uuid/delete', {})).status,
    ).toBe(404);
    expect(await storedHash(theirs.body.clientId)).toBe(
      hashSecret(h.config.appSecret, 'client-secret', theirs.body.clientSecret),
    );
    expect((await apiApps(other.apiKey)).map((a) => a.id)).toEqual([theirs.body.id]);
  });
});

describe('/settings/apps in Chromium', () => {
  let chromium: Chromium;
  let server: ReturnType<typeof serve>;
  let base: string;
  const lesser: AxeFinding[] = [];

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
    if (lesser.length > 0) console.info('axe moderate/minor findings:', JSON.stringify(lesser));
    await chromium?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('registers an app from the form, flags a bad URI, and passes axe', async () => {
    // axe is injected as an inline script, which the pages' CSP refuses by design.
    const context = await chromium.newContext({ bypassCSP: true, locale: 'en-US' });
    const page = await context.newPage();
    await signInWithSmsCode(page, base, h, org.id, org.admin);

    await page.getByRole('link', { name: 'Apps', exact: true }).click();
    await page.waitForURL(`${base}/settings/apps`);
    await expectAccessible(page, 'apps', lesser);

    await page.getByLabel('Name').fill('Browser Clinic');
    await page.getByLabel('Redirect URIs').fill('ftp://clinic.example/cb');
    await page.getByRole('button', { name: 'Register' }).click();
    expect(await page.locator('#redirectUris-errors li').allInnerTexts()).toEqual([
      'Line 1: ftp://clinic.example/cb is not an allowed redirect URI.',
    ]);
    await expectAccessible(page, 'apps, a bad redirect URI', lesser);

    await page.getByLabel('Redirect URIs').fill('https://browser.example/callback');
    await page.getByRole('button', { name: 'Register' }).click();
    const clientId = await page.getByTestId('client-id').textContent();
    const secret = await page.getByTestId('client-secret').textContent();
    expect(secret).toMatch(/.{20,}/);
    await expectAccessible(page, 'apps, the secret shown once', lesser);
    const app = (await apiApps()).find((a) => a.clientId === clientId);
    expect(app?.redirectUris).toEqual(['https://browser.example/callback']);

    await page.getByRole('button', { name: 'Delete: Browser Clinic' }).click();
    await page.waitForURL(`${base}/settings/apps?deleted`);
    expect((await apiApps()).some((a) => a.clientId === clientId)).toBe(false);
    await context.close();
  });
});
