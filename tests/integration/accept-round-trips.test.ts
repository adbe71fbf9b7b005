/**
 * Redis round trips on the accept path, counted as ioredis sends them (commands under
 * this file's own prefix; those a script runs inside Redis are not round trips).
 * `/v1/challenges`: the per-address point and the send limits in one script, then
 * BullMQ's add. `/v1/logins`: the address-and-account take before the password is
 * checked, then the account's point given back (a right password) and the send limits in
 * one script, then BullMQ's add.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finnishMobile, PASSWORD } from '../security/support.ts';
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
