/**
 * A user's phone or password changes while a challenge is open: the change
 * cancels it in the same transaction (the code already sent no longer
 * verifies, resend and phone are refused), and an approval needs the
 * challenge's number to still be the user's.
 */
import { RESEND_COOLDOWN_MS } from '@twofa/core';
import { approveChallenge } from '@twofa/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { END_USER_IP, finnishMobile, messagesTo, nextCode, PASSWORD } from '../security/support.ts';
import { createHarness, type Harness } from '../support/index.ts';

let h: Harness;
let org: { id: string; apiKey: string };

beforeAll(async () => {
  h = await createHarness();
  org = await h.createOrganization({ name: 'Clinic', country: 'FI' });
  await h.topUp(org.id, 200);
  await h.enableTwoFactor(org.apiKey);
});
afterAll(async () => {
  await h?.close();
});

let n = 0;
async function userWithCode() {
  const phone = finnishMobile();
  const email = `cc${n++}@example.com`;
  const user = await h.createUser(org.apiKey, { email, password: PASSWORD, phone });
  const seen = messagesTo(h, phone);
  const start = await h.request('POST', '/v1/logins', {
    key: org.apiKey,
    body: { email, password: PASSWORD, ip: END_USER_IP },
  });
  expect(start.status, JSON.stringify(start.body)).toBe(200);
  const challengeId: string = start.body.challenge.id;
  const code = await nextCode(h, phone, seen);
  return { user, email, phone, challengeId, code };
}

function verify(challengeId: string, code: string) {
  return h.request('POST', `/v1/challenges/${challengeId}/verify`, {
    key: org.apiKey,
    body: { code },
  });
}

async function expectCanceled(challengeId: string, code: string) {
  const read = await h.request('GET', `/v1/challenges/${challengeId}`, { key: org.apiKey });
  expect(read.body.status).toBe('canceled');
  const [row] = await h.sql<{ canceledAt: Date | null }[]>`
    select canceled_at as "canceledAt" from challenges where id = ${challengeId}`;
  expect(row?.canceledAt).toBeInstanceOf(Date);
  const verified = await verify(challengeId, code);
  expect(verified.status, JSON.stringify(verified.body)).toBe(409);
  expect(verified.body.code).toBe('challenge_not_pending');
  await h.travel(RESEND_COOLDOWN_MS + 1_000);
  const resent = await h.request('POST', `/v1/challenges/${challengeId}/resend`, {
    key: org.apiKey,
  });
  expect(resent.status).toBe(409);
  expect(resent.body.code).toBe('challenge_not_pending');
  const phoned = await h.request('POST', `/v1/challenges/${challengeId}/phone`, {
    key: org.apiKey,
    body: { phone: finnishMobile() },
  });
  expect(phoned.status).toBe(409);
  expect(phoned.body.code).toBe('challenge_not_pending');
}

