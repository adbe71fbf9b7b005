/**
 * Redis round trips on the accept path, counted as ioredis sends them (commands under
 * this file's own prefix; those a script runs inside Redis are not round trips).
 * `/v1/challenges`: the per-address point and the send limits in one script, then
 * BullMQ's add. `/v1/logins`: the address-and-account take before the password is
 * checked, then the account's point given back (a right password) and the send limits in
 * one script, then BullMQ's add.
 */
import { hashSecret, MAX_WRONG_ATTEMPTS } from '@twofa/core';
import { Redis } from 'ioredis';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finnishMobile, PASSWORD } from '../security/support.ts';
import { APP_SECRET } from '../support/env.ts';
import { withHarness } from '../support/index.ts';

const h = withHarness({ worker: false });
let commands: string[] = [];

/**
 * Every command this process's ioredis clients send under this file's prefix (the API's
 * connection and BullMQ's alike), as it goes out; what a script runs inside Redis is not sent.
 */
const sendCommand = Redis.prototype.sendCommand;
beforeAll(() => {
  Redis.prototype.sendCommand = function (this: Redis, ...args) {
    const [command] = args;
    if (command.args.some((a) => String(a).includes(h.queuePrefix))) {
      commands.push(command.name.toLowerCase());
    }
    return sendCommand.apply(this, args);
  };
});
afterAll(() => {
  Redis.prototype.sendCommand = sendCommand;
});

/** The commands one request sent. */
async function roundTrips(request: () => Promise<{ status: number }>): Promise<string[]> {
  commands = [];
  const res = await request();
  expect(res.status).toBe(200);
  return commands;
}

async function orgWithUsers(n: number) {
  const org = await h.createOrganization({ name: 'Clinic', country: 'FI' });
  await h.topUp(org.id, 100);
  await h.enableTwoFactor(org.apiKey);
  const users = [];
  for (let i = 0; i < n; i++) {
    const email = `user${i}@example.com`;
    const user = await h.createUser(org.apiKey, {
      email,
      password: PASSWORD,
      phone: finnishMobile(),
    });
    users.push({ ...user, email });
  }
  return { org, users };
}

describe('Redis round trips per accepted request', () => {
  it('POST /v1/challenges: one rate-limit script and the enqueue', async () => {
    const { org, users } = await orgWithUsers(2);
    const start = (userId: string) => () =>
      h.request('POST', '/v1/challenges', { key: org.apiKey, body: { userId, ip: '10.1.2.3' } });
    // The first loads the scripts into Redis (EVALSHA, NOSCRIPT, EVAL); counted is the second.
    await roundTrips(start(users[0]!.id));
    expect(await roundTrips(start(users[1]!.id))).toEqual(['evalsha', 'evalsha']);
  });

  it('POST /v1/logins: two rate-limit scripts and the enqueue', async () => {
    const { org, users } = await orgWithUsers(2);
    const login = (email: string) => () =>
      h.request('POST', '/v1/logins', {
        key: org.apiKey,
        body: { email, password: PASSWORD, ip: '10.1.2.4' },
      });
    await roundTrips(login(users[0]!.email));
    expect(await roundTrips(login(users[1]!.email))).toEqual(['evalsha', 'evalsha', 'evalsha']);
  });
});

/**
 * Postgres round trips: every statement the API's pool writes (postgres.js calls its
 * `debug` option once per statement sent; the test's own pool is another one).
 */
