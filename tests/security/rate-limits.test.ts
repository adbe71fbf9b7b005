/**
 * Attack: brute force and SMS flooding from one address, at one user, at one
 * number (across tenants) or through one tenant. Control: Redis counters shared
 * by every API process, refused with 429 rate_limited before anything is stored.
 */

import type { Refund } from '@twofa/api';
import { loadConfig } from '@twofa/config';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JsonResponse, withHarness } from '../support/index.ts';
import { anotherInstance, finnishMobile, type Instance, PASSWORD } from './support.ts';

const LIMITS = {
  RATE_LIMIT_IP_LOGINS_PER_MINUTE: 3,
  RATE_LIMIT_USER_CHALLENGES_PER_HOUR: 2,
  RATE_LIMIT_DESTINATION_SENDS_PER_HOUR: 2,
  RATE_LIMIT_ORG_SENDS_PER_MINUTE: 3,
};

const h = withHarness({
  worker: false,
  env: Object.fromEntries(Object.entries(LIMITS).map(([k, v]) => [k, String(v)])),
});
let second: Instance;

beforeAll(async () => {
  second = anotherInstance(h);
});
afterAll(async () => {
  await second?.close();
});

async function newOrg(opts: { twoFactor?: boolean } = {}) {
  const org = await h.createOrganization({ name: 'Clinic', country: 'FI' });
  await h.topUp(org.id, 100);
  if (opts.twoFactor !== false) await h.enableTwoFactor(org.apiKey);
  return org;
}

function login(key: string, email: string, ip: string) {
  return h.request('POST', '/v1/logins', { key, body: { email, password: PASSWORD, ip } });
}

function expectLimited(res: JsonResponse, limit: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(429);
  expect(res.body).toMatchObject({ code: 'rate_limited', limit });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1).toBe(true);
  expect(res.headers.get('content-type')).toContain('application/problem+json');
}

async function rowCounts(orgId: string) {
  const [row] = await h.sql<{ challenges: number; sends: number; ledger: number }[]>`
    select (select count(*)::int from challenges where organization_id = ${orgId}) as challenges,
      (select count(*)::int from sms_sends where organization_id = ${orgId}) as sends,
      (select count(*)::int from sms_ledger where organization_id = ${orgId}) as ledger`;
  return row!;
}

