/**
 * Attack: SMS pumping (toll fraud): codes sent to premium or foreign numbers
 * to drain the balance. Control: per-organization allowed destination
 * countries, refused with 422 phone_country_not_allowed before any credit moves.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';
import { END_USER_IP, finnishMobile, messagesTo, nextCode, PASSWORD } from './support.ts';

const SWEDISH = '+46701234567';

const h = withHarness();
let org: { id: string; apiKey: string };

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Helsinki Vets', country: 'FI' });
  await h.topUp(org.id, 50);
  await h.enableTwoFactor(org.apiKey);
});

async function money() {
  const balance = await h.request('GET', '/v1/sms-balance', { key: org.apiKey });
  const [sends] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from sms_sends where organization_id = ${org.id}`;
  return { balance: balance.body.balance, ledger: balance.body.ledger.length, sends: sends!.n };
}

function login(email: string) {
  return h.request('POST', '/v1/logins', {
    key: org.apiKey,
    body: { email, password: PASSWORD, ip: END_USER_IP },
  });
}

/** A send to an allowed number that completes: every earlier send has had its chance too. */
async function barrier(): Promise<void> {
  const phone = finnishMobile();
  const email = `barrier-${phone}@example.com`;
  await h.createUser(org.apiKey, { email, password: PASSWORD, phone });
  expect((await login(email)).status).toBe(200);
  await nextCode(h, phone, 0);
}

describe('allowed SMS countries', () => {
  it("starts as the organization's country", async () => {
    const settings = await h.request('GET', '/v1/settings/password', { key: org.apiKey });
    expect(settings.body.smsAllowedCountries).toEqual(['FI']);
  });

  it('refuses a login whose profile phone is outside the list, before any credit is spent', async () => {
    // POST /v1/users refuses a phone outside the list, so this is a user whose
    // phone was set before the list narrowed.
    const abroad = await h.createUser(org.apiKey, {
      email: 'abroad@example.com',
      password: PASSWORD,
    });
    await h.sql`update users set phone = ${SWEDISH} where id = ${abroad.id}`;
    const before = await money();
    const res = await login('abroad@example.com');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'phone_country_not_allowed', country: 'SE' });
    expect(res.body.detail).toContain('FI');
    await barrier();
    const after = await money();
    // The barrier spent exactly one credit; the refused login none.
    expect(after).toEqual({
      balance: before.balance - 1,
      ledger: before.ledger + 1,
      sends: before.sends + 1,
    });
    expect(messagesTo(h, SWEDISH)).toBe(0);
    const [challenges] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from challenges c join users u on u.id = c.user_id
      where u.email = 'abroad@example.com'`;
    expect(challenges!.n).toBe(0);
  });

  it('refuses a phone submitted for a challenge when it is outside the list', async () => {
    await h.createUser(org.apiKey, { email: 'nophone@example.com', password: PASSWORD });
    const started = await login('nophone@example.com');
    const id = started.body.challenge.id;
    const before = await money();
    const res = await h.request('POST', `/v1/challenges/${id}/phone`, {
      key: org.apiKey,
      body: { phone: SWEDISH },
    });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('phone_country_not_allowed');
    const challenge = await h.request('GET', `/v1/challenges/${id}`, { key: org.apiKey });
    expect(challenge.body).toMatchObject({ status: 'phone_required', maskedPhone: null });
    await barrier();
    const after = await money();
    expect(after.balance).toBe(before.balance - 1);
    expect(after.sends).toBe(before.sends + 1);
    expect(messagesTo(h, SWEDISH)).toBe(0);

    // An allowed number still works on the same challenge.
    const fi = finnishMobile();
    const ok = await h.request('POST', `/v1/challenges/${id}/phone`, {
      key: org.apiKey,
      body: { phone: fi },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.status).toBe('pending');
  });

  it('sends abroad once the country is allowed, and anywhere when the list is empty', async () => {
    const allow = await h.request('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      body: { smsAllowedCountries: ['FI', 'SE'] },
    });
    expect(allow.body.smsAllowedCountries).toEqual(['FI', 'SE']);
    expect((await login('abroad@example.com')).status).toBe(200);
    await nextCode(h, SWEDISH, 0);

    await h.request('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      body: { smsAllowedCountries: ['FI'] },
    });
    expect((await login('abroad@example.com')).status).toBe(422);
    await h.request('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      body: { smsAllowedCountries: [] },
    });
    expect((await login('abroad@example.com')).status).toBe(200);
  });
});
