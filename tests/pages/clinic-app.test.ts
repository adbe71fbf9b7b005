/**
 * examples/clinic-app end to end: the real API and worker as child processes (console SMS
 * provider, so codes land in the dev inbox), the clinic app as a child process that
 * registers itself with the typed client, and Chromium going clinic login → password →
 * twofa's prompt → the SMS code → back on the clinic, signed in with a verified ID token.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AxeFinding, expectAccessible } from '../support/axe.ts';
import { launchChromium } from '../support/browser.ts';
import {
  ADMIN_KEY,
  freePort,
  isPortClash,
  type ManagedProcess,
  PortClashError,
  spawnManaged,
  startOnFreePort,
  waitHealthy,
  waitUntil,
  withStack,
} from '../support/index.ts';

const stack = withStack({ workers: 1, env: { SMS_PROVIDER: 'console' } });

const CLINIC_PASSWORD = 'clinic-password-1';
const MEMBER = 'member@clinic.example';
const MEMBER_PHONE = '+358401230001';
const NEWCOMER = 'new.nurse@clinic.example';
const NEWCOMER_PHONE = '+358401230002';
const CLINIC_USERS = [MEMBER, NEWCOMER].map((e) => `${e}:${CLINIC_PASSWORD}`).join(',');

interface Clinic extends ManagedProcess {
  url: string;
}

/** `npm start` of the example, as its README runs it: on `port`, or a free one. */
function startClinic(env: Record<string, string>, port?: number): Promise<Clinic> {
  const start = async (p: number) => {
    const url = `http://127.0.0.1:${p}`;
    const proc = spawnManaged(
      `clinic:${p}`,
      process.execPath,
      ['--import', 'tsx', 'examples/clinic-app/src/main.ts'],
      {
        ...process.env,
        PORT: String(p),
        HOST: '127.0.0.1',
        CLINIC_URL: url,
        CLINIC_USERS,
        ...env,
      },
    );
    try {
      await waitHealthy(proc, `${url}/login`, 60_000);
    } catch (error) {
      if (isPortClash(proc)) throw new PortClashError(`clinic: port ${p} taken`);
      throw error;
    }
    return Object.assign(proc, { url });
  };
  return port === undefined ? startOnFreePort(start) : start(port);
}

let org: { id: string; apiKey: string };
let memberId: string;
let clinic: Clinic;
let chromium: Browser;
const lesser: AxeFinding[] = [];

beforeAll(async () => {
  const created = await stack.request('POST', '/v1/organizations', {
    key: ADMIN_KEY,
    body: { name: 'Clinic Org', country: 'FI' },
  });
  org = { id: created.body.id, apiKey: created.body.apiKey };
  const key = org.apiKey;
  expect(
    (
      await stack.request('PATCH', '/v1/settings/password', {
        key,
        body: { twoFactorEnabled: true },
      })
    ).status,
  ).toBe(200);
  expect(
    (
      await stack.request('POST', `/v1/organizations/${org.id}/sms-credits`, {
        key: ADMIN_KEY,
        body: { amount: 50 },
      })
    ).status,
  ).toBe(201);
  const member = await stack.request('POST', '/v1/users', {
    key,
    body: { email: MEMBER, phone: MEMBER_PHONE },
  });
  memberId = member.body.id;
  clinic = await startClinic({ TWOFA_URL: stack.api?.url ?? '', TWOFA_API_KEY: key });
  chromium = await launchChromium();
}, 180_000);

afterAll(async () => {
  if (lesser.length > 0) console.info('axe moderate/minor findings:', JSON.stringify(lesser));
  await chromium?.close();
  await clinic?.kill();
});

/** The dev inbox's messages to a number, newest first, as its page lists them. */
async function inbox(phone: string): Promise<string[]> {
  const res = await fetch(`${stack.api?.url}/dev/sms`);
  const html = await res.text();
  return [
    ...html.matchAll(
      /<li class="sms"[\s\S]*?To <strong>([^<]+)<\/strong>[\s\S]*?<pre data-testid="sms-body">([\s\S]*?)<\/pre>/g,
    ),
  ]
    .filter((m) => m[1] === phone)
    .map((m) => m[2] as string);
}

