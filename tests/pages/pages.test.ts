import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/index.ts';
import {
  Browser,
  csrfOf,
  inboxMessages,
  inputTag,
  PASSWORD,
  type PagesOrg,
  seedPagesOrg,
  waitForCode,
} from './support.ts';

let h: Harness;
let org: PagesOrg;

beforeAll(async () => {
  h = await createHarness({
    env: { SMS_PROVIDER: 'console', PUBLIC_BASE_URL: 'https://login.example.com' },
  });
  org = await seedPagesOrg(h);
});
afterAll(async () => {
  await h?.close();
});

async function loginToCodeStep(b: Browser, email: string) {
  const res = await b.submit(`/login?org=${org.id}`, '/login', {
    org: org.id,
    email,
    password: PASSWORD,
  });
  expect(res.status).toBe(303);
  return res;
}

/** Logs a browser in all the way, reading the code from the dev inbox. */
async function logIn(b: Browser, email: string, userId: string, trustDevice = false) {
  const res = await loginToCodeStep(b, email);
  expect(res.location).toBe('/login/code');
  const code = await waitForCode(h, userId);
  const verify = await b.submit('/login/code', '/login/code', {
    code,
    ...(trustDevice ? { trustDevice: 'on' } : {}),
  });
  expect(verify.status).toBe(303);
  expect(verify.location).toBe('/account');
  return verify;
}

