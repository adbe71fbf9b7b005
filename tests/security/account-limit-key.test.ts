/**
 * Attack: get more password guesses against one account than account_failures
 * allows by spelling its email another way. Postgres' lower() (which finds the
 * user) makes the dotted capital `İ` an `i`, JavaScript's toLowerCase() makes
 * it `i` plus a combining dot: `mİmi@…` logged in as `mimi@…` while counting
 * against a limit of its own. Control: emails are ASCII on every surface (the
 * pages answer any other as a wrong password), and the limit keys on the
 * account once it is found, never on the text typed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, csrfOf } from '../pages/support.ts';
import { createHarness, type Harness } from '../support/index.ts';
import { finnishMobile, PASSWORD } from './support.ts';

const LIMIT = 10;

let h: Harness;
let org: { id: string; apiKey: string };
let userId: string;
const EMAIL = 'mimi.virta@example.com';

beforeAll(async () => {
  h = await createHarness({ worker: false });
  org = await h.createOrganization({ name: 'Dotted Clinic', country: 'FI' });
  await h.enableTwoFactor(org.apiKey);
  await h.topUp(org.id, 10);
  ({ id: userId } = await h.createUser(org.apiKey, {
    email: EMAIL,
    password: PASSWORD,
    phone: finnishMobile(),
  }));
});
afterAll(async () => {
  await h?.close();
});

async function pageLogin(email: string, password: string) {
  const b = new Browser(h);
  const form = await b.get(`/login?org=${org.id}`);
  return b.post('/login', { csrf: csrfOf(form.html), org: org.id, email, password });
}

const notice = (html: string) => /<div class="notice error"[^>]*>([^<]*)</.exec(html)?.[1];

async function challengesOf(id: string): Promise<number> {
  const [row] = await h.sql`select count(*)::int as n from challenges where user_id = ${id}`;
  return row?.n as number;
}

describe('the per-account password limit', () => {
  it('answers a non-ASCII email on the login page as a wrong password', async () => {
    const wrong = await pageLogin('nobody@example.com', 'wrong password!');
    for (const email of ['mİmi.virta@example.com', 'mimi.virta@exämple.com']) {
      const res = await pageLogin(email, PASSWORD);
      expect(res.status, email).toBe(401);
      expect(notice(res.html), email).toBe(notice(wrong.html));
    }
    expect(await challengesOf(userId)).toBe(0);
  });

  it('holds against every spelling once spent through the page', async () => {
    for (let i = 0; i < LIMIT; i++) {
      expect((await pageLogin(EMAIL, `guess-${i}`)).status).toBe(401);
    }
    expect((await pageLogin(EMAIL, PASSWORD)).status).toBe(429);
    // The dotted capitals reach no account, whatever password they carry.
    for (const email of ['mİmi.virta@example.com', 'mİmİ.vİrta@example.com']) {
      const res = await pageLogin(email, PASSWORD);
      expect(res.status, email).not.toBe(303);
      expect(res.location).toBeNull();
    }
    expect(await challengesOf(userId)).toBe(0);
    // ASCII case is the same account, through the page and through the API alike.
    expect((await pageLogin(EMAIL.toUpperCase(), PASSWORD)).status).toBe(429);
    const api = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { email: 'Mimi.Virta@Example.COM', password: PASSWORD, ip: '198.51.100.1' },
    });
    expect(api.status).toBe(429);
    expect(api.body.limit).toBe('account_failures');
    // The API refuses the non-ASCII spelling outright, before any limit.
    const dotted = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { email: 'mİmi.virta@example.com', password: PASSWORD, ip: '198.51.100.2' },
    });
    expect(dotted.status).toBe(400);
    expect(dotted.body.code).toBe('invalid_request');
    expect(await challengesOf(userId)).toBe(0);
  });
});
