/**
 * Attack: guessing codes across challenges (5 a challenge, 10 challenges an
 * hour, without end). Control: wrong codes count per user over all of their
 * challenges; MAX_CONSECUTIVE_CODE_FAILURES in a row lock the user for 24
 * hours (423 user_locked, nothing sent), until an admin unlocks.
 */
import { USER_LOCK_MS } from '@twofa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END_USER_IP, finnishMobile, messagesTo, nextCode, PASSWORD } from '../security/support.ts';
import { createHarness, type Harness } from '../support/index.ts';

const MAX = 7;

let h: Harness;
let org: { id: string; apiKey: string };

beforeAll(async () => {
  h = await createHarness({
    env: { MAX_CONSECUTIVE_CODE_FAILURES: String(MAX), RATE_LIMIT_USER_CHALLENGES_PER_HOUR: '50' },
  });
  org = await h.createOrganization({ name: 'Clinic', country: 'FI' });
  await h.topUp(org.id, 500);
  await h.enableTwoFactor(org.apiKey);
});
afterAll(async () => {
  await h?.close();
});

let n = 0;
async function newUser() {
  const phone = finnishMobile();
  const email = `lock${n++}@example.com`;
  const user = await h.createUser(org.apiKey, { email, password: PASSWORD, phone });
  return { id: user.id, email, phone };
}

function login(email: string, extra: Record<string, unknown> = {}) {
  return h.request('POST', '/v1/logins', {
    key: org.apiKey,
    body: { email, password: PASSWORD, ip: END_USER_IP, ...extra },
  });
}

async function start(email: string): Promise<string> {
  const res = await login(email);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.result).toBe('challenge_required');
  return res.body.challenge.id;
}

function verify(challengeId: string, code: string) {
  return h.request('POST', `/v1/challenges/${challengeId}/verify`, {
    key: org.apiKey,
    body: { code },
  });
}

/** A wrong code (the right one is random: one chance in a million that this is it). */
const WRONG = '000000';

async function failures(userId: string): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select consecutive_code_failures as n from users where id = ${userId}`;
  return row!.n;
}

async function auditOf(type: string, userId: string) {
  return h.sql<{ actor: string; data: Record<string, unknown> }[]>`
    select actor, data from audit_events
    where organization_id = ${org.id} and type = ${type} and data->>'userId' = ${userId}`;
}

async function challengesOf(userId: string): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from challenges where user_id = ${userId}`;
  return row!.n;
}

/** Locks a user: MAX wrong codes over two challenges (the per-challenge cap is 5). */
async function lock(user: { id: string; email: string }) {
  const first = await start(user.email);
  const second = await start(user.email);
  for (let i = 0; i < 4; i++) expect((await verify(first, WRONG)).status).toBe(422);
  for (let i = 4; i < MAX - 1; i++) expect((await verify(second, WRONG)).status).toBe(422);
  const locking = await verify(second, WRONG);
  return { first, second, locking };
}