describe('login page', () => {
  it('has the contract field names, a CSRF token and the security headers', async () => {
    const b = new Browser(h);
    const res = await b.get(`/login?org=${org.id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.html).toMatch(/^<!doctype html>/);
    expect(res.html).toContain('name="viewport"');
    expect(inputTag(res.html, 'email')).toContain('type="email"');
    expect(inputTag(res.html, 'email')).toContain('autocomplete="username"');
    expect(inputTag(res.html, 'password')).toContain('autocomplete="current-password"');
    expect(inputTag(res.html, 'org')).toContain('type="hidden"');
    // Every input has a label.
    expect(res.html).toContain('for="email"');
    expect(res.html).toContain('for="password"');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(res.html).not.toMatch(/<script|style="/);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBeTruthy();
    // The stylesheet is our own, from this app.
    expect(res.html).toContain('href="/pages/style.css"');
    const css = await h.app.request('/pages/style.css');
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('asks for the organization when the link has none', async () => {
    const res = await new Browser(h).get('/login');
    expect(res.status).toBe(200);
    const tag = inputTag(res.html, 'org');
    expect(tag).not.toContain('type="hidden"');
    expect(res.html).toContain('for="org"');
  });

  it('refuses a POST without the right CSRF token and changes nothing', async () => {
    const b = new Browser(h);
    await b.get(`/login?org=${org.id}`);
    const fields = { org: org.id, email: org.member.email, password: PASSWORD };
    const none = await b.post('/login', fields);
    expect(none.status).toBe(403);
    const wrong = await b.post('/login', { ...fields, csrf: 'x'.repeat(43) });
    expect(wrong.status).toBe(403);
    // Another browser's token does not work here either.
    const other = new Browser(h);
    const otherToken = csrfOf((await other.get(`/login?org=${org.id}`)).html);
    expect((await b.post('/login', { ...fields, csrf: otherToken })).status).toBe(403);
    const [row] =
      await h.sql`select count(*)::int as n from challenges where user_id = ${org.member.id}`;
    expect(row?.n).toBe(0);
  });

  it('answers a wrong email and a wrong password alike', async () => {
    const b = new Browser(h);
    const wrongPassword = await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email: org.member.email,
      password: 'wrong password!',
    });
    const wrongEmail = await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email: org.member.email.replace('member', 'nobody'),
      password: 'wrong password!',
    });
    expect(wrongPassword.status).toBe(401);
    expect(wrongEmail.status).toBe(401);
    const message = (html: string) => /<div class="notice error"[^>]*>([^<]*)</.exec(html)?.[1];
    expect(message(wrongPassword.html)).toBe('The email or password is wrong.');
    expect(message(wrongEmail.html)).toBe(message(wrongPassword.html));
  });
});

describe('the code step', () => {
  it('logs in with the code, sets HttpOnly SameSite=Lax cookies, trusts the device and logs out', async () => {
    const b = new Browser(h);
    await loginToCodeStep(b, org.member.email);
    const page = await b.get('/login/code');
    expect(page.status).toBe(200);
    const code = inputTag(page.html, 'code');
    expect(code).toContain('autocomplete="one-time-code"');
    expect(code).toContain('inputmode="numeric"');
    expect(inputTag(page.html, 'trustDevice')).toContain('type="checkbox"');
    expect(page.html).toMatch(/trust this device for 30 days/i);
    expect(page.html).toContain(org.member.phone.slice(0, 6));
    expect(page.html).toContain('*****');
    expect(page.html).toContain('action="/login/resend"');

    const digits = await waitForCode(h, org.member.id);
    const sms = (await inboxMessages(h)).find((m) => m.body.includes(digits));
    expect(sms?.to).toBe(org.member.phone);
    // The origin-bound line (WebOTP) ends the message.
    expect(sms?.body.split('\n').at(-1)).toBe(`@login.example.com #${digits}`);

    // A wrong code shows the attempts left.
    const wrong = await b.submit('/login/code', '/login/code', {
      code: digits === '000000' ? '111111' : '000000',
    });
    expect(wrong.status).toBe(422);
    expect(wrong.html).toContain('4 attempts left');

    const ok = await b.submit('/login/code', '/login/code', { code: digits, trustDevice: 'on' });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe('/account');
    const session = ok.setCookies.find((c) => c.startsWith('twofa_session='));
    const device = ok.setCookies.find((c) => c.startsWith('twofa_device='));
    for (const cookie of [session, device]) {
      expect(cookie).toMatch(/HttpOnly/i);
      expect(cookie).toMatch(/SameSite=Lax/i);
      // NODE_ENV=test: not Secure, so plain http://localhost works.
      expect(cookie).not.toMatch(/Secure/i);
    }
    // 30 days, give or take the second the request took.
    expect(Number(/Max-Age=(\d+)/.exec(device ?? '')?.[1])).toBeGreaterThan(2592000 - 60);
    // Only the hash of the session token is stored.
    const token = b.cookies.get('twofa_session') as string;
    const rows = await h.sql`select token_hash from web_sessions where user_id = ${org.member.id}`;
    expect(rows.length).toBe(1);
    expect(rows[0]?.token_hash).not.toContain(token);

    const account = await b.get('/account');
    expect(account.status).toBe(200);
    expect(account.html).toContain(org.member.email);
    // A member has no settings.
    expect((await b.get('/settings/password')).status).toBe(403);

    // Log-out needs its CSRF token, and then revokes the session.
    expect((await b.post('/logout', {})).status).toBe(403);
    expect((await b.get('/account')).status).toBe(200);
    const out = await b.submit('/account', '/logout', {});
    expect(out.status).toBe(303);
    const [revoked] =
      await h.sql`select revoked_at from web_sessions where user_id = ${org.member.id}`;
    expect(revoked?.revoked_at).not.toBeNull();
    b.cookies.set('twofa_session', token);
    const after = await b.get('/account');
    expect(after.status).toBe(303);
    expect(after.location).toBe('/login');

    // The trusted device skips the code next time.
    const again = await b.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email: org.member.email,
      password: PASSWORD,
    });
    expect(again.status).toBe(303);
    expect(again.location).toBe('/account');
  });

  it('honours the resend cooldown and shows the wait', async () => {
    const b = new Browser(h);
    await loginToCodeStep(b, org.admin.email);
    const res = await b.submit('/login/code', '/login/resend', {});
    expect(res.status).toBe(429);
    expect(res.html).toMatch(/wait \d+ seconds/);
    await h.travel(31_000);
    const later = await b.submit('/login/code', '/login/resend', {});
    expect(later.status).toBe(303);
    expect(later.location).toBe('/login/code?resent');
  });

  it('says a locked challenge is locked and offers a fresh start', async () => {
    const b = new Browser(h);
    await loginToCodeStep(b, org.admin.email);
    let last = await b.get('/login/code');
    for (let i = 0; i < 5; i++) {
      last = await b.post('/login/code', { csrf: csrfOf(last.html), code: '999999x'.slice(0, 6) });
      if (last.status !== 422) break;
    }
    expect(last.status).toBe(423);
    expect(last.html).toMatch(/locked/i);
    expect(last.html).toContain(`href="/login?org=${org.id}"`);
  });

  it('says an expired challenge has expired', async () => {
    const b = new Browser(h);
    await loginToCodeStep(b, org.admin.email);
    await h.travel(11 * 60_000);
    const page = await b.get('/login/code');
    expect(page.status).toBe(409);
    expect(page.html).toMatch(/expired/i);
    expect(page.html).toContain(`href="/login?org=${org.id}"`);
  });

  it('keeps the challenge bound to the browser that started it', async () => {
    const a = new Browser(h);
    await loginToCodeStep(a, org.admin.email);
    const thief = new Browser(h);
    await thief.get(`/login?org=${org.id}`);
    thief.cookies.set('twofa_challenge', a.cookies.get('twofa_challenge') as string);
    const res = await thief.get('/login/code');
    expect(res.status).toBe(303);
    expect(res.location).toBe('/login');
  });
});

