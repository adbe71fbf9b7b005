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
import { type AxeFinding, axeViolations, expectAccessible } from '../support/axe.ts';
import { launchChromium } from '../support/browser.ts';
import { createHarness, type Harness } from '../support/index.ts';
import { PASSWORD, type PagesOrg, seedPagesOrg, signInInChromium, waitForCode } from './support.ts';

/** Moderate and minor findings of every audited page: printed, not failed on. */
const lesserFindings: AxeFinding[] = [];

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
  if (lesserFindings.length > 0) {
    console.info('axe moderate/minor findings:', JSON.stringify(lesserFindings, null, 2));
  }
  await browser?.close();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await h?.close();
});

/** The id of the element that has the focus (run in the page, which has a DOM; the tests have none). */
const FOCUSED_ID = 'document.activeElement && document.activeElement.id';

/**
 * The page's layout at its width: how wide it scrolls, how table cells show, and how many
 * visible cells are empty or controls stick out past the right edge.
 */
const LAYOUT_PROBE = `(() => {
  const cells = [...document.querySelectorAll('td')];
  return {
    scrollWidth: document.documentElement.scrollWidth,
    width: window.innerWidth,
    tableDisplay: cells.map((td) => getComputedStyle(td).display),
    emptyCells: cells.filter(
      (td) => td.getBoundingClientRect().height > 0 && (td.textContent || '').trim() === '',
    ).length,
    offscreen: [...document.querySelectorAll('button, a, input')].filter((el) => {
      const box = el.getBoundingClientRect();
      return box.width > 0 && box.right > window.innerWidth + 0.5;
    }).length,
  };
})()`;

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
    await signInInChromium(page, base, org.id, org.member.email);
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
    await page.waitForURL(`${base}/login?org=${org.slug}`);
    expect((await context.cookies()).some((c) => c.name === 'twofa_session')).toBe(false);

    // Trusted: straight to the account, no code asked.
    await signInInChromium(page, base, org.id, org.member.email);
    await page.waitForURL(`${base}/account`);
    expect(await page.getByTestId('email').textContent()).toBe(org.member.email);
    // The CSP holds: no inline script or style was refused.
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    await context.close();
  });

  it('lets an admin fix a CIDR list after a bad entry is flagged and nothing saved', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await signInInChromium(page, base, org.id, org.admin.email);
    await page.waitForURL(`${base}/login/code`);
    await page.getByLabel('6-digit code').fill(await codeFromInbox(page, org.admin.id));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${base}/account`);

    await page.getByRole('link', { name: 'Two-factor authentication' }).first().click();
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

  it('the axe check finds what it should: an unlabeled field and a page without lang', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.setContent(
      '<html><head><title>x</title></head><body><input type="text"></body></html>',
    );
    const found = await axeViolations(page, 'a bad page');
    expect(found.map((f) => [f.id, f.impact])).toEqual(
      expect.arrayContaining([
        ['html-has-lang', 'serious'],
        ['label', 'critical'],
      ]),
    );
    await context.close();
  });

  // Many pages and two sign-ins in one browser: more than the default timeout on a loaded machine.
  it('passes axe (no serious or critical violation) on each page a person meets', async () => {
    // axe is injected as an inline script, which the pages' CSP refuses by design.
    const context = await browser.newContext({ bypassCSP: true, locale: 'en-US' });
    const page = await context.newPage();

    await page.goto(`${base}/login`);
    await expectAccessible(page, 'login without organization', lesserFindings);
    await page.getByLabel('Organization', { exact: true }).fill('no-such-clinic');
    await page.getByLabel('Email').fill(org.noPhone.email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(
      /No organization goes by that name/,
    );
    await expectAccessible(page, 'login, unknown organization', lesserFindings);

    await page.goto(`${base}/login?org=${org.id}`);
    await expectAccessible(page, 'login', lesserFindings);
    await page.getByLabel('Email').fill(org.noPhone.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect(await page.getByRole('alert').textContent()).toBe('The email or password is wrong.');
    expect(await page.getByLabel('Password').getAttribute('aria-describedby')).toBe('login-error');
    await expectAccessible(page, 'login, wrong password', lesserFindings);

    await signInInChromium(page, base, org.id, org.noPhone.email);
    await page.waitForURL(`${base}/login/phone`);
    await expectAccessible(page, 'phone step', lesserFindings);
    await page.getByLabel('Mobile phone number').fill('12');
    await page.getByRole('button', { name: 'Send code' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/does not look like a mobile/);
    await expectAccessible(page, 'phone step, invalid number', lesserFindings);
    await page.getByLabel('Mobile phone number').fill('040 111 9998');
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.waitForURL(`${base}/login/code`);
    await expectAccessible(page, 'code step', lesserFindings);
    const code = await codeFromInbox(page, org.noPhone.id);
    await page.getByLabel('6-digit code').fill(code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Verify' }).click();
    expect(await page.getByRole('alert').textContent()).toMatch(/That code is wrong\. 4 attempts/);
    await expectAccessible(page, 'code step, wrong code', lesserFindings);
    await page.getByLabel('6-digit code').fill(code);
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${base}/account`);
    await expectAccessible(page, 'account', lesserFindings);
    // A member opening the settings: the 403 page.
    const forbidden = await page.goto(`${base}/settings/password`);
    expect(forbidden?.status()).toBe(403);
    await expectAccessible(page, 'settings, forbidden to a member', lesserFindings);

    const admin = await browser.newContext({ bypassCSP: true });
    const adminPage = await admin.newPage();
    await signInInChromium(adminPage, base, org.id, org.admin.email);
    await adminPage.waitForURL(`${base}/login/code`);
    await adminPage.getByLabel('6-digit code').fill(await codeFromInbox(adminPage, org.admin.id));
    await adminPage.getByRole('button', { name: 'Verify' }).click();
    await adminPage.waitForURL(`${base}/account`);
    await adminPage.goto(`${base}/settings/password`);
    await expectAccessible(adminPage, 'password settings', lesserFindings);
    await adminPage.getByLabel('Networks that skip the code').fill('10.1.0.0/16\nnot-a-block\n');
    await adminPage.getByLabel('Countries that codes may be sent to').fill('FI, Finland');
    await adminPage.getByRole('button', { name: 'Save settings' }).click();
    expect(await adminPage.getByText(/Nothing was saved/).isVisible()).toBe(true);
    await expectAccessible(adminPage, 'password settings, bad entries', lesserFindings);
    for (const path of ['/settings/users', '/settings/subscription', '/settings/audit']) {
      await adminPage.goto(`${base}${path}`);
      await expectAccessible(adminPage, path, lesserFindings);
    }

    // A sign-in left until its code expires: the closed page.
    await context.clearCookies();
    await signInInChromium(page, base, org.id, org.admin.email);
    await page.waitForURL(`${base}/login/code`);
    await h.travel(11 * 60_000);
    await page.reload();
    expect(await page.getByRole('alert').textContent()).toMatch(/expired/);
    await expectAccessible(page, 'sign-in stopped (expired)', lesserFindings);
    await admin.close();
    await context.close();
  }, 90_000);

  it('puts the focus on the email first, and on the password after a wrong one', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${base}/login?org=${org.slug}`);
    // Chromium applies autofocus at its next rendering step, which can come after `load`.
    await expect.poll(() => page.evaluate(FOCUSED_ID)).toBe('email');
    await page.getByLabel('Email').fill(org.member.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    await expect.poll(() => page.evaluate(FOCUSED_ID)).toBe('password');
    expect(await page.getByLabel('Email').inputValue()).toBe(org.member.email);
    await context.close();
  });

  it('counts the resend wait down with its script, holding the button until it is over', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await signInInChromium(page, base, org.id, org.admin.email);
    await page.waitForURL(`${base}/login/code`);
    await waitForCode(h, org.admin.id);
    // Three seconds left: the script holds the button and ticks the words down to "now".
    await h.travel(27_000);
    await page.reload();
    const resend = page.getByRole('button', { name: 'Resend code' });
    expect(await resend.isDisabled()).toBe(true);
    expect(await page.getByTestId('resend-wait').textContent()).toMatch(
      /^You can ask for another code in [1-3] seconds?\.$/,
    );
    // The button comes back when the count reaches zero.
    await page.locator('#resend:not([disabled])').waitFor({ timeout: 15_000 });
    expect(await page.getByTestId('resend-wait').textContent()).toBe(
      'You can ask for another code now.',
    );
    expect(await page.locator('#resend-live').textContent()).toBe(
      'You can ask for another code now.',
    );
    await resend.click();
    await page.waitForURL(`${base}/login/code?resent`);
    expect(await page.getByText('We sent you a new code.').isVisible()).toBe(true);
    // The CSP allowed the script: nothing was refused.
    expect(errors.filter((e) => /Content Security Policy/i.test(e))).toEqual([]);
    await context.close();
  });

  it('says the resend wait as text without JavaScript, and answers an early click on the code step', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await signInInChromium(page, base, org.id, org.admin.email);
    await page.waitForURL(`${base}/login/code`);
    expect(await page.getByTestId('resend-wait').textContent()).toMatch(
      /^You can ask for another code in \d+ seconds\.$/,
    );
    await page.getByRole('button', { name: 'Resend code' }).click();
    await page.waitForURL(/\/login\/code\?refused=resend_too_soon&wait=\d+$/);
    expect(page.url()).not.toContain('/login/resend');
    expect(await page.getByRole('alert').textContent()).toMatch(
      /^Please wait \d+ seconds before asking for another code\.$/,
    );
    await context.close();
  });

  it('lays the admin pages out at 1280 px on one line each, and as cards without sideways scroll at 375 px', async () => {
    const wide = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await wide.newPage();
    await signInInChromium(page, base, org.id, org.admin.email);
    await page.waitForURL(`${base}/login/code`);
    await page.getByLabel('6-digit code').fill(await codeFromInbox(page, org.admin.id));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${base}/account`);
    await page.goto(`${base}/settings/users`);
    const search = await page.locator('#q').boundingBox();
    const button = await page.getByRole('button', { name: 'Search', exact: true }).boundingBox();
    // The button sits beside the field, not under it.
    expect(button && search && Math.abs(button.y - search.y)).toBeLessThan(search?.height ?? 0);
    expect((button?.x ?? 0) > (search?.x ?? 0) + (search?.width ?? 0) - 1).toBe(true);
    // No action button's words wrap: each is one line high.
    const heights = await page
      .locator('td.actions button')
      .evaluateAll((buttons) => buttons.map((b) => b.getBoundingClientRect().height));
    expect(heights.length).toBeGreaterThan(3);
    expect(Math.max(...heights) - Math.min(...heights)).toBeLessThan(2);
    for (const path of ['/settings/users', '/settings/audit', '/settings/password']) {
      await page.goto(`${base}${path}`);
      const name = path.split('/').at(-1);
      await page.screenshot({ path: `${SCREENSHOTS}${name}-1280.png` });
    }

    const narrow = await browser.newContext({ viewport: { width: 375, height: 740 } });
    await narrow.addCookies(await wide.cookies());
    const phone = await narrow.newPage();
    for (const path of [
      '/settings/users',
      '/settings/audit',
      '/settings/subscription',
      '/settings/password',
      '/account',
      `/help?org=${org.slug}`,
    ]) {
      await phone.goto(`${base}${path}`);
      const layout = (await phone.evaluate(LAYOUT_PROBE)) as {
        scrollWidth: number;
        width: number;
        tableDisplay: string[];
        emptyCells: number;
        offscreen: number;
      };
      expect(layout.scrollWidth, path).toBeLessThanOrEqual(layout.width);
      expect(layout.offscreen, path).toBe(0);
      expect(layout.emptyCells, path).toBe(0);
      expect(new Set(layout.tableDisplay).has('table-cell'), path).toBe(false);
      const name = path.replace(/\?.*$/, '').split('/').at(-1);
      await phone.screenshot({ path: `${SCREENSHOTS}${name}-375.png` });
    }
    await narrow.close();
    await wide.close();
  });

  it('passes axe on the new states: help, the wait, who to call, the credit warning and the balance banner', async () => {
    const context = await browser.newContext({ bypassCSP: true });
    const page = await context.newPage();
    await page.goto(`${base}/help?org=${org.slug}`);
    await expectAccessible(page, 'help', lesserFindings);
    await page.screenshot({ path: `${SCREENSHOTS}help-1280.png` });

    // A new organization: 2FA off, no credit; its admin turns 2FA on.
    const fresh = await h.createOrganization({ name: 'Fresh Paws', country: 'FI' });
    const adminEmail = `admin-${fresh.id.slice(0, 8)}@example.com`;
    const memberEmail = `member-${fresh.id.slice(0, 8)}@example.com`;
    await h.createUser(fresh.apiKey, {
      email: adminEmail,
      password: PASSWORD,
      phone: '+358401230001',
      role: 'admin',
    });
    await h.createUser(fresh.apiKey, {
      email: memberEmail,
      password: PASSWORD,
      phone: '+358401230002',
    });
    await signInInChromium(page, base, fresh.id, adminEmail);
    await page.waitForURL(`${base}/account`);
    await page.goto(`${base}/settings/password`);
    expect(await page.getByTestId('no-credit-warning').isVisible()).toBe(true);
    await expectAccessible(page, 'settings, no credit warning', lesserFindings);
    await page.getByLabel('Ask for a code by SMS after the password').check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    expect(await page.getByText(/needs your confirmation below/).isVisible()).toBe(true);
    await expectAccessible(page, 'settings, confirmation needed', lesserFindings);
    await page.screenshot({ path: `${SCREENSHOTS}settings-no-credit-1280.png`, fullPage: true });
    await page.getByLabel(/Turn it on anyway/).check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.waitForURL(`${base}/settings/password?saved`);
    h.clock.advance(3_000);
    await page.goto(`${base}/settings/users`);
    expect(await page.getByTestId('balance-banner').textContent()).toMatch(/^Out of SMS credit/);
    await expectAccessible(page, 'users, balance banner', lesserFindings);
    await page.goto(`${base}/settings/audit`);
    await expectAccessible(page, 'audit log in words', lesserFindings);

    // The member is stopped: who to call.
    const member = await browser.newContext({ bypassCSP: true });
    const memberPage = await member.newPage();
    await signInInChromium(memberPage, base, fresh.id, memberEmail);
    await memberPage.waitForURL(`${base}/login/code`);
    await h.waitFor(async () => {
      await memberPage.reload();
      return (await memberPage.getByRole('heading', { name: 'Sign-in stopped' }).count()) > 0;
    });
    expect(await memberPage.getByRole('link', { name: adminEmail }).getAttribute('href')).toBe(
      `mailto:${adminEmail}`,
    );
    await expectAccessible(memberPage, 'sign-in stopped, who to call', lesserFindings);
    await memberPage.screenshot({ path: `${SCREENSHOTS}stopped-375.png` });

    // The code step with a refused resend and the wait beside the button.
    await context.clearCookies();
    await signInInChromium(page, base, org.id, org.admin.email);
    await page.waitForURL(`${base}/login/code`);
    // Clicked before the script's countdown ends, as a page without the script allows.
    await page.evaluate('document.getElementById("resend").disabled = false');
    await page.getByRole('button', { name: 'Resend code' }).click();
    await page.waitForURL(/refused=resend_too_soon/);
    await expectAccessible(page, 'code step, resend refused', lesserFindings);
    await member.close();
    await context.close();
  }, 90_000);

  it('shows the bare login page in the Accept-Language language, an organization page in its locale', async () => {
    const context = await browser.newContext({ locale: 'fi-FI' });
    const page = await context.newPage();
    await page.goto(`${base}/login`);
    expect(await page.locator('html').getAttribute('lang')).toBe('fi');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Kirjaudu sisään');
    expect(await page.getByLabel('Sähköposti').isVisible()).toBe(true);
    // The organization's locale (en) wins once the page knows the organization.
    await page.goto(`${base}/login?org=${org.id}`);
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    await context.close();
  });
});
