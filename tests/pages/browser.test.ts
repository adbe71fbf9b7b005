/**
 * The pages in a real browser: Debian's Chromium driven by playwright-core,
 * against the in-process API (listening on a real port) and worker with the
 * console provider, Postgres and Redis.
 */
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { createHarness, type Harness } from '../support/index.ts';
import { PASSWORD, type PagesOrg, seedPagesOrg, waitForCode } from './support.ts';

/** Git-ignored (see .gitignore): screenshots to look at, not to commit. */
const SCREENSHOTS = fileURLToPath(new URL('../../test-output/pages/', import.meta.url));

let h: Harness;
let org: PagesOrg;
let browser: Browser;
let server: ReturnType<typeof serve>;
let base: string;

beforeAll(async () => {
  h = await createHarness({ env: { SMS_PROVIDER: 'console' } });
  org = await seedPagesOrg(h);
  await new Promise<void>((resolve) => {
    server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      base = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await h?.close();
});

/** Email and password on the login page, submitted like a person would. */
async function signIn(page: Page, organizationId: string, email: string) {
  await page.goto(`${base}/login?org=${organizationId}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** The latest code of the user, read on the dev inbox page in its own tab. */
async function codeFromInbox(page: Page, userId: string): Promise<string> {
  const expected = await waitForCode(h, userId);
  const inbox = await page.context().newPage();
  await inbox.goto(`${base}/dev/sms`);
  const text = (await inbox.locator('pre[data-testid="sms-body"]').first().textContent()) ?? '';
  await inbox.close();
  const code = /\b(\d{6})\b/.exec(text)?.[1];
  // The newest message on the page is the one the worker just sent.
  expect(code).toBe(expected);
  return code as string;
}

describe('in a real browser', () => {
  it('logs a member in with the code from the inbox, trusts the device, and skips the code next time', async () => {
    const context = await browser.newContext({ viewport: { width: 375, height: 740 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });

    await page.goto(`${base}/login?org=${org.id}`);
    await page.screenshot({ path: `${SCREENSHOTS}login-375.png`, fullPage: true });
    await signIn(page, org.id, org.member.email);
    await page.waitForURL(`${base}/login/code`);
    expect(await page.getByText(/we sent to \+35840\*{5}\d\d/).isVisible()).toBe(true);
    await page.screenshot({ path: `${SCREENSHOTS}code-375.png`, fullPage: true });

    const code = await codeFromInbox(page, org.member.id);
    await page.getByLabel('6-digit code').fill(code);
    await page.getByLabel(/trust this device for 30 days/i).check();
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${base}/account`);
    expect(await page.getByTestId('email').textContent()).toBe(org.member.email);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'twofa_session');
    expect(session?.httpOnly).toBe(true);
    expect(session?.sameSite).toBe('Lax');
    expect(cookies.find((c) => c.name === 'twofa_device')?.httpOnly).toBe(true);

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${base}/login?org=${org.id}`);
    expect((await context.cookies()).some((c) => c.name === 'twofa_session')).toBe(false);

    // Trusted: straight to the account, no code asked.
    await signIn(page, org.id, org.member.email);
    await page.waitForURL(`${base}/account`);
    expect(await page.getByTestId('email').textContent()).toBe(org.member.email);
    // The CSP holds: no inline script or style was refused.
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    await context.close();
  });

  it('lets an admin fix a CIDR list after a bad entry is flagged and nothing saved', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signIn(page, org.id, org.admin.email);
    await page.waitForURL(`${base}/login/code`);
    await page.getByLabel('6-digit code').fill(await codeFromInbox(page, org.admin.id));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${base}/account`);

    await page.getByRole('link', { name: 'Password settings' }).first().click();
    await page.waitForURL(`${base}/settings/password`);
    const cidrs = page.getByLabel('Networks that skip the code');
    await cidrs.fill('10.20.0.0/16\n10.30.0.1\n');
    await page.getByRole('button', { name: 'Save settings' }).click();
    expect(await page.getByText(/Nothing was saved/).isVisible()).toBe(true);
    expect(await page.locator('#skipTwoFactorCidrs-errors li').allInnerTexts()).toEqual([
      expect.stringContaining('Line 2: 10.30.0.1 is not a CIDR block'),
    ]);
    expect(await cidrs.getAttribute('aria-invalid')).toBe('true');
    const unchanged = await h.request('GET', '/v1/settings/password', { key: org.apiKey });
    expect(unchanged.body.skipTwoFactorCidrs).toEqual([]);
    await page.screenshot({ path: `${SCREENSHOTS}settings-cidr-error.png`, fullPage: true });

    await cidrs.fill('10.20.0.0/16\n10.30.0.0/24\n');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.waitForURL(`${base}/settings/password?saved`);
    expect(await page.getByText('Settings saved.').isVisible()).toBe(true);
    const saved = await h.request('GET', '/v1/settings/password', { key: org.apiKey });
    expect(saved.body.skipTwoFactorCidrs).toEqual(['10.20.0.0/16', '10.30.0.0/24']);
    expect(await cidrs.inputValue()).toBe('10.20.0.0/16\n10.30.0.0/24');
    await context.close();
  });
});