describe('rate limits', () => {
  it('has the contract defaults when nothing is configured', () => {
    const env = loadConfig({ NODE_ENV: 'test' }).env;
    expect(env.RATE_LIMIT_IP_LOGINS_PER_MINUTE).toBe(30);
    expect(env.RATE_LIMIT_USER_CHALLENGES_PER_HOUR).toBe(10);
    expect(env.RATE_LIMIT_DESTINATION_SENDS_PER_HOUR).toBe(10);
    expect(env.RATE_LIMIT_ORG_SENDS_PER_MINUTE).toBe(600);
  });

  it('limits logins per end-user IP from the body, whatever the spelling of the address', async () => {
    const org = await newOrg({ twoFactor: false });
    await h.createUser(org.apiKey, { email: 'ip@example.com', password: PASSWORD });
    // Three spellings of one client: the counter must not be dodged by rewriting the address.
    for (const ip of ['198.51.100.10', '::ffff:198.51.100.10', '::ffff:c633:640a']) {
      const ok = await login(org.apiKey, 'ip@example.com', ip);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    }
    expectLimited(await login(org.apiKey, 'ip@example.com', '198.51.100.10'), 'ip_logins');
    // Another end user behind the same host app is not affected.
    expect((await login(org.apiKey, 'ip@example.com', '198.51.100.11')).status).toBe(200);
  });

  it('counts /v1/challenges toward the same per-IP limit, after the 404 for unknown users', async () => {
    const org = await newOrg({ twoFactor: false });
    const user = await h.createUser(org.apiKey, { email: 'ch@example.com', password: PASSWORD });
    const ip = '198.51.100.20';
    for (let i = 0; i < LIMITS.RATE_LIMIT_IP_LOGINS_PER_MINUTE; i++) {
      const ok = await h.request('POST', '/v1/challenges', {
        key: org.apiKey,
        body: { userId: user.id, ip },
      });
      expect(ok.status).toBe(200);
    }
    const limited = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user.id, ip },
    });
    expectLimited(limited, 'ip_logins');
    // Precedence: not found comes before limits.
    const unknown = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: '00000000-0000-4000-8000-000000000000', ip },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('not_found');
  });

  it('limits challenges per user, phone_required ones included, and stores nothing when refusing', async () => {
    const org = await newOrg();
    const user = await h.createUser(org.apiKey, {
      email: 'nophone@example.com',
      password: PASSWORD,
    });
    for (let i = 0; i < LIMITS.RATE_LIMIT_USER_CHALLENGES_PER_HOUR; i++) {
      const res = await login(org.apiKey, 'nophone@example.com', `198.51.100.${30 + i}`);
      expect(res.body.challenge?.status).toBe('phone_required');
    }
    const before = await rowCounts(org.id);
    expectLimited(
      await login(org.apiKey, 'nophone@example.com', '198.51.100.39'),
      'user_challenges',
    );
    expectLimited(
      await h.request('POST', '/v1/challenges', {
        key: org.apiKey,
        body: { userId: user.id, ip: '198.51.100.39' },
      }),
      'user_challenges',
    );
    expect(await rowCounts(org.id)).toEqual(before);
  });

  it('limits sends per destination number across organizations', async () => {
    const phone = finnishMobile();
    const orgA = await newOrg();
    const orgB = await newOrg();
    await h.createUser(orgA.apiKey, { email: 'a1@example.com', password: PASSWORD, phone });
    await h.createUser(orgB.apiKey, { email: 'b1@example.com', password: PASSWORD, phone });
    await h.createUser(orgB.apiKey, { email: 'b2@example.com', password: PASSWORD, phone });
    const first = await login(orgA.apiKey, 'a1@example.com', '198.51.100.40');
    expect(first.status).toBe(200);
    expect((await login(orgB.apiKey, 'b1@example.com', '198.51.100.41')).status).toBe(200);

    const before = await rowCounts(orgB.id);
    const refused = await login(orgB.apiKey, 'b2@example.com', '198.51.100.42');
    expectLimited(refused, 'destination_sends');
    expect(await rowCounts(orgB.id)).toEqual(before);

    // A phone submission to that number is refused too, and the challenge is left as it was.
    await h.createUser(orgB.apiKey, { email: 'b3@example.com', password: PASSWORD });
    const started = await login(orgB.apiKey, 'b3@example.com', '198.51.100.43');
    const id = started.body.challenge.id;
    const submit = await h.request('POST', `/v1/challenges/${id}/phone`, {
      key: orgB.apiKey,
      body: { phone },
    });
    expectLimited(submit, 'destination_sends');
    const after = await h.request('GET', `/v1/challenges/${id}`, { key: orgB.apiKey });
    expect(after.body.status).toBe('phone_required');

    // Precedence: another tenant's challenge is a 404, a challenge in the wrong state a 409.
    const foreign = await h.request('POST', `/v1/challenges/${id}/phone`, {
      key: orgA.apiKey,
      body: { phone },
    });
    expect(foreign.status).toBe(404);
    const pending = await h.request('POST', `/v1/challenges/${first.body.challenge.id}/phone`, {
      key: orgA.apiKey,
      body: { phone },
    });
    expect(pending.status).toBe(409);
    expect(pending.body.code).toBe('phone_already_set');
    expectLimited(await login(orgA.apiKey, 'a1@example.com', '198.51.100.44'), 'destination_sends');
  });

  it('gives the points back when one limit refuses, so a refused start does not use up the user', async () => {
    const org = await newOrg();
    const spent = finnishMobile();
    const other = await newOrg();
    // Spend the number's hourly sends in another organization.
    for (let i = 0; i < LIMITS.RATE_LIMIT_DESTINATION_SENDS_PER_HOUR; i++) {
      await h.createUser(other.apiKey, {
        email: `o${i}@example.com`,
        password: PASSWORD,
        phone: spent,
      });
      expect((await login(other.apiKey, `o${i}@example.com`, `198.51.100.5${i}`)).status).toBe(200);
    }
    const user = await h.createUser(org.apiKey, {
      email: 'refund@example.com',
      password: PASSWORD,
      phone: spent,
    });
    for (let i = 0; i < 3; i++) {
      expectLimited(
        await login(org.apiKey, 'refund@example.com', '198.51.100.60'),
        'destination_sends',
      );
    }
    // The refusals took none of the user's 2 challenges an hour.
    await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { phone: finnishMobile() },
    });
    for (let i = 0; i < LIMITS.RATE_LIMIT_USER_CHALLENGES_PER_HOUR; i++) {
      const res = await login(org.apiKey, 'refund@example.com', `198.51.100.6${i + 1}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
  });

  it('limits sends per organization, and leaves other organizations alone', async () => {
    const org = await newOrg();
    const other = await newOrg();
    for (let i = 0; i <= LIMITS.RATE_LIMIT_ORG_SENDS_PER_MINUTE; i++) {
      await h.createUser(org.apiKey, {
        email: `u${i}@example.com`,
        password: PASSWORD,
        phone: finnishMobile(),
      });
    }
    for (let i = 0; i < LIMITS.RATE_LIMIT_ORG_SENDS_PER_MINUTE; i++) {
      expect((await login(org.apiKey, `u${i}@example.com`, `198.51.100.7${i}`)).status).toBe(200);
    }
    const before = await rowCounts(org.id);
    const n = LIMITS.RATE_LIMIT_ORG_SENDS_PER_MINUTE;
    expectLimited(await login(org.apiKey, `u${n}@example.com`, '198.51.100.79'), 'org_sends');
    expect(await rowCounts(org.id)).toEqual(before);

    await h.createUser(other.apiKey, {
      email: 'x@example.com',
      password: PASSWORD,
      phone: finnishMobile(),
    });
    expect((await login(other.apiKey, 'x@example.com', '198.51.100.80')).status).toBe(200);
  });

  it('shares its counters between two API instances on the same Redis prefix', async () => {
    const org = await newOrg({ twoFactor: false });
    await h.createUser(org.apiKey, { email: 'shared@example.com', password: PASSWORD });
    const ip = '198.51.100.90';
    const body = { email: 'shared@example.com', password: PASSWORD, ip };
    expect((await h.request('POST', '/v1/logins', { key: org.apiKey, body })).status).toBe(200);
    expect((await second.request('POST', '/v1/logins', { key: org.apiKey, body })).status).toBe(
      200,
    );
    expect((await h.request('POST', '/v1/logins', { key: org.apiKey, body })).status).toBe(200);
    expectLimited(
      await second.request('POST', '/v1/logins', { key: org.apiKey, body }),
      'ip_logins',
    );
    expectLimited(await h.request('POST', '/v1/logins', { key: org.apiKey, body }), 'ip_logins');

    // Destination counters too: one send through each instance spends the number.
    const phone = finnishMobile();
    const tfa = await newOrg();
    for (const [i, email] of ['d1@example.com', 'd2@example.com', 'd3@example.com'].entries()) {
      await h.createUser(tfa.apiKey, { email, password: PASSWORD, phone });
      const options = {
        key: tfa.apiKey,
        body: { email, password: PASSWORD, ip: `198.51.100.9${i + 1}` },
      };
      const res =
        i % 2 === 0
          ? await h.request('POST', '/v1/logins', options)
          : await second.request('POST', '/v1/logins', options);
      if (i < LIMITS.RATE_LIMIT_DESTINATION_SENDS_PER_HOUR) expect(res.status).toBe(200);
      else expectLimited(res, 'destination_sends');
    }
  });

  it('keeps every counter in one Redis Cluster hash slot, so one script may take them all', () => {
    const limits = [
      'ip_logins',
      'user_challenges',
      'destination_sends',
      'org_sends',
      'account_failures',
    ] as const;
    const tags = limits.map((limit) => {
      const key = h.services.rateLimits.key(limit, '{odd}:key');
      // Redis Cluster hashes the first {...} of a key when it is not empty.
      return /\{([^}]+)\}/.exec(key)?.[1];
    });
    expect(tags[0]).toBeTruthy();
    expect(new Set(tags).size).toBe(1);
  });

  it('falls back to per-process counters when Redis is away, still all or nothing', async () => {
    const away = anotherInstance(h, { REDIS_URL: 'redis://127.0.0.1:1' });
    try {
      const limits = away.services.rateLimits;
      const phone = finnishMobile();
      const outcomes = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          limits.admit({
            take: [
              ['org_sends', 'org-away'],
              ['destination_sends', i % 2 === 0 ? phone : finnishMobile()],
            ],
          }),
        ),
      );
      const refused = outcomes.filter((o) => o.status === 'rejected');
      // The shared number allows 2 of its 5; the other 5 numbers are fresh, and the org allows 3.
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(
        LIMITS.RATE_LIMIT_ORG_SENDS_PER_MINUTE,
      );
      for (const r of refused) {
        expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 'rate_limited' });
      }
      expect(await limits.used('org_sends', 'org-away')).toBe(
        LIMITS.RATE_LIMIT_ORG_SENDS_PER_MINUTE,
      );
      expect(await limits.used('destination_sends', phone)).toBeLessThanOrEqual(
        LIMITS.RATE_LIMIT_DESTINATION_SENDS_PER_HOUR,
      );
      // A refund gives the points back, once however often it is called.
      const taken = outcomes.find(
        (o): o is PromiseFulfilledResult<Refund> => o.status === 'fulfilled',
      )!;
      await taken.value.give();
      await taken.value.give();
      expect(await limits.used('org_sends', 'org-away')).toBe(
        LIMITS.RATE_LIMIT_ORG_SENDS_PER_MINUTE - 1,
      );
    } finally {
      await away.close();
    }
  });
});
