/**
 * Redis round trips on the accept path, counted as ioredis sends them (commands under
 * this file's own prefix; those a script runs inside Redis are not round trips).
 * `/v1/challenges`: the per-address point and the send limits in one script, then
 * BullMQ's add. `/v1/logins`: the address-and-account take before the password is
 * checked, then the account's point given back (a right password) and the send limits in
 * one script, then BullMQ's add.
 */
import { hashSecret } from '@twofa/core';
import { Redis } from 'ioredis';
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

  async function statementsOf(request: () => Promise<{ status: number; body: any }>) {
    statements = [];
    const res = await request();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
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

  it('POST /v1/challenges/{id}/verify: one statement', async () => {
    const { org, users } = await orgWithUsers(2);
    const verify = async (userId: string) => {
      const started = await h.request('POST', '/v1/challenges', {
        key: org.apiKey,
        body: { userId, ip: '10.1.2.5' },
      });
      const id = started.body.challenge.id as string;
      const code = '123456';
      const [send] = await h.sql<{ id: string }[]>`
        select current_send_id as id from challenges where id = ${id}`;
      await h.sql`update sms_sends set code_hash = ${hashSecret(APP_SECRET, 'code', code, send!.id)},
        status = 'sent' where id = ${send!.id}`;
      return () =>
        h.request('POST', `/v1/challenges/${id}/verify`, { key: org.apiKey, body: { code } });
    };
    await statementsOf(await verify(users[0]!.id));
    const approved = await statementsOf(await verify(users[1]!.id));
    expect(approved.body.result).toBe('authenticated');
    expect(approved.statements).toHaveLength(1);
  });
});
