/**
 * Attack: read every tenant's codes and full numbers from /dev/sms on a
 * deployment that runs the console provider under a NODE_ENV other than
 * `production` (`staging`, or none at all). Control: the inbox exists only
 * when NODE_ENV is `development` or `test`, as the development secrets do.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/index.ts';
import { anotherInstance, type Instance } from './support.ts';

describe('the dev SMS inbox', () => {
  let h: Harness;
  const instances: Instance[] = [];

  beforeAll(async () => {
    h = await createHarness({ worker: false });
  });
  afterAll(async () => {
    for (const instance of instances) await instance.close();
    await h?.close();
  });

  /** An API on the harness's database and Redis with the console provider and this NODE_ENV. */
  function consoleInstance(nodeEnv: string | undefined): Instance {
    const instance = anotherInstance(h, {
      NODE_ENV: nodeEnv,
      SMS_PROVIDER: 'console',
      TWILIO_ACCOUNT_SID: undefined,
      TWILIO_AUTH_TOKEN: undefined,
    });
    instances.push(instance);
    return instance;
  }

  it.each([
    ['staging', 404],
    ['unset', 404],
    ['production', 404],
    ['Development', 404],
    ['development', 200],
    ['test', 200],
  ])('NODE_ENV=%s answers %i', async (nodeEnv, status) => {
    const instance = consoleInstance(nodeEnv === 'unset' ? undefined : nodeEnv);
    // The producer connection fails fast until it is up.
    await h.waitFor(async () => instance.services.redis.status === 'ready');
    const res = await instance.app.request('/dev/sms');
    expect(res.status).toBe(status);
  });
});