describe('consecutive wrong codes lock the user', () => {
  it('counts wrong codes across challenges and locks at the cap, canceling every open challenge', async () => {
    const user = await newUser();
    const third = await start(user.email);
    const { first, second, locking } = await lock(user);
    expect(locking.status, JSON.stringify(locking.body)).toBe(423);
    expect(locking.body.code).toBe('user_locked');
    expect(locking.headers.get('content-type')).toContain('application/problem+json');

    const read = await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    const lockedUntil = new Date(read.body.lockedUntil).getTime();
    expect(Math.abs(lockedUntil - (h.clock.now().getTime() + USER_LOCK_MS))).toBeLessThan(60_000);
    expect(locking.body.lockedUntil).toBe(read.body.lockedUntil);
    for (const id of [first, second, third]) {
      const c = await h.request('GET', `/v1/challenges/${id}`, { key: org.apiKey });
      expect(c.body.status).toBe('canceled');
      const again = await verify(id, WRONG);
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('challenge_not_pending');
    }
    const events = await auditOf('user_locked', user.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: 'system',
      data: { consecutiveFailures: MAX, canceledChallenges: 3 },
    });
    expect(await failures(user.id)).toBe(MAX);
  });

  it('while locked: a right password is 423 and sends nothing, a wrong one is still 401', async () => {
    const user = await newUser();
    await lock(user);
    const sent = messagesTo(h, user.phone);
    const before = await challengesOf(user.id);

    const right = await login(user.email);
    expect(right.status, JSON.stringify(right.body)).toBe(423);
    expect(right.body.code).toBe('user_locked');
    const hosted = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user.id, ip: END_USER_IP },
    });
    expect(hosted.status).toBe(423);
    expect(hosted.body.code).toBe('user_locked');
    const wrong = await login(user.email, { password: 'not it' });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');

    expect(await challengesOf(user.id)).toBe(before);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(messagesTo(h, user.phone)).toBe(sent);
  });

  it('leaves the trusted-device, trusted-network and exemption paths open while locked', async () => {
    const user = await newUser();
    // A device trusted before the lock.
    const seen = messagesTo(h, user.phone);
    const challengeId = await start(user.email);
    const code = await nextCode(h, user.phone, seen);
    const ok = await verify(challengeId, code);
    expect(ok.status).toBe(200);
    await lock(user);

    const device = await login(user.email, { deviceToken: ok.body.deviceToken });
    expect(device.status).toBe(200);
    expect(device.body).toMatchObject({ result: 'authenticated', reason: 'trusted_device' });

    await h.request('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      body: { skipTwoFactorCidrs: ['198.51.100.0/24'] },
    });
    const network = await login(user.email, { ip: '198.51.100.7' });
    expect(network.body).toMatchObject({ result: 'authenticated', reason: 'trusted_network' });
    await h.request('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      body: { skipTwoFactorCidrs: [] },
    });

    await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { twoFactorDisabled: true },
    });
    const exempt = await login(user.email);
    expect(exempt.body).toMatchObject({ result: 'authenticated', reason: 'user_exempt' });
  });

  it('a right code resets the count', async () => {
    const user = await newUser();
    const first = await start(user.email);
    for (let i = 0; i < 4; i++) expect((await verify(first, WRONG)).status).toBe(422);
    expect(await failures(user.id)).toBe(4);
    const seen = messagesTo(h, user.phone);
    const second = await start(user.email);
    const code = await nextCode(h, user.phone, seen);
    expect((await verify(second, code)).status).toBe(200);
    expect(await failures(user.id)).toBe(0);
    // MAX - 1 more wrong codes do not lock: the run started again.
    const third = await start(user.email);
    const fourth = await start(user.email);
    for (let i = 0; i < 4; i++) expect((await verify(third, WRONG)).status).toBe(422);
    for (let i = 4; i < MAX - 1; i++) expect((await verify(fourth, WRONG)).status).toBe(422);
    const read = await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    expect(read.body.lockedUntil).toBeNull();
  });

  it("a right code with no run to end leaves the user's row unwritten", async () => {
    const user = await newUser();
    const version = async () => {
      const [row] = await h.sql<{ xmin: string; updatedAt: Date }[]>`
        select xmin::text as xmin, updated_at as "updatedAt" from users where id = ${user.id}`;
      return row!;
    };
    const seen = messagesTo(h, user.phone);
    const challenge = await start(user.email);
    const code = await nextCode(h, user.phone, seen);
    const before = await version();
    expect((await verify(challenge, code)).status).toBe(200);
    // Approved and a device trusted, with the user's row as it was: nothing on it changed.
    expect(await version()).toEqual(before);
    expect(await failures(user.id)).toBe(0);
  });

  it('parallel wrong codes over several challenges lock exactly once', async () => {
    const user = await newUser();
    const ids = [await start(user.email), await start(user.email), await start(user.email)];
    const answers = await Promise.all(
      ids.flatMap((id) => Array.from({ length: 5 }, () => verify(id, WRONG))),
    );
    const codes = answers.map((a) => a.body.code);
    expect(codes.filter((c) => c === 'user_locked')).toHaveLength(1);
    expect(codes.filter((c) => c === 'invalid_code').length).toBeLessThan(MAX);
    // Counted one at a time: exactly MAX wrong codes were taken before the lock closed the rest.
    expect(await failures(user.id)).toBe(MAX);
    for (const id of ids) {
      const c = await h.request('GET', `/v1/challenges/${id}`, { key: org.apiKey });
      expect(['canceled', 'locked']).toContain(c.body.status);
    }
    expect(await auditOf('user_locked', user.id)).toHaveLength(1);
  });

  it('the lock ends by itself after 24 hours', async () => {
    const user = await newUser();
    await lock(user);
    expect((await login(user.email)).status).toBe(423);
    await h.travel(USER_LOCK_MS + 1_000);
    const res = await login(user.email);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.result).toBe('challenge_required');
  });

  it('an admin unlocks early: 200 User with lockedUntil null, the count reset, audit user_unlocked', async () => {
    const user = await newUser();
    await lock(user);
    const unlocked = await h.request('POST', `/v1/users/${user.id}/unlock`, { key: org.apiKey });
    expect(unlocked.status, JSON.stringify(unlocked.body)).toBe(200);
    expect(unlocked.body).toMatchObject({ id: user.id, email: user.email, lockedUntil: null });
    expect(await failures(user.id)).toBe(0);
    const events = await auditOf('user_unlocked', user.id);
    expect(events).toHaveLength(1);
    expect(events[0]?.actor).toBe('organization_key');
    const res = await login(user.email);
    expect(res.status).toBe(200);
    expect(res.body.result).toBe('challenge_required');

    const missing = await h.request(
      'POST',
      '/v1/users/00000000-0000-4000-8000-000000000000/unlock',
      { key: org.apiKey },
    );
    expect(missing.status).toBe(404);
    // Another organization's user is not found either.
    const other = await h.createOrganization({ name: 'Other', country: 'FI' });
    const foreign = await h.request('POST', `/v1/users/${user.id}/unlock`, { key: other.apiKey });
    expect(foreign.status).toBe(404);
  });
});
