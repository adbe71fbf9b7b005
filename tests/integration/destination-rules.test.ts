/**
 * Where codes may go, checked wherever a number enters or is used again:
 * number types that cannot or should not get a code (issue 10 item 8), the
 * allowed countries re-checked on resend (item 14), organization countries
 * that are real ISO 3166 codes (item 14), and users' phones inside the allowed
 * countries at creation and on PATCH (item 17).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createHarness, type Harness } from '../support/index.ts';

const PASSWORD = 'correct horse battery staple';
const SWEDISH = '+46701234567';

let h: Harness;
let org: { id: string; apiKey: string };

beforeAll(async () => {
  h = await createHarness();
  org = await h.createOrganization({ name: 'Destination Vets', country: 'FI' });
  await h.topUp(org.id, 20);
  await h.enableTwoFactor(org.apiKey);
});
afterAll(async () => {
  await h?.close();
});

const allow = (smsAllowedCountries: string[]) =>
  h.request('PATCH', '/v1/settings/password', { key: org.apiKey, body: { smsAllowedCountries } });

async function sendsAndBalance() {
  const balance = await h.request('GET', '/v1/sms-balance', { key: org.apiKey });
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from sms_sends where organization_id = ${org.id}`;
  return { balance: balance.body.balance as number, sends: row!.n };
}

describe('number types', () => {
  it.each([
    ['+358600123456', 'premium-rate'],
    ['+19005550199', 'premium-rate'],
    ['+18005550199', 'toll-free'],
  ])('POST /v1/users refuses %s as a %s number (422 invalid_phone)', async (phone, type) => {
    await allow([]);
    const res = await h.request('POST', '/v1/users', {
      key: org.apiKey,
      body: { email: `type-${phone}@example.com`, phone },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('invalid_phone');
    expect(res.body.detail).toContain(type);
    await allow(['FI']);
  });

  it('a challenge refuses a premium-rate number submitted through /phone', async () => {
    const user = await h.createUser(org.apiKey, {
      email: 'nophone-type@example.com',
      password: PASSWORD,
    });
    const start = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user.id, ip: '203.0.113.40' },
    });
    expect(start.body.challenge.status).toBe('phone_required');
    const res = await h.request('POST', `/v1/challenges/${start.body.challenge.id}/phone`, {
      key: org.apiKey,
      body: { phone: '0600 123456' },
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'invalid_phone' });
    expect(res.body.detail).toContain('premium-rate');
  });
});

describe("users' phones and the allowed countries", () => {
  it('POST /v1/users refuses a phone outside the list with 422 phone_country_not_allowed', async () => {
    const res = await h.request('POST', '/v1/users', {
      key: org.apiKey,
      body: { email: 'se-user@example.com', password: PASSWORD, phone: SWEDISH },
    });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'phone_country_not_allowed', country: 'SE' });
    const [row] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from users where email = 'se-user@example.com'`;
    expect(row!.n).toBe(0);
  });

  it('PATCH refuses one too, and leaves the phone as it was', async () => {
    const user = await h.createUser(org.apiKey, {
      email: 'fi-user@example.com',
      phone: '+358401119001',
    });
    const res = await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { phone: SWEDISH },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('phone_country_not_allowed');
    const got = await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    expect(got.body.phone).toBe('+358401119001');
    // Inside the list: accepted.
    const ok = await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { phone: '+358401119002' },
    });
    expect(ok.status).toBe(200);
  });

  it('an empty list allows any country, and normalizes +44 20 7946 0958 to +442079460958', async () => {
    await allow([]);
    const res = await h.request('POST', '/v1/users', {
      key: org.apiKey,
      body: { email: 'fmt-+442079460958@example.com', phone: '+44 20 7946 0958' },
    });
    await allow(['FI']);
    expect(res.status).toBe(201);
    expect(res.body.phone).toBe('+442079460958');
  });
});

describe('resend re-checks the allowed countries', () => {
  it('refuses a resend to a country the admin removed mid-challenge, spending nothing', async () => {
    await allow(['FI', 'SE']);
    const user = await h.createUser(org.apiKey, {
      email: 'resend-se@example.com',
      password: PASSWORD,
      phone: SWEDISH,
    });
    const start = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user.id, ip: '203.0.113.41' },
    });
    expect(start.status).toBe(200);
    const id = start.body.challenge.id as string;
    await h.waitFor(async () => h.twilio.messages.some((m) => m.to === SWEDISH), 20_000);

    await allow(['FI']);
    // Past the cooldown without waiting for it.
    await h.sql`update challenges set last_send_at = last_send_at - interval '1 minute' where id = ${id}`;
    const before = await sendsAndBalance();
    const res = await h.request('POST', `/v1/challenges/${id}/resend`, { key: org.apiKey });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'phone_country_not_allowed', country: 'SE' });
    expect(await sendsAndBalance()).toEqual(before);
    const [row] = await h.sql<{ sendCount: number }[]>`
      select send_count as "sendCount" from challenges where id = ${id}`;
    expect(row!.sendCount).toBe(1);
  });
});

describe("an organization's country", () => {
  it.each(['ZZ', 'XX', 'AA', 'QQ'])(
    '%s is not an ISO 3166 code: 400 invalid_request',
    async (country) => {
      const res = await h.request('POST', '/v1/organizations', {
        key: ADMIN_KEY,
        body: { name: 'Nowhere Clinic', country },
      });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_request');
      expect(JSON.stringify(res.body)).toContain('country');
    },
  );

  it('smsAllowedCountries refuses ZZ too', async () => {
    const settings = await allow(['FI', 'ZZ']);
    expect(settings.status).toBe(400);
    expect(settings.body.code).toBe('invalid_request');
    const after = await h.request('GET', '/v1/settings/password', { key: org.apiKey });
    expect(after.body.smsAllowedCountries).toEqual(['FI']);
  });

  it.each(['FI', 'se', 'XK', 'AC'])('%s is accepted', async (country) => {
    const res = await h.request('POST', '/v1/organizations', {
      key: ADMIN_KEY,
      body: { name: `Clinic ${country}`, country },
    });
    expect(res.status).toBe(201);
    expect(res.body.country).toBe(country.toUpperCase());
  });
});