describe('the phone step', () => {
  it('asks a user without a phone for one, then the code', async () => {
    const b = new Browser(h);
    const res = await loginToCodeStep(b, org.noPhone.email);
    expect(res.location).toBe('/login/phone');
    const page = await b.get('/login/phone');
    const phone = inputTag(page.html, 'phone');
    expect(phone).toContain('type="tel"');
    expect(phone).toContain('autocomplete="tel"');
    const bad = await b.post('/login/phone', { csrf: csrfOf(page.html), phone: '12' });
    expect(bad.status).toBe(422);
    // Over the API's 64 characters: refused, not cut down to the number it starts with.
    const long = await b.post('/login/phone', {
      csrf: csrfOf(page.html),
      phone: `040 111 9999${' '.repeat(60)}5`,
    });
    expect(long.status).toBe(422);
    expect(long.html).toContain('name="phone"');
    const ok = await b.submit('/login/phone', '/login/phone', { phone: '040 111 9999' });
    expect(ok.status).toBe(303);
    expect(ok.location).toBe('/login/code');
    const code = await waitForCode(h, org.noPhone.id);
    expect((await inboxMessages(h))[0]?.to).toBe('+358401119999');
    const done = await b.submit('/login/code', '/login/code', { code });
    expect(done.location).toBe('/account');
  });
});

