/**
 * A page session must not outlive the credentials it was opened with: a
 * password change, a phone change, a revocation of trusted devices and a lock
 * end every page session of that user (a stolen cookie dies with them), and a
 * new login ends the session the browser held before. Each test keeps a cookie
 * from before the event and checks it answers as a logged-out browser.
 */
import { endUserSessions } from '@twofa/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/index.ts';
import { Browser, csrfOf, PASSWORD } from './support.ts';

const SESSION = 'twofa_session';

let h: Harness;
let org: { id: string; apiKey: string };
let admin: { id: string; email: string };

beforeAll(async () => {
  // A worker, for the code a phone entered at sign-in is confirmed with (fake Twilio).
  h = await createHarness({ env: { MAX_CONSECUTIVE_CODE_FAILURES: '3' } });
  // 2FA off: a right password opens a page session at once.
  org = await h.createOrganization({ name: 'Session Clinic', country: 'FI' });
  await h.topUp(org.id, 50);
  const email = 'admin@session.example';
  admin = {
    email,
    ...(await h.createUser(org.apiKey, { email, password: PASSWORD, role: 'admin' })),
  };
});
afterAll(async () => {
  await h?.close();
});

let serial = 0;
async function newUser(phone: string | null = null) {
  serial += 1;
  const email = `user${serial}@session.example`;
  const { id } = await h.createUser(org.apiKey, { email, password: PASSWORD, phone });
  return { id, email };
}

/** A browser logged in as this user through the login page. */
async function loggedIn(email: string, b = new Browser(h)): Promise<Browser> {
  const res = await b.submit(`/login?org=${org.id}`, '/login', {
    org: org.id,
    email,
    password: PASSWORD,
  });
  expect(res.status, res.html.slice(0, 300)).toBe(303);
  expect(res.location).toBe('/account');
  expect((await b.get('/account')).status).toBe(200);
  return b;
}

/** Another browser holding only this one's session cookie: what a thief would hold. */
function stolen(b: Browser): Browser {
  const thief = new Browser(h);
  thief.cookies.set(SESSION, b.cookies.get(SESSION) as string);
  return thief;
}

async function expectLoggedOut(b: Browser) {
  const res = await b.get('/account');
  expect(res.status).toBe(303);
  expect(res.location).toBe('/login');
}

async function expectLoggedIn(b: Browser) {
  expect((await b.get('/account')).status).toBe(200);
}

describe('page sessions end with the credentials they were opened with', () => {
  it('a password change ends every session of the user, and only theirs', async () => {
    const user = await newUser();
    const first = await loggedIn(user.email);
    const second = await loggedIn(user.email);
    const thief = stolen(first);
    const bystander = await loggedIn(admin.email);
    const res = await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { password: 'a brand new password' },
    });
    expect(res.status).toBe(200);
    await expectLoggedOut(first);
    await expectLoggedOut(second);
    await expectLoggedOut(thief);
    await expectLoggedIn(bystander);
  });

  it('a phone change ends them; an exemption does not', async () => {
    const user = await newUser('+358401110001');
    const b = await loggedIn(user.email);
    const exempt = await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { twoFactorDisabled: true },
    });
    expect(exempt.status).toBe(200);
    await expectLoggedIn(b);
    const res = await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { phone: '+358401110002' },
    });
    expect(res.status).toBe(200);
    await expectLoggedOut(stolen(b));
  });

  it('revoking trusted devices ends them, through the API and through the admin page', async () => {
    const user = await newUser();
    const viaApi = await loggedIn(user.email);
    const res = await h.request('DELETE', `/v1/users/${user.id}/trusted-devices`, {
      key: org.apiKey,
    });
    expect(res.status).toBe(200);
    await expectLoggedOut(viaApi);

    const viaPage = await loggedIn(user.email);
    const adminBrowser = await loggedIn(admin.email);
    const list = await adminBrowser.get('/settings/users');
    const revoke = await adminBrowser.post(`/settings/users/${user.id}/trusted-devices`, {
      csrf: csrfOf(list.html),
    });
    expect(revoke.status).toBe(303);
    await expectLoggedOut(viaPage);
    await expectLoggedIn(adminBrowser);
  });

  it('a phone saved by a sign-in (the phone step) ends the sessions from before it', async () => {
    const user = await newUser(null);
    const b = await loggedIn(user.email);
    await h.enableTwoFactor(org.apiKey);
    try {
      const start = await h.request('POST', '/v1/challenges', {
        key: org.apiKey,
        body: { userId: user.id, ip: '198.51.100.21' },
      });
      expect(start.body.challenge?.status).toBe('phone_required');
      const id = start.body.challenge.id;
      const phone = '+358401110004';
      const given = await h.request('POST', `/v1/challenges/${id}/phone`, {
        key: org.apiKey,
        body: { phone },
      });
      expect(given.status).toBe(200);
      const code = await h.waitFor(async () => h.lastCodeFor(phone));
      const verify = await h.request('POST', `/v1/challenges/${id}/verify`, {
        key: org.apiKey,
        body: { code },
      });
      expect(verify.status, JSON.stringify(verify.body)).toBe(200);
    } finally {
      await h.request('PATCH', '/v1/settings/password', {
        key: org.apiKey,
        body: { twoFactorEnabled: false },
      });
    }
    await expectLoggedOut(b);
  });

  it('a lock after wrong codes in a row ends them', async () => {
    const user = await newUser('+358401110003');
    const b = await loggedIn(user.email);
    // The user's own organization turns 2FA on, so a challenge can be started for them.
    await h.enableTwoFactor(org.apiKey);
    try {
      const start = await h.request('POST', '/v1/challenges', {
        key: org.apiKey,
        body: { userId: user.id, ip: '198.51.100.20' },
      });
      expect(start.status, JSON.stringify(start.body)).toBe(200);
      const challengeId = start.body.challenge.id;
      let last = start;
      for (let i = 0; i < 3; i++) {
        last = await h.request('POST', `/v1/challenges/${challengeId}/verify`, {
          key: org.apiKey,
          body: { code: '000000' },
        });
      }
      expect(last.status).toBe(423);
      expect(last.body.code).toBe('user_locked');
    } finally {
      await h.request('PATCH', '/v1/settings/password', {
        key: org.apiKey,
        body: { twoFactorEnabled: false },
      });
    }
    await expectLoggedOut(b);
  });

  it('logging in again ends the session the browser held before', async () => {
    const user = await newUser();
    const b = await loggedIn(user.email);
    const before = stolen(b);
    const oldToken = b.cookies.get(SESSION);
    await loggedIn(user.email, b);
    expect(b.cookies.get(SESSION)).not.toBe(oldToken);
    await expectLoggedIn(b);
    await expectLoggedOut(before);
  });

  it('endUserSessions ends every session of one user in one organization', async () => {
    const user = await newUser();
    const a = await loggedIn(user.email);
    const b = await loggedIn(user.email);
    const bystander = await loggedIn(admin.email);
    // Scoped by organization: the right user id under another organization ends nothing.
    const other = await h.createOrganization({ name: 'Elsewhere', country: 'FI' });
    expect(await endUserSessions(h.sql, other.id, user.id)).toBe(0);
    await expectLoggedIn(a);
    expect(await endUserSessions(h.sql, org.id, user.id)).toBe(2);
    await expectLoggedOut(a);
    await expectLoggedOut(b);
    await expectLoggedIn(bystander);
  });
});
