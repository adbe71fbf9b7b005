/**
 * Attack: many requests in flight at once against one limit (a botnet
 * guessing one account's password, flooding one number, one user, one
 * tenant). Control: every limit's points are taken in one Redis script
 * before any work, all of a request's limits or none, so N requests in
 * flight against a limit of L get at most L through; points are given back
 * when nothing was sent.
 */
import { randomInt } from 'node:crypto';
import { accountFailuresKey } from '@twofa/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, type JsonResponse as Response } from '../support/index.ts';
import { finnishMobile, PASSWORD } from './support.ts';

const LIMITS = {
  RATE_LIMIT_IP_LOGINS_PER_MINUTE: 4,
  RATE_LIMIT_USER_CHALLENGES_PER_HOUR: 3,
  RATE_LIMIT_DESTINATION_SENDS_PER_HOUR: 3,
  RATE_LIMIT_ORG_SENDS_PER_MINUTE: 5,
  RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN: 4,
};
const N = 24;

let h: Harness;

beforeAll(async () => {
  h = await createHarness({
    worker: false,
    env: Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)])),
  });
});
afterAll(async () => {
  await h?.close();
});

/** An end-user address no other request of this file uses, so ip_logins stays out of the way. */
function freshIp(): string {
  return `10.${randomInt(0, 256)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
}

async function newOrg(opts: { twoFactor?: boolean } = {}) {
  const org = await h.createOrganization({ name: 'Clinic', country: 'FI' });
  await h.topUp(org.id, 1000);
  if (opts.twoFactor !== false) await h.enableTwoFactor(org.apiKey);
  return org;
}

function login(key: string, email: string, opts: { ip?: string; password?: string } = {}) {
  return h.request('POST', '/v1/logins', {
    key,
    body: { email, password: opts.password ?? PASSWORD, ip: opts.ip ?? freshIp() },
  });
}

/** All of them at once: N requests in flight together. */
function burst(n: number, request: (i: number) => Promise<Response>): Promise<Response[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => request(i)));
}

/** Splits a burst's answers into passed and refused, and checks every refusal is a proper 429. */
function tally(responses: Response[], passStatus: number, limit: string) {
  const passed = responses.filter((r) => r.status === passStatus);
  const refused = responses.filter((r) => r.status !== passStatus);
  for (const res of refused) {
    expect(res.status, JSON.stringify(res.body)).toBe(429);
    expect(res.body).toMatchObject({ code: 'rate_limited', limit });
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1, String(retryAfter)).toBe(true);
    expect(res.body.retryAfter).toBe(retryAfter);
  }
  return { passed: passed.length, refused: refused.length };
}

async function counts(orgId: string) {
  const [row] = await h.sql<{ challenges: number; sends: number }[]>`
    select (select count(*)::int from challenges where organization_id = ${orgId}) as challenges,
      (select count(*)::int from sms_sends where organization_id = ${orgId}) as sends`;
  return row!;
}

describe('limits under concurrency', () => {
  it('account_failures: N wrong passwords at once, from N addresses, check at most L of them', async () => {
    const org = await newOrg({ twoFactor: false });
    await h.createUser(org.apiKey, { email: 'victim@example.com', password: PASSWORD });
    const L = LIMITS.RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN;
    const responses = await burst(N, (i) =>
      login(org.apiKey, 'victim@example.com', { password: `guess-${i}` }),
    );
    const { passed, refused } = tally(responses, 401, 'account_failures');
    // Exactly L reached the password check (401); the rest were refused before any hash.
    expect(passed).toBe(L);
    expect(refused).toBe(N - L);
    for (const r of responses.filter((x) => x.status === 401)) {
      expect(r.body.code).toBe('invalid_credentials');
    }
    // Spent: the right password is refused too, for now.
    const right = await login(org.apiKey, 'victim@example.com');
    expect(right.status).toBe(429);
    expect(right.body.limit).toBe('account_failures');
  });

  it('account_failures: a right password gives its point back', async () => {
    const org = await newOrg({ twoFactor: false });
    const owner = await h.createUser(org.apiKey, {
      email: 'owner@example.com',
      password: PASSWORD,
    });
    const L = LIMITS.RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN;
    for (let i = 0; i < L - 1; i++) {
      expect((await login(org.apiKey, 'owner@example.com', { password: 'nope' })).status).toBe(401);
    }
    // Each right password takes the last point while it is checked, then gives it back.
    for (let i = 0; i < 3; i++) {
      expect((await login(org.apiKey, 'owner@example.com')).status).toBe(200);
    }
    expect(
      await h.services.rateLimits.used(
        'account_failures',
        accountFailuresKey({ userId: owner.id }),
      ),
    ).toBe(L - 1);
    expect((await login(org.apiKey, 'owner@example.com', { password: 'nope' })).status).toBe(401);
    const spent = await login(org.apiKey, 'owner@example.com');
    expect(spent.status).toBe(429);
    expect(spent.body.limit).toBe('account_failures');
  });

  it('ip_logins: N logins at once from one end-user address let at most L through', async () => {
    const org = await newOrg({ twoFactor: false });
    const emails = Array.from({ length: N }, (_, i) => `ip${i}@example.com`);
    for (const email of emails) await h.createUser(org.apiKey, { email, password: PASSWORD });
    const ip = freshIp();
    const responses = await burst(N, (i) => login(org.apiKey, emails[i]!, { ip }));
    const { passed } = tally(responses, 200, 'ip_logins');
    expect(passed).toBe(LIMITS.RATE_LIMIT_IP_LOGINS_PER_MINUTE);
    // /v1/challenges shares the counter.
    const user = await h.createUser(org.apiKey, { email: 'late@example.com', password: PASSWORD });
    const more = await burst(4, () =>
      h.request('POST', '/v1/challenges', { key: org.apiKey, body: { userId: user.id, ip } }),
    );
    expect(tally(more, 200, 'ip_logins').passed).toBe(0);
  });

  it('user_challenges: N starts at once for one user store at most L challenges', async () => {
    const org = await newOrg();
    const user = await h.createUser(org.apiKey, { email: 'one@example.com', password: PASSWORD });
    const responses = await burst(N, () =>
      h.request('POST', '/v1/challenges', {
        key: org.apiKey,
        body: { userId: user.id, ip: freshIp() },
      }),
    );
    const L = LIMITS.RATE_LIMIT_USER_CHALLENGES_PER_HOUR;
    expect(tally(responses, 200, 'user_challenges').passed).toBe(L);
    expect((await counts(org.id)).challenges).toBe(L);
  });

  it('destination_sends: N starts at once to one number, from many tenants, send at most L codes', async () => {
    const phone = finnishMobile();
    const orgs = [await newOrg(), await newOrg(), await newOrg()];
    const logins: { key: string; email: string }[] = [];
    for (let i = 0; i < N; i++) {
      const org = orgs[i % orgs.length]!;
      const email = `d${i}@example.com`;
      await h.createUser(org.apiKey, { email, password: PASSWORD, phone });
      logins.push({ key: org.apiKey, email });
    }
    const responses = await burst(N, (i) => login(logins[i]!.key, logins[i]!.email));
    const L = LIMITS.RATE_LIMIT_DESTINATION_SENDS_PER_HOUR;
    expect(tally(responses, 200, 'destination_sends').passed).toBe(L);
    let sends = 0;
    for (const org of orgs) sends += (await counts(org.id)).sends;
    expect(sends).toBe(L);
    expect(await h.services.rateLimits.used('destination_sends', phone)).toBe(L);
    // All or nothing: the refused starts took none of their organizations' sends.
    for (const org of orgs) {
      const taken = (await counts(org.id)).sends;
      expect(await h.services.rateLimits.used('org_sends', org.id)).toBe(taken);
    }
  });

  it('org_sends: N starts at once in one organization send at most L codes', async () => {
    const org = await newOrg();
    const emails = Array.from({ length: N }, (_, i) => `o${i}@example.com`);
    for (const email of emails) {
      await h.createUser(org.apiKey, { email, password: PASSWORD, phone: finnishMobile() });
    }
    const responses = await burst(N, (i) => login(org.apiKey, emails[i]!));
    const L = LIMITS.RATE_LIMIT_ORG_SENDS_PER_MINUTE;
    expect(tally(responses, 200, 'org_sends').passed).toBe(L);
    expect(await counts(org.id)).toEqual({ challenges: L, sends: L });
  });
});
