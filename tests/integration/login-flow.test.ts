import { beforeAll, describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';

const h = withHarness();
let org: { id: string; apiKey: string };

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
  await h.topUp(org.id, 100);
  await h.enableTwoFactor(org.apiKey);
});

const IP = '203.0.113.9';

async function startLogin(
  email: string,
  password = 'correct horse battery',
  extra: Record<string, unknown> = {},
) {
  return h.request('POST', '/v1/logins', {
    key: org.apiKey,
    body: { email, password, ip: IP, ...extra },
  });
}

describe('the SMS login challenge', () => {
  it('sends a code to a user with a phone and approves the right code with a device token', async () => {
    await h.createUser(org.apiKey, {
      email: 'vet@example.com',
      password: 'correct horse battery',
      phone: '040 1234567',
    });
    const login = await startLogin('vet@example.com');
    expect(login.status).toBe(200);
    expect(login.body.result).toBe('challenge_required');
    const challenge = login.body.challenge;
    expect(challenge).toMatchObject({
      status: 'pending',
      maskedPhone: '+35840*****67',
      attemptsRemaining: 5,
      sendsRemaining: 4,
      delivery: { status: 'queued', errorCode: null },
      failureReason: null,
    });

    const sent = await h.waitFor(async () => {
      const res = await h.request('GET', `/v1/challenges/${challenge.id}`, { key: org.apiKey });
      return res.body.delivery?.status === 'sent' ? res.body : null;
    });
    expect(sent.status).toBe('pending');
    const code = h.lastCodeFor('+358401234567');
    expect(code).toMatch(/^\d{6}$/);

    const verify = await h.request('POST', `/v1/challenges/${challenge.id}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(verify.status).toBe(200);
    expect(verify.body).toMatchObject({ result: 'authenticated', userId: login.body.userId });
    expect(typeof verify.body.deviceToken).toBe('string');
    const expires = new Date(verify.body.deviceTokenExpiresAt).getTime();
    expect(expires - Date.now()).toBeGreaterThan(29.9 * 24 * 3600 * 1000);

    const again = await startLogin('vet@example.com', undefined, {
      deviceToken: verify.body.deviceToken,
    });
    expect(again.body).toEqual({
      result: 'authenticated',
      userId: login.body.userId,
      reason: 'trusted_device',
    });

    const balance = await h.request('GET', '/v1/sms-balance', { key: org.apiKey });
    expect(balance.body.balance).toBe(99);
    expect(balance.body.ledger[0]).toMatchObject({
      delta: -1,
      reason: 'sms_sent',
      balanceAfter: 99,
    });
  });

  it('asks a user without a phone for one and saves it only after the right code', async () => {
    const user = await h.createUser(org.apiKey, {
      email: 'nophone@example.com',
      password: 'correct horse battery',
    });
    const login = await startLogin('nophone@example.com');
    expect(login.body.challenge).toMatchObject({
      status: 'phone_required',
      maskedPhone: null,
      delivery: null,
    });
    const id = login.body.challenge.id;

    const bad = await h.request('POST', `/v1/challenges/${id}/phone`, {
      key: org.apiKey,
      body: { phone: '12' },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('invalid_phone');

    const set = await h.request('POST', `/v1/challenges/${id}/phone`, {
      key: org.apiKey,
      body: { phone: '+358 50 765 4321' },
    });
    expect(set.status).toBe(200);
    expect(set.body.status).toBe('pending');
    const twice = await h.request('POST', `/v1/challenges/${id}/phone`, {
      key: org.apiKey,
      body: { phone: '+358 50 765 4321' },
    });
    expect(twice.status).toBe(409);
    expect(twice.body.code).toBe('phone_already_set');

    const before = await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    expect(before.body.phone).toBeNull();
    const code = await h.waitFor(async () => h.lastCodeFor('+358507654321'));
    const ok = await h.request('POST', `/v1/challenges/${id}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(ok.status).toBe(200);
    const after = await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    expect(after.body.phone).toBe('+358507654321');
  });

  it('counts wrong codes down and locks on the fifth', async () => {
    await h.createUser(org.apiKey, {
      email: 'wrong@example.com',
      password: 'correct horse battery',
      phone: '+358401111111',
    });
    const login = await startLogin('wrong@example.com');
    const id = login.body.challenge.id;
    const code = await h.waitFor(async () => h.lastCodeFor('+358401111111'));
    const wrong = code === '000000' ? '111111' : '000000';
    for (let left = 4; left >= 1; left--) {
      const res = await h.request('POST', `/v1/challenges/${id}/verify`, {
        key: org.apiKey,
        body: { code: wrong },
      });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'invalid_code', attemptsRemaining: left });
    }
    const fifth = await h.request('POST', `/v1/challenges/${id}/verify`, {
      key: org.apiKey,
      body: { code: wrong },
    });
    expect(fifth.status).toBe(423);
    expect(fifth.body.code).toBe('challenge_locked');
    const right = await h.request('POST', `/v1/challenges/${id}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(right.status).toBe(423);
  });

  it('expires codes after 10 minutes', async () => {
    await h.createUser(org.apiKey, {
      email: 'slow@example.com',
      password: 'correct horse battery',
      phone: '+358402222222',
    });
    const login = await startLogin('slow@example.com');
    const id = login.body.challenge.id;
    const code = await h.waitFor(async () => h.lastCodeFor('+358402222222'));
    await h.travel(10 * 60 * 1000 + 1000);
    const res = await h.request('POST', `/v1/challenges/${id}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(res.status).toBe(410);
    expect(res.body.code).toBe('challenge_expired');
    const view = await h.request('GET', `/v1/challenges/${id}`, { key: org.apiKey });
    expect(view.body.status).toBe('expired');
  });

  it('enforces a 30 s resend cooldown and a cap of 5 sends; only the latest code works', async () => {
    await h.createUser(org.apiKey, {
      email: 'resend@example.com',
      password: 'correct horse battery',
      phone: '+358403333333',
    });
    const login = await startLogin('resend@example.com');
    const id = login.body.challenge.id;
    const first = await h.waitFor(async () => h.lastCodeFor('+358403333333'));
    const soon = await h.request('POST', `/v1/challenges/${id}/resend`, { key: org.apiKey });
    expect(soon.status).toBe(429);
    expect(soon.body.code).toBe('resend_too_soon');
    expect(Number(soon.headers.get('retry-after'))).toBeGreaterThan(0);
    let last = first;
    for (let n = 2; n <= 5; n++) {
      await h.travel(31_000);
      const res = await h.request('POST', `/v1/challenges/${id}/resend`, { key: org.apiKey });
      expect(res.status).toBe(202);
      expect(res.body.sendsRemaining).toBe(5 - n);
      const count = n;
      await h.waitFor(
        async () => h.twilio.messages.filter((m) => m.to === '+358403333333').length === count,
      );
      last = h.lastCodeFor('+358403333333')!;
    }
    await h.travel(31_000);
    const capped = await h.request('POST', `/v1/challenges/${id}/resend`, { key: org.apiKey });
    expect(capped.status).toBe(429);
    expect(capped.body.code).toBe('too_many_sends');
    if (first !== last) {
      const old = await h.request('POST', `/v1/challenges/${id}/verify`, {
        key: org.apiKey,
        body: { code: first },
      });
      expect(old.status).toBe(422);
    }
    const ok = await h.request('POST', `/v1/challenges/${id}/verify`, {
      key: org.apiKey,
      body: { code: last },
    });
    expect(ok.status).toBe(200);
  });
});
