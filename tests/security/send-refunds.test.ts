/**
 * Attack: parallel resends (or phone submissions) on one challenge, from any
 * tenant, to use up a victim number's hourly sends while one SMS goes out.
 * Control: a request that took its points and then sends nothing (it lost
 * the race, its statement failed) gives them back, so a number's counter
 * counts the sends that were committed, no more.
 */
import { RESEND_COOLDOWN_MS } from '@twofa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from '../support/index.ts';
import { finnishMobile, PASSWORD } from './support.ts';

let h: Harness;

beforeAll(async () => {
  h = await createHarness({
    worker: false,
    env: {
      RATE_LIMIT_DESTINATION_SENDS_PER_HOUR: '50',
      RATE_LIMIT_ORG_SENDS_PER_MINUTE: '100',
    },
  });
});
afterAll(async () => {
  await h?.close();
});

async function newOrg() {
  const org = await h.createOrganization({ name: 'Clinic', country: 'FI' });
  await h.topUp(org.id, 100);
  await h.enableTwoFactor(org.apiKey);
  return org;
}

async function sendsTo(phone: string): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from sms_sends where phone = ${phone}`;
  return row!.n;
}

async function orgSends(orgId: string): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from sms_sends where organization_id = ${orgId}`;
  return row!.n;
}

const used = (limit: Parameters<Harness['services']['rateLimits']['used']>[0], key: string) =>
  h.services.rateLimits.used(limit, key);

describe('points given back when nothing is sent', () => {
  it('20 resends at once on one challenge leave the number charged for the one that was sent', async () => {
    const org = await newOrg();
    const phone = finnishMobile();
    await h.createUser(org.apiKey, { email: 'r@example.com', password: PASSWORD, phone });
    const start = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { email: 'r@example.com', password: PASSWORD, ip: '203.0.113.50' },
    });
    expect(start.status).toBe(200);
    const id = start.body.challenge.id;
    await h.travel(RESEND_COOLDOWN_MS + 1_000);

    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        h.request('POST', `/v1/challenges/${id}/resend`, { key: org.apiKey }),
      ),
    );
    const accepted = responses.filter((r) => r.status === 202);
    expect(accepted).toHaveLength(1);
    for (const r of responses.filter((x) => x.status !== 202)) {
      expect(r.status, JSON.stringify(r.body)).toBe(429);
      expect(r.body.code).toBe('resend_too_soon');
    }
    // The start and the one resend: committed, and counted; the 19 losers took nothing.
    expect(await sendsTo(phone)).toBe(2);
    expect(await used('destination_sends', phone)).toBe(2);
    expect(await used('org_sends', org.id)).toBe(await orgSends(org.id));
  });

  it('phone submissions at once on one challenge count only the one that was taken', async () => {
    const org = await newOrg();
    await h.createUser(org.apiKey, { email: 'p@example.com', password: PASSWORD });
    const start = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { email: 'p@example.com', password: PASSWORD, ip: '203.0.113.51' },
    });
    expect(start.body.challenge.status).toBe('phone_required');
    const id = start.body.challenge.id;
    const phones = Array.from({ length: 10 }, () => finnishMobile());
    const responses = await Promise.all(
      phones.map((phone) =>
        h.request('POST', `/v1/challenges/${id}/phone`, { key: org.apiKey, body: { phone } }),
      ),
    );
    expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of responses.filter((x) => x.status !== 200)) {
      expect(r.status, JSON.stringify(r.body)).toBe(409);
      expect(r.body.code).toBe('phone_already_set');
    }
    for (const phone of phones) {
      expect(await used('destination_sends', phone)).toBe(await sendsTo(phone));
    }
    expect(await used('org_sends', org.id)).toBe(1);
  });

  it('a start whose insert fails gives back the points of its user, number and organization', async () => {
    const org = await newOrg();
    const phone = finnishMobile();
    const user = await h.createUser(org.apiKey, {
      email: 'broken@example.com',
      password: PASSWORD,
      phone,
    });
    // The database refuses this user's challenges: the insert fails after admission.
    await h.sql.unsafe(`
      create or replace function refuse_challenge() returns trigger language plpgsql as $$
      begin raise exception 'refused for the test'; end $$;
      create trigger refuse_challenge before insert on challenges for each row
        when (new.user_id = '${user.id}') execute function refuse_challenge();`);
    try {
      const res = await h.request('POST', '/v1/challenges', {
        key: org.apiKey,
        body: { userId: user.id, ip: '203.0.113.52' },
      });
      expect(res.status).toBe(500);
      expect(await used('destination_sends', phone)).toBe(0);
      expect(await used('org_sends', org.id)).toBe(0);
      expect(await used('user_challenges', user.id)).toBe(0);
    } finally {
      await h.sql.unsafe('drop trigger refuse_challenge on challenges');
    }
    const ok = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user.id, ip: '203.0.113.52' },
    });
    expect(ok.status).toBe(200);
    expect(await used('destination_sends', phone)).toBe(1);
  });
});