/** The code of the next message to `phone` after the `seen` there were. */
async function nextCode(phone: string, seen: number): Promise<string> {
  const body = await waitUntil(
    `an SMS to ${phone}`,
    async () => {
      const messages = await inbox(phone);
      return messages.length > seen ? messages[0] : undefined;
    },
    { timeoutMs: 20_000 },
  );
  return /\b(\d{6})\b/.exec(body ?? '')?.[1] ?? '';
}

async function clinicSignIn(page: Page, email: string) {
  await page.goto(`${clinic.url}/login`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(CLINIC_PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function claimsOn(page: Page): Promise<Record<string, any>> {
  return JSON.parse((await page.getByTestId('claims').textContent()) ?? 'null');
}

describe('the clinic app', () => {
  it('registered itself with the typed client at start', async () => {
    const apps = await stack.request('GET', '/v1/apps', { key: org.apiKey });
    expect(apps.body.apps).toEqual([
      expect.objectContaining({
        name: 'Clinic app (example)',
        redirectUris: [`${clinic.url}/callback`],
      }),
    ]);
  });

  it('signs a member in through the prompt with the SMS code, then again without one', async () => {
    const [app] = (await stack.request('GET', '/v1/apps', { key: org.apiKey })).body.apps;
    // axe is injected as an inline script, which the prompt's CSP refuses by design.
    const context = await chromium.newContext({ bypassCSP: true, locale: 'en-US' });
    const page = await context.newPage();
    const seen = (await inbox(MEMBER_PHONE)).length;

    await clinicSignIn(page, MEMBER);
    // Our prompt, on the API's origin: the code step.
    const codeField = page.getByLabel('6-digit code');
    await codeField.waitFor({ timeout: 20_000 });
    expect(new URL(page.url()).origin).toBe(stack.api?.url);
    await expectAccessible(page, 'prompt code step', lesser);
    await codeField.fill(await nextCode(MEMBER_PHONE, seen));
    await page.getByLabel(/trust this device for 30 days/i).check();
    await page.getByRole('button', { name: 'Verify' }).click();

    await page.waitForURL(`${clinic.url}/`);
    expect(await page.getByTestId('email').textContent()).toBe(MEMBER);
    expect(await page.getByTestId('second-step').textContent()).toBe('verified (sms)');
    const claims = await claimsOn(page);
    expect(claims).toMatchObject({
      iss: stack.api?.url,
      aud: app.clientId,
      sub: memberId,
      email: MEMBER,
      amr: ['sms'],
      twofa: { result: 'verified', reason: null },
    });
    expect(claims.exp - claims.iat).toBeLessThanOrEqual(600);

    // Same browser, the device trusted: straight back, no code sent.
    const sent = (await inbox(MEMBER_PHONE)).length;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(`${clinic.url}/login`);
    await clinicSignIn(page, MEMBER);
    await page.waitForURL(`${clinic.url}/`);
    expect(await page.getByTestId('second-step').textContent()).toBe('skipped (trusted_device)');
    const again = await claimsOn(page);
    expect(again).toMatchObject({
      sub: memberId,
      twofa: { result: 'skipped', reason: 'trusted_device' },
    });
    expect(again.amr).toBeUndefined();
    expect(again.nonce).not.toBe(claims.nonce);
    expect((await inbox(MEMBER_PHONE)).length).toBe(sent);
    await context.close();
  }, 120_000);

  it('asks a user twofa has never seen for a phone, then the code', async () => {
    const context = await chromium.newContext();
    const page = await context.newPage();
    await clinicSignIn(page, NEWCOMER);
    const phone = page.getByLabel('Mobile phone number');
    await phone.waitFor({ timeout: 20_000 });
    await phone.fill(NEWCOMER_PHONE);
    await page.getByRole('button', { name: 'Send code' }).click();
    await page.getByLabel('6-digit code').fill(await nextCode(NEWCOMER_PHONE, 0));
    await page.getByRole('button', { name: 'Verify' }).click();
    await page.waitForURL(`${clinic.url}/`);
    expect(await page.getByTestId('second-step').textContent()).toBe('verified (sms)');
    const claims = await claimsOn(page);
    const user = await stack.request('GET', `/v1/users/${claims.sub}`, { key: org.apiKey });
    expect(user.body).toMatchObject({ email: NEWCOMER, phone: NEWCOMER_PHONE });
    await context.close();
  }, 120_000);

  it('lands back on its login page, not signed in, when the person cancels at the prompt', async () => {
    const context = await chromium.newContext();
    const page = await context.newPage();
    await clinicSignIn(page, MEMBER);
    await page.getByLabel('6-digit code').waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(new RegExp(`^${clinic.url}/callback\\?`));
    expect(await page.getByRole('alert').textContent()).toMatch(/^Sign-in stopped: /);
    await page.goto(`${clinic.url}/`);
    expect(page.url()).toBe(`${clinic.url}/login`);
    await context.close();
  }, 120_000);

  it('refuses a callback whose state is not the one it sent', async () => {
    const context = await chromium.newContext();
    const page = await context.newPage();
    await clinicSignIn(page, MEMBER);
    await page.getByLabel('6-digit code').waitFor({ timeout: 20_000 });
    // A forged answer in this browser's own pending sign-in: no session comes of it.
    await page.goto(
      `${clinic.url}/callback?code=forged&state=forged&iss=${encodeURIComponent(stack.api?.url ?? '')}`,
    );
    expect(await page.getByRole('alert').textContent()).toBe(
      'Sign-in could not be completed. Try again.',
    );
    await page.goto(`${clinic.url}/`);
    expect(page.url()).toBe(`${clinic.url}/login`);
    await context.close();
  }, 60_000);
});

describe('the clinic app restarted', () => {
  it('gets a new secret for the same registration, and the prompt opens with it', async () => {
    const [before] = (await stack.request('GET', '/v1/apps', { key: org.apiKey })).body.apps;
    const { port } = new URL(clinic.url);
    await clinic.kill();
    clinic = await startClinic(
      { TWOFA_URL: stack.api?.url ?? '', TWOFA_API_KEY: org.apiKey },
      Number(port),
    );
    const apps = (await stack.request('GET', '/v1/apps', { key: org.apiKey })).body.apps;
    expect(apps.map((a: { id: string }) => a.id)).toEqual([before.id]);
    const audit = await stack.request('GET', '/v1/audit-events', { key: org.apiKey });
    expect(audit.body.events.map((e: { type: string }) => e.type)).toContain('app_secret_rotated');
    // The restarted clinic pushes its request with the new secret: the prompt opens.
    const context = await chromium.newContext();
    const page = await context.newPage();
    await clinicSignIn(page, MEMBER);
    await page.getByLabel('6-digit code').waitFor({ timeout: 20_000 });
    await context.close();
  }, 120_000);
});

describe('when twofa does not answer', () => {
  const down = async (failMode: string) =>
    startClinic({
      TWOFA_URL: `http://127.0.0.1:${await freePort()}`,
      CLIENT_ID: 'app_unreachable',
      CLIENT_SECRET: 'unused',
      TWOFA_FAIL_MODE: failMode,
    });
  const signIn = (url: string, password = CLINIC_PASSWORD) =>
    fetch(`${url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { origin: url, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ email: MEMBER, password }),
    });

  it('fails closed by default: a right password is not enough', async () => {
    const closed = await down('closed');
    try {
      expect((await signIn(closed.url, 'wrong')).status).toBe(401);
      const res = await signIn(closed.url);
      expect(res.status).toBe(503);
      expect(await res.text()).toContain('Sign-in is unavailable right now.');
      expect(res.headers.getSetCookie()).toEqual([]);
    } finally {
      await closed.kill();
    }
  }, 90_000);

  it('fails open when the app chose so, and the session says the step was skipped', async () => {
    const open = await down('open');
    try {
      expect((await signIn(open.url, 'wrong')).status).toBe(401);
      const res = await signIn(open.url);
      expect(res.status).toBe(303);
      const cookie = res.headers.getSetCookie()[0]?.split(';')[0] ?? '';
      const home = await fetch(`${open.url}/`, { headers: { cookie } });
      expect(await home.text()).toContain('skipped: twofa unreachable (fail open)');
    } finally {
      await open.kill();
    }
  }, 90_000);
});