async function openDevices(userId: string): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from trusted_devices where user_id = ${userId} and revoked_at is null`;
  return row!.n;
}

describe('a credential change cancels open challenges', () => {
  it('a new phone cancels a pending challenge: its code no longer verifies, nothing goes to the old number', async () => {
    const { user, phone, challengeId, code } = await userWithCode();
    const patched = await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { phone: finnishMobile() },
    });
    expect(patched.status).toBe(200);
    await expectCanceled(challengeId, code);
    expect(messagesTo(h, phone)).toBe(1);
    expect(await openDevices(user.id)).toBe(0);
    const audit = await h.sql<{ data: Record<string, unknown> }[]>`
      select data from audit_events where type = 'phone_changed' and data->>'userId' = ${user.id}`;
    expect(audit[0]?.data.canceledChallenges).toBe(1);
  });

  it('a new password cancels a pending challenge', async () => {
    const { user, challengeId, code } = await userWithCode();
    const patched = await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { password: 'a brand new passphrase' },
    });
    expect(patched.status).toBe(200);
    await expectCanceled(challengeId, code);
  });

  it('a new password cancels a phone_required challenge, so no phone can be submitted to it', async () => {
    const email = `np${n++}@example.com`;
    const user = await h.createUser(org.apiKey, { email, password: PASSWORD });
    const start = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { email, password: PASSWORD, ip: END_USER_IP },
    });
    expect(start.body.challenge.status).toBe('phone_required');
    await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { password: 'another brand new passphrase' },
    });
    await expectCanceled(start.body.challenge.id, '000000');
  });

  it('other changes (role, exemption) leave open challenges alone', async () => {
    const { user, challengeId, code } = await userWithCode();
    await h.request('PATCH', `/v1/users/${user.id}`, { key: org.apiKey, body: { role: 'admin' } });
    const read = await h.request('GET', `/v1/challenges/${challengeId}`, { key: org.apiKey });
    expect(read.body.status).toBe('pending');
    expect((await verify(challengeId, code)).status).toBe(200);
  });

  it('a phone change racing a right code leaves no trusted device minted for the old number', async () => {
    for (let i = 0; i < 6; i++) {
      const { user, challengeId, code } = await userWithCode();
      const [verified, patched] = await Promise.all([
        verify(challengeId, code),
        h.request('PATCH', `/v1/users/${user.id}`, {
          key: org.apiKey,
          body: { phone: finnishMobile() },
        }),
      ]);
      expect(patched.status).toBe(200);
      expect([200, 409]).toContain(verified.status);
      // Whichever came first, the change revoked every device the old number got.
      expect(await openDevices(user.id)).toBe(0);
    }
  });
});

describe('approval needs the number to still be the user', () => {
  const approve = (challengeId: string, sendId: string) =>
    approveChallenge(h.services.db.sql, {
      organizationId: org.id,
      challengeId,
      sendId,
      deviceTokenHash: `hash-${challengeId}`,
      deviceExpiresAt: new Date(Date.now() + 86_400_000),
    });

  async function sendOf(challengeId: string): Promise<string> {
    const [row] = await h.sql<{ sendId: string }[]>`
      select current_send_id as "sendId" from challenges where id = ${challengeId}`;
    return row!.sendId;
  }

  it('refuses a pending challenge whose number is no longer on the profile', async () => {
    const { user, challengeId } = await userWithCode();
    // A change that bypassed the cancel (another writer): the number moved on.
    await h.sql`update users set phone = ${finnishMobile()} where id = ${user.id}`;
    expect(await approve(challengeId, await sendOf(challengeId))).toBeNull();
    expect(await openDevices(user.id)).toBe(0);
  });

  it('does not let a phone submitted through /phone overwrite one an admin set meanwhile', async () => {
    const email = `ph${n++}@example.com`;
    const user = await h.createUser(org.apiKey, { email, password: PASSWORD });
    const start = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { email, password: PASSWORD, ip: END_USER_IP },
    });
    const challengeId: string = start.body.challenge.id;
    const submitted = finnishMobile();
    const phoned = await h.request('POST', `/v1/challenges/${challengeId}/phone`, {
      key: org.apiKey,
      body: { phone: submitted },
    });
    expect(phoned.status).toBe(200);
    const adminSet = finnishMobile();
    await h.sql`update users set phone = ${adminSet} where id = ${user.id}`;
    expect(await approve(challengeId, await sendOf(challengeId))).toBeNull();
    const read = await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    expect(read.body.phone).toBe(adminSet);
    expect(await openDevices(user.id)).toBe(0);
  });

  it('still saves a phone submitted through /phone when the profile has none', async () => {
    const email = `ok${n++}@example.com`;
    const user = await h.createUser(org.apiKey, { email, password: PASSWORD });
    const start = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { email, password: PASSWORD, ip: END_USER_IP },
    });
    const challengeId: string = start.body.challenge.id;
    const phone = finnishMobile();
    await h.request('POST', `/v1/challenges/${challengeId}/phone`, {
      key: org.apiKey,
      body: { phone },
    });
    const code = await nextCode(h, phone, 0);
    expect((await verify(challengeId, code)).status).toBe(200);
    const read = await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    expect(read.body.phone).toBe(phone);
  });
});