describe('Postgres round trips per request', () => {
  let statements: string[] = [];
  beforeAll(() => {
    h.services.db.sql.options.debug = (_connection, query) => void statements.push(query);
  });
  afterAll(() => {
    h.services.db.sql.options.debug = false;
  });

  async function statementsOf(request: () => Promise<{ status: number; body: any }>, status = 200) {
    statements = [];
    const res = await request();
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    return { body: res.body, statements };
  }

  /** An organization whose users start from `10.9.0.0/16` without a code, and one trusted device. */
  async function skipOrg() {
    const { org, users } = await orgWithUsers(4);
    const settings = await h.request('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      body: { skipTwoFactorCidrs: ['10.9.0.0/16'] },
    });
    expect(settings.status).toBe(200);
    const deviceToken = `tfd_round-trips-${users[2]!.id}`;
    await h.sql`insert into trusted_devices (organization_id, user_id, token_hash, expires_at)
      values (${org.id}, ${users[2]!.id}, ${hashSecret(APP_SECRET, 'device-token', deviceToken)},
        now() + interval '1 day')`;
    return { org, users, deviceToken };
  }

  it('POST /v1/challenges from a trusted network or device: one statement reads and records', async () => {
    const { org, users, deviceToken } = await skipOrg();
    const start = (body: Record<string, unknown>) => () =>
      h.request('POST', '/v1/challenges', { key: org.apiKey, body });
    // The first of each prepares its statement (a describe first); counted are the next.
    await statementsOf(start({ userId: users[0]!.id, ip: '10.9.1.1' }));
    const network = await statementsOf(start({ userId: users[1]!.id, ip: '10.9.1.2' }));
    expect(network.body).toMatchObject({ result: 'authenticated', reason: 'trusted_network' });
    expect(network.statements).toHaveLength(1);
    await statementsOf(start({ userId: users[2]!.id, ip: '10.1.1.1', deviceToken }));
    const device = await statementsOf(start({ userId: users[2]!.id, ip: '10.1.1.2', deviceToken }));
    expect(device.body).toMatchObject({ result: 'authenticated', reason: 'trusted_device' });
    expect(device.statements).toHaveLength(1);
    // Each wrote its signed_in event.
    const events = await h.sql<{ method: string }[]>`
      select data->>'method' as method from audit_events
      where organization_id = ${org.id} and type = 'signed_in' order by id`;
    expect(events.map((e) => e.method)).toEqual([
      'trusted_network',
      'trusted_network',
      'trusted_device',
      'trusted_device',
    ]);
  });

  it('POST /v1/challenges with a device token that is not trusted: the read, then the insert', async () => {
    const { org, users } = await skipOrg();
    const start = (userId: string) => () =>
      h.request('POST', '/v1/challenges', {
        key: org.apiKey,
        body: { userId, ip: '10.1.1.3', deviceToken: 'tfd_not-a-device' },
      });
    await statementsOf(start(users[0]!.id));
    const started = await statementsOf(start(users[1]!.id));
    expect(started.body.result).toBe('challenge_required');
    expect(started.statements).toHaveLength(2);
  });

  /** The SMS code of the challenge's current send (queued by this process, so hinted). */
  const CODE = '123456';
  async function sendCode(challengeId: string) {
    const [send] = await h.sql<{ id: string }[]>`
      select current_send_id as id from challenges where id = ${challengeId}`;
    await h.sql`update sms_sends set code_hash = ${hashSecret(APP_SECRET, 'code', CODE, send!.id)},
      status = 'sent' where id = ${send!.id}`;
  }

  /** A challenge started for `userId` whose SMS code is CODE. */
  async function smsChallenge(org: { apiKey: string }, userId: string) {
    const started = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId, ip: '10.1.2.5' },
    });
    const id = started.body.challenge.id as string;
    await sendCode(id);
    return id;
  }

  const verifyWith = (org: { apiKey: string }, id: string, code: string) => () =>
    h.request('POST', `/v1/challenges/${id}/verify`, { key: org.apiKey, body: { code } });

  const wrongAttempts = async (id: string) => {
    const [row] = await h.sql<{ n: number }[]>`
      select wrong_attempts as n from challenges where id = ${id}`;
    return row!.n;
  };

  it('POST /v1/challenges/{id}/verify: one statement', async () => {
    const { org, users } = await orgWithUsers(2);
    await statementsOf(verifyWith(org, await smsChallenge(org, users[0]!.id), CODE));
    const id = await smsChallenge(org, users[1]!.id);
    const approved = await statementsOf(verifyWith(org, id, CODE));
    expect(approved.body.result).toBe('authenticated');
    expect(approved.statements).toHaveLength(1);
  });

  it('POST /v1/challenges/{id}/verify, wrong SMS codes: one statement each, up to the lock and after', async () => {
    const { org, users } = await orgWithUsers(2);
    await statementsOf(verifyWith(org, await smsChallenge(org, users[0]!.id), '000000'), 422);
    const id = await smsChallenge(org, users[1]!.id);
    for (let attempt = 1; attempt < MAX_WRONG_ATTEMPTS; attempt++) {
      const wrong = await statementsOf(verifyWith(org, id, '000000'), 422);
      expect(wrong.body).toMatchObject({
        code: 'invalid_code',
        attemptsRemaining: MAX_WRONG_ATTEMPTS - attempt,
      });
      expect(wrong.statements).toHaveLength(1);
    }
    // The last one locks the challenge; one more finds it locked. Each is one statement.
    const locking = await statementsOf(verifyWith(org, id, '000000'), 423);
    expect(locking.body).toMatchObject({ code: 'challenge_locked', attemptsRemaining: 0 });
    expect(locking.statements).toHaveLength(1);
    const refused = await statementsOf(verifyWith(org, id, CODE), 423);
    expect(refused.body).toMatchObject({ code: 'challenge_locked', attemptsRemaining: 0 });
    expect(refused.statements).toHaveLength(1);
    expect(await wrongAttempts(id)).toBe(MAX_WRONG_ATTEMPTS);
    const [user] = await h.sql<{ n: number }[]>`
      select consecutive_code_failures as n from users where id = ${users[1]!.id}`;
    expect(user!.n).toBe(MAX_WRONG_ATTEMPTS);
  });

  it('POST /v1/challenges/{id}/verify with an authenticator allowed: the statement counts nothing, the app code is tried', async () => {
    const { org, users } = await orgWithUsers(1);
    const userId = users[0]!.id;
    const enroll = await h.request('POST', `/v1/users/${userId}/totp`, { key: org.apiKey });
    const secret = Secret.fromBase32(enroll.body.secret);
    const codeAt = (ms: number) => TOTP.generate({ secret, timestamp: ms });
    // Confirmed with the step before the current one, so the current step is still unused.
    const now = h.clock.now().getTime();
    const confirmed = await h.request('POST', `/v1/users/${userId}/totp/confirm`, {
      key: org.apiKey,
      body: { code: codeAt(now - 30_000) },
    });
    expect(confirmed.status).toBe(200);
    // An app user's challenge sends its SMS on a resend: that send is this process's hint.
    const started = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId, ip: '10.1.2.6' },
    });
    const id = started.body.challenge.id as string;
    expect(started.body.challenge.methods).toContain('totp');
    const resent = await h.request('POST', `/v1/challenges/${id}/resend`, { key: org.apiKey });
    expect(resent.status).toBe(202);
    await sendCode(id);
    // Neither the SMS code nor one the app takes now (a step either side included).
    const app = [-30_000, 0, 30_000].map((d) => codeAt(now + d));
    const wrong = ['000000', '000001', '000002', '000003', '000004'].find(
      (c) => c !== CODE && !app.includes(c),
    )!;
    // The hinted statement, the authenticator's read, then the count: once.
    const counted = await statementsOf(verifyWith(org, id, wrong), 422);
    expect(counted.body).toMatchObject({
      code: 'invalid_code',
      attemptsRemaining: MAX_WRONG_ATTEMPTS - 1,
    });
    expect(counted.statements).toHaveLength(3);
    expect(await wrongAttempts(id)).toBe(1);
    const byApp = await statementsOf(verifyWith(org, id, codeAt(now)));
    expect(byApp.body).toMatchObject({ result: 'authenticated', method: 'totp' });
    expect(await wrongAttempts(id)).toBe(1);
  });
});