describe('admin pages', () => {
  let admin: Browser;
  beforeAll(async () => {
    admin = new Browser(h);
    await logIn(admin, org.admin.email, org.admin.id);
  });

  it('redirects a logged-out browser to /login', async () => {
    for (const path of [
      '/settings/password',
      '/settings/users',
      '/settings/subscription',
      '/settings/audit',
      '/account',
    ]) {
      const res = await new Browser(h).get(path);
      expect(res.status, path).toBe(303);
      expect(res.location, path).toBe('/login');
    }
  });

  it('answers a member with 403', async () => {
    const member = new Browser(h);
    await logIn(member, org.member.email, org.member.id);
    for (const path of [
      '/settings/password',
      '/settings/users',
      '/settings/subscription',
      '/settings/audit',
    ]) {
      expect((await member.get(path)).status, path).toBe(403);
    }
    const settings = await admin.get('/settings/password');
    const post = await member.post('/settings/password', {
      csrf: csrfOf(settings.html),
      skipTwoFactorCidrs: '10.0.0.0/8',
    });
    expect(post.status).toBe(403);
  });

  it('flags each bad CIDR entry and saves nothing, then saves the fixed list', async () => {
    const page = await admin.get('/settings/password');
    expect(page.status).toBe(200);
    expect(inputTag(page.html, 'twoFactorEnabled')).toContain('type="checkbox"');
    expect(inputTag(page.html, 'twoFactorEnabled')).toContain('checked');
    expect(page.html).toContain('name="skipTwoFactorCidrs"');
    expect(page.html).toContain('name="smsAllowedCountries"');
    // Without the CSRF token nothing changes.
    const forged = await admin.post('/settings/password', {
      twoFactorEnabled: 'on',
      skipTwoFactorCidrs: '10.0.0.0/8',
    });
    expect(forged.status).toBe(403);

    const bad = await admin.post('/settings/password', {
      csrf: csrfOf(page.html),
      twoFactorEnabled: 'on',
      skipTwoFactorCidrs: '192.168.10.7/24\n10.0.0.1\n2001:DB8::/48\nnonsense/99',
      smsAllowedCountries: 'FI, SE',
    });
    expect(bad.status).toBe(422);
    expect(bad.html).toContain('Line 2: <code>10.0.0.1</code>');
    expect(bad.html).toContain('Line 4: <code>nonsense/99</code>');
    expect(bad.html).not.toContain('Line 1:');
    expect(bad.html).toContain('aria-invalid="true"');
    const unchanged = await h.request('GET', '/v1/settings/password', { key: org.apiKey });
    expect(unchanged.body.skipTwoFactorCidrs).toEqual([]);
    expect(unchanged.body.smsAllowedCountries).toEqual(['FI']);

    // ZZ is two letters but no country: refused as the API refuses it, nothing saved.
    const unassigned = await admin.post('/settings/password', {
      csrf: csrfOf(bad.html),
      twoFactorEnabled: 'on',
      skipTwoFactorCidrs: '',
      smsAllowedCountries: 'FI, ZZ',
    });
    expect(unassigned.status).toBe(422);
    expect(unassigned.html).toContain('ZZ');
    const stillUnchanged = await h.request('GET', '/v1/settings/password', { key: org.apiKey });
    expect(stillUnchanged.body.smsAllowedCountries).toEqual(['FI']);

    const good = await admin.post('/settings/password', {
      csrf: csrfOf(bad.html),
      twoFactorEnabled: 'on',
      skipTwoFactorCidrs: '192.168.10.7/24\n2001:DB8::/48\n',
      smsAllowedCountries: 'fi, se',
    });
    expect(good.status).toBe(303);
    const saved = await h.request('GET', '/v1/settings/password', { key: org.apiKey });
    expect(saved.body.skipTwoFactorCidrs).toEqual(['192.168.10.0/24', '2001:db8::/48']);
    expect(saved.body.smsAllowedCountries).toEqual(['FI', 'SE']);
    expect(saved.body.twoFactorEnabled).toBe(true);
    const audit = await h.request('GET', '/v1/audit-events', { key: org.apiKey });
    const change = audit.body.events.find((e: { type: string }) => e.type === 'settings_changed');
    expect(change.actor).toBe(`admin:${org.admin.id}`);
  });

  it('shows 2FA as unavailable, and why, when the organization signs in with SAML2', async () => {
    const other = await seedPagesOrg(h, 'Saml Clinic');
    const b = new Browser(h);
    const start = await b.submit(`/login?org=${other.id}`, '/login', {
      org: other.id,
      email: other.admin.email,
      password: PASSWORD,
    });
    expect(start.location).toBe('/login/code');
    const code = await waitForCode(h, other.admin.id);
    await b.submit('/login/code', '/login/code', { code });
    await h.request('PATCH', `/v1/organizations/${other.id}`, {
      key: 'test-platform-key-0123456789',
      body: { authMethod: 'saml2' },
    });
    h.clock.advance(3_000);
    const page = await b.get('/settings/password');
    expect(page.status).toBe(200);
    expect(inputTag(page.html, 'twoFactorEnabled')).toContain('disabled');
    expect(page.html).toMatch(/Unavailable: this organization signs in with SAML/);
    // The session is bound to its organization: nothing of the first one shows.
    expect(inputTag(page.html, 'skipTwoFactorCidrs')).toMatch(/><\/textarea>|>$/);
    expect(page.html).not.toMatch(/<textarea[^>]*>[^<]+<\/textarea>/);
  });

  it('lists users with search and paging and acts on them', async () => {
    const list = await admin.get('/settings/users');
    expect(list.status).toBe(200);
    expect(list.html).toContain(org.member.email);
    expect(list.html).toContain(org.member.phone);
    expect(list.html).toContain('Disable two-factor authentication');
    const search = await admin.get(`/settings/users?q=${encodeURIComponent('nophone')}`);
    expect(search.html).toContain(org.noPhone.email);
    expect(search.html).not.toContain(org.member.email);
    expect((await admin.get('/settings/users?page=2')).html).toContain('Page 2 of 1');

    const exempt = await admin.post(`/settings/users/${org.member.id}/two-factor`, {
      csrf: csrfOf(list.html),
      twoFactorDisabled: 'true',
    });
    expect(exempt.status).toBe(303);
    const user = await h.request('GET', `/v1/users/${org.member.id}`, { key: org.apiKey });
    expect(user.body.twoFactorDisabled).toBe(true);
    // Without CSRF nothing changes.
    expect(
      (
        await admin.post(`/settings/users/${org.member.id}/two-factor`, {
          twoFactorDisabled: 'false',
        })
      ).status,
    ).toBe(403);
    expect(
      (await h.request('GET', `/v1/users/${org.member.id}`, { key: org.apiKey })).body
        .twoFactorDisabled,
    ).toBe(true);

    const revoke = await admin.post(`/settings/users/${org.member.id}/trusted-devices`, {
      csrf: csrfOf(list.html),
    });
    expect(revoke.status).toBe(303);
    const [devices] = await h.sql`
      select count(*)::int as n from trusted_devices where user_id = ${org.member.id} and revoked_at is null`;
    expect(devices?.n).toBe(0);

    await h.sql`update users set locked_until = now() + interval '1 day', consecutive_code_failures = 20
      where id = ${org.noPhone.id}`;
    const locked = await admin.get('/settings/users');
    expect(locked.html).toContain(`action="/settings/users/${org.noPhone.id}/unlock"`);
    const unlock = await admin.post(`/settings/users/${org.noPhone.id}/unlock`, {
      csrf: csrfOf(locked.html),
    });
    expect(unlock.status).toBe(303);
    const [row] =
      await h.sql`select locked_until, consecutive_code_failures from users where id = ${org.noPhone.id}`;
    expect(row?.locked_until).toBeNull();
    expect(row?.consecutive_code_failures).toBe(0);
    const [event] = await h.sql`select actor from audit_events where type = 'user_unlocked'
      and organization_id = ${org.id}`;
    expect(event?.actor).toBe(`admin:${org.admin.id}`);

    // Another organization's user is not found from here.
    const other = await seedPagesOrg(h, 'Other Clinic');
    const foreign = await admin.post(`/settings/users/${other.member.id}/two-factor`, {
      csrf: csrfOf(list.html),
      twoFactorDisabled: 'true',
    });
    expect(foreign.status).toBe(404);
  });

  it('shows the balance, the ledger and a low-balance warning', async () => {
    const page = await admin.get('/settings/subscription');
    expect(page.status).toBe(200);
    expect(page.html).toMatch(/data-testid="balance">\d+ credits/);
    expect(page.html).toContain('Credits added');
    expect(page.html).toContain('Code sent');
    expect(page.html).not.toContain('The balance is low');
    await h.sql`update organizations set sms_balance = 3 where id = ${org.id}`;
    const low = await admin.get('/settings/subscription');
    expect(low.html).toContain('The balance is low');
  });

  it('pages the audit log', async () => {
    for (let i = 0; i < 60; i++) {
      await h.sql`insert into audit_events (organization_id, type, actor) values (${org.id}, 'test_event', 'test')`;
    }
    const first = await admin.get('/settings/audit');
    expect(first.status).toBe(200);
    const older = /href="(\/settings\/audit\?before=\d+)"/.exec(first.html)?.[1];
    expect(older).toBeTruthy();
    const second = await admin.get(older as string);
    expect(second.status).toBe(200);
    expect(second.html).toContain('User unlocked');
  });
});

describe('dev SMS inbox', () => {
  it('lists the console messages newest first', async () => {
    const res = await h.app.request('/dev/sms');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    const messages = await inboxMessages(h);
    expect(messages.length).toBeGreaterThan(2);
    const raw = await h.sql`
      select s.phone from sms_sends s where s.status = 'sent' order by s.updated_at desc limit 1`;
    expect(messages[0]?.to).toBe(raw[0]?.phone);
  });

  it('is 404 with Twilio or in production', async () => {
    const twilio = await createHarness({ worker: false });
    try {
      expect((await twilio.app.request('/dev/sms')).status).toBe(404);
    } finally {
      await twilio.close();
    }
    const production = await createHarness({
      worker: false,
      env: {
        NODE_ENV: 'production',
        SMS_PROVIDER: 'twilio',
      },
    });
    try {
      expect((await production.app.request('/dev/sms')).status).toBe(404);
      // Outside development and test the cookies are Secure.
      const login = await production.app.request('/login');
      expect(login.headers.getSetCookie().join('\n')).toMatch(/Secure/);
    } finally {
      await production.close();
    }
  });
});
