/**
 * Authenticator apps and backup codes on the pages, in Chromium: enrollment
 * read off the page (the key as text, no scanning) with the code computed by
 * otpauth, backup codes shown once, and the code step's other ways; axe on
 * each new page. Nothing is loaded from anywhere but the service itself.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Secret, TOTP } from 'otpauth';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAccessible } from '../support/axe.ts';
import { launchChromium } from '../support/browser.ts';
import { createHarness, type Harness } from '../support/index.ts';
import { type PagesOrg, seedPagesOrg, signInInChromium, signInWithSmsCode } from './support.ts';

let h: Harness;
let org: PagesOrg;
let browser: Browser;
let server: ReturnType<typeof serve>;
let base: string;

beforeAll(async () => {
  h = await createHarness({ env: { SMS_PROVIDER: 'console' } });
  org = await seedPagesOrg(h, 'Factor Paws');
  await new Promise<void>((resolve) => {
    server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      base = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await h?.close();
});

async function sendCount(userId: string): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from sms_sends s join challenges c on c.id = s.challenge_id
    where c.user_id = ${userId}`;
  return row?.n ?? 0;
}

describe('second factors in a real browser', () => {
  it('sets up an authenticator app from the key on the page, makes backup codes, and signs in with each', async () => {
    // axe is injected inline: the CSP would refuse it (the pages themselves need no bypass).
    const context = await browser.newContext({
      viewport: { width: 1024, height: 900 },
      bypassCSP: true,
    });
    const page = await context.newPage();
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(base) && !r.url().startsWith('data:')) foreign.push(r.url());
    });

    // An SMS login first: a person without backup codes is offered them, once.
    await signInWithSmsCode(page, base, h, org.id, org.member);
    expect(await page.getByRole('heading', { name: 'Get backup codes?' }).isVisible()).toBe(true);
    await expectAccessible(page, 'account with the offer');
    await page.getByRole('link', { name: 'Not now' }).click();
    await page.waitForURL(`${base}/account`);
    expect(await page.getByRole('heading', { name: 'Get backup codes?' }).count()).toBe(0);

    // Enrollment: the key is read off the page, the code computed by otpauth.
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    await page.waitForURL(`${base}/account/totp`);
    expect(await page.locator('.qr svg path').count()).toBeGreaterThan(0);
    const shown = (await page.getByTestId('totp-secret').textContent()) ?? '';
    const secret = shown.replace(/\s+/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await expectAccessible(page, 'authenticator setup');
    const pending = await h.request('GET', `/v1/users/${org.member.id}`, { key: org.apiKey });
    expect(pending.body.totpEnabled).toBe(false);
    const totp = new TOTP({ secret: Secret.fromBase32(secret) });
    await page
      .getByLabel('Code from the app')
      .fill(totp.generate({ timestamp: h.clock.now().getTime() }));
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.waitForURL(`${base}/account?done=totp-on`);
    expect(await page.getByText('Your authenticator app is set up.').isVisible()).toBe(true);
    const enabled = await h.request('GET', `/v1/users/${org.member.id}`, { key: org.apiKey });
    expect(enabled.body.totpEnabled).toBe(true);

    // Backup codes: shown once, with a text download and a print button.
    await page.getByRole('button', { name: 'Create new backup codes' }).click();
    await page.waitForURL(`${base}/account/backup-codes`);
    const codes = await page.locator('[data-testid="backup-codes"] code').allTextContents();
    expect(codes).toHaveLength(10);
    const download = page.getByRole('link', { name: 'Download as a text file' });
    const href = (await download.getAttribute('href')) ?? '';
    expect(href.startsWith('data:text/plain;charset=utf-8,')).toBe(true);
    expect(decodeURIComponent(href.slice(href.indexOf(',') + 1))).toContain(codes[0]);
    expect(await page.getByRole('button', { name: 'Print' }).isVisible()).toBe(true);
    await expectAccessible(page, 'new backup codes');
    await page.getByRole('link', { name: 'I have saved them' }).click();
    await page.waitForURL(`${base}/account`);
    expect(await page.getByTestId('backup-remaining').textContent()).toBe(
      '10 unused backup codes left.',
    );

    // The next login asks for the app's code and sends no SMS.
    const sentBefore = await sendCount(org.member.id);
    await page.getByRole('button', { name: 'Log out' }).click();
    await signInInChromium(page, base, org.id, org.member.email);
    await page.waitForURL(`${base}/login/code`);
    expect(
      await page.getByText('Enter the 6-digit code from your authenticator app.').isVisible(),
    ).toBe(true);
    expect(await page.getByRole('button', { name: 'Text me a code instead' }).isVisible()).toBe(
      true,
    );
    await expectAccessible(page, 'code step of an app user');
    expect(await sendCount(org.member.id)).toBe(sentBefore);

    // A backup code instead.
    await page.getByRole('link', { name: 'Use a backup code' }).click();
    await page.waitForURL(`${base}/login/backup-code`);
    await expectAccessible(page, 'backup code step');
    await page.getByLabel('Backup code').fill(codes[2]!.toUpperCase());
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${base}/account`);
    expect(await page.getByTestId('backup-remaining').textContent()).toBe(
      '9 unused backup codes left.',
    );

    // And the app: the next step's code (the confirming step is used).
    await page.getByRole('button', { name: 'Log out' }).click();
    await signInInChromium(page, base, org.id, org.member.email);
    await page.waitForURL(`${base}/login/code`);
    await page
      .getByLabel('6-digit code')
      .fill(totp.generate({ timestamp: h.clock.now().getTime() + 30_000 }));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${base}/account`);
    expect(await sendCount(org.member.id)).toBe(sentBefore);

    // Removing the app brings the SMS back.
    await page.getByRole('button', { name: 'Remove the authenticator app' }).click();
    await page.waitForURL(`${base}/account?done=totp-off`);
    const removed = await h.request('GET', `/v1/users/${org.member.id}`, { key: org.apiKey });
    expect(removed.body.totpEnabled).toBe(false);

    expect(foreign).toEqual([]);
    await context.close();
  });

  it("lets an admin pick the methods and reset a user's second factors", async () => {
    const context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      bypassCSP: true,
    });
    const page = await context.newPage();
    await signInWithSmsCode(page, base, h, org.id, org.admin);

    await page.goto(`${base}/settings/password`);
    await expectAccessible(page, 'password settings with methods');
    await page.getByLabel('Backup codes').uncheck();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.waitForURL(`${base}/settings/password?saved`);
    const saved = await h.request('GET', '/v1/settings/password', { key: org.apiKey });
    expect(saved.body.methods).toEqual(['sms', 'totp']);
    for (const name of ['Text message (SMS)', 'Authenticator app']) {
      await page.getByLabel(name).uncheck();
    }
    await page.getByRole('button', { name: 'Save settings' }).click();
    expect(await page.getByText('Choose at least one way to sign in.').isVisible()).toBe(true);
    const unchanged = await h.request('GET', '/v1/settings/password', { key: org.apiKey });
    expect(unchanged.body.methods).toEqual(['sms', 'totp']);

    await page.goto(`${base}/settings/users?q=${encodeURIComponent(org.member.email)}`);
    await page.getByRole('button', { name: 'Reset second factors' }).click();
    expect(await page.getByText(/Second factors reset/).isVisible()).toBe(true);
    const reset = await h.request('GET', `/v1/users/${org.member.id}`, { key: org.apiKey });
    expect(reset.body).toMatchObject({ phone: null, totpEnabled: false, backupCodesRemaining: 0 });
    await context.close();
  });
});
