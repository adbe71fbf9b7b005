/**
 * Attacks: a sibling subdomain (or a man in the middle on plain http) plants a
 * session, browser or challenge cookie for our host; or a browser cookie
 * planted before login (session fixation) is still the one after it. Controls:
 * outside development the cookies carry the `__Host-` prefix (Secure, Path=/,
 * no Domain: a browser accepts them only from this very host over https, and
 * the server reads only the prefixed names); the pre-login browser cookie is
 * replaced when the password is accepted and again when the session starts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, PASSWORD } from '../pages/support.ts';
import { createHarness, type Harness } from '../support/index.ts';
import { finnishMobile } from './support.ts';

const PLANTED_BROWSER = `tfb_${'A'.repeat(43)}`;

function cookieLine(lines: string[], name: string): string | undefined {
  return lines.find((line) => line.startsWith(`${name}=`));
}

async function seed(h: Harness, twoFactor: boolean) {
  const org = await h.createOrganization({ name: 'Cookie Clinic', country: 'FI' });
  await h.topUp(org.id, 20);
  if (twoFactor) await h.enableTwoFactor(org.apiKey);
  const phone = finnishMobile();
  const email = `staff-${org.id.slice(0, 8)}@example.com`;
  const user = await h.createUser(org.apiKey, { email, password: PASSWORD, phone });
  return { org, email, phone, userId: user.id };
}

describe('outside development: __Host- cookies', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ env: { NODE_ENV: 'production' } });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('names every page cookie __Host-, Secure, Path=/, without Domain, and reads only those', async () => {
    const { org, email, phone } = await seed(h, true);
    const b = new Browser(h);
    const form = await b.get(`/login?org=${org.id}`);
    const browser = cookieLine(form.setCookies, '__Host-twofa_browser');
    expect(browser, form.setCookies.join('\n')).toBeDefined();
    expect(cookieLine(form.setCookies, 'twofa_browser')).toBeUndefined();

    const start = await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email,
      password: PASSWORD,
    });
    expect(start.status).toBe(303);
    expect(start.location).toBe('/login/code');
    const challenge = cookieLine(start.setCookies, '__Host-twofa_challenge');
    expect(challenge, start.setCookies.join('\n')).toBeDefined();

    const code = await h.waitFor(async () => h.lastCodeFor(phone));
    const done = await b.submit('/login/code', '/login/code', { code, trustDevice: 'on' });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/account');
    const session = cookieLine(done.setCookies, '__Host-twofa_session');
    const device = cookieLine(done.setCookies, '__Host-twofa_device');
    for (const line of [browser, challenge, session, device]) {
      expect(line).toBeDefined();
      expect(line).toMatch(/;\s*Secure/i);
      expect(line).toMatch(/;\s*Path=\/(;|$)/i);
      expect(line).not.toMatch(/Domain=/i);
      expect(line).toMatch(/HttpOnly/i);
      expect(line).toMatch(/SameSite=Lax/i);
    }
    expect((await b.get('/account')).status).toBe(200);

    // The same token under the plain name, as a sibling subdomain could set it, is not read.
    const token = b.cookies.get('__Host-twofa_session') as string;
    const planted = new Browser(h);
    planted.cookies.set('twofa_session', token);
    const res = await planted.get('/account');
    expect(res.status).toBe(303);
    expect(res.location).toBe('/login');
  });
});

describe('in test (plain http): plain names, and a fresh browser cookie at login', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('keeps the plain names without Secure', async () => {
    const { org } = await seed(h, true);
    const form = await new Browser(h).get(`/login?org=${org.id}`);
    const line = cookieLine(form.setCookies, 'twofa_browser');
    expect(line).toBeDefined();
    expect(line).not.toMatch(/Secure/i);
  });

  it('replaces a browser cookie planted before login, at the password and at the session', async () => {
    const { org, email, phone } = await seed(h, true);
    const b = new Browser(h);
    b.cookies.set('twofa_browser', PLANTED_BROWSER);
    // The planted value is well formed, so the login form binds its CSRF token to it.
    const start = await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email,
      password: PASSWORD,
    });
    expect(start.status).toBe(303);
    expect(start.location).toBe('/login/code');
    const afterPassword = b.cookies.get('twofa_browser');
    expect(afterPassword).toMatch(/^tfb_[\w-]{43}$/);
    expect(afterPassword).not.toBe(PLANTED_BROWSER);
    // The code step works under the fresh one (the pending challenge is bound to it) ...
    const code = await h.waitFor(async () => h.lastCodeFor(phone));
    const done = await b.submit('/login/code', '/login/code', { code });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/account');
    const afterLogin = b.cookies.get('twofa_browser');
    expect(afterLogin).not.toBe(PLANTED_BROWSER);
    expect(afterLogin).not.toBe(afterPassword);
    // ... and whoever planted the old one holds nothing: not the challenge, not the session.
    const attacker = new Browser(h);
    attacker.cookies.set('twofa_browser', PLANTED_BROWSER);
    attacker.cookies.set('twofa_challenge', b.cookies.get('twofa_challenge') ?? '');
    expect((await attacker.get('/login/code')).status).toBe(303);
  });

  it('replaces it when a right password logs in at once (no second step)', async () => {
    const { org, email } = await seed(h, false);
    const b = new Browser(h);
    b.cookies.set('twofa_browser', PLANTED_BROWSER);
    const done = await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email,
      password: PASSWORD,
    });
    expect(done.status).toBe(303);
    expect(done.location).toBe('/account');
    expect(b.cookies.get('twofa_browser')).not.toBe(PLANTED_BROWSER);
  });
});
