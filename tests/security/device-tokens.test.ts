/**
 * Attack: a stolen or replayed device token, used after its time, after the
 * account's authenticator changed, for another user or in another tenant.
 * Control: tokens stored as keyed hashes, bound to user and organization,
 * 30-day expiry, revocable by the admin and revoked on phone/password change.
 */
import { TRUSTED_DEVICE_TTL_MS } from '@twofa/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';
import { END_USER_IP, finnishMobile, fullLogin, PASSWORD } from './support.ts';

const h = withHarness();
let orgA: { id: string; apiKey: string };
let orgB: { id: string; apiKey: string };

beforeAll(async () => {
  orgA = await h.createOrganization({ name: 'Clinic A', country: 'FI' });
  orgB = await h.createOrganization({ name: 'Clinic B', country: 'FI' });
  for (const org of [orgA, orgB]) {
    await h.topUp(org.id, 100);
    await h.enableTwoFactor(org.apiKey);
  }
});

async function userWithToken(org: { apiKey: string }, email: string) {
  const phone = finnishMobile();
  const user = await h.createUser(org.apiKey, { email, password: PASSWORD, phone });
  const { deviceToken } = await fullLogin(h, org.apiKey, { email, phone });
  return { id: user.id, email, phone, deviceToken };
}

function login(org: { apiKey: string }, email: string, deviceToken: string, password = PASSWORD) {
  return h.request('POST', '/v1/logins', {
    key: org.apiKey,
    body: { email, password, ip: END_USER_IP, deviceToken },
  });
}

function challengeFor(org: { apiKey: string }, userId: string, deviceToken: string) {
  return h.request('POST', '/v1/challenges', {
    key: org.apiKey,
    body: { userId, ip: END_USER_IP, deviceToken },
  });
}

async function expectTrusted(org: { apiKey: string }, email: string, token: string) {
  const res = await login(org, email, token);
  expect(res.body).toMatchObject({ result: 'authenticated', reason: 'trusted_device' });
}

async function expectNotTrusted(org: { apiKey: string }, email: string, token: string) {
  const res = await login(org, email, token);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.result).toBe('challenge_required');
}

describe('device tokens', () => {
  it('are stored only as hashes', async () => {
    const alice = await userWithToken(orgA, 'alice@example.com');
    expect(alice.deviceToken.length).toBeGreaterThanOrEqual(32);
    const rows = await h.sql`select * from trusted_devices where user_id = ${alice.id}`;
    expect(rows).toHaveLength(1);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(alice.deviceToken);
    expect(stored).not.toContain(alice.deviceToken.slice(4));
    expect(rows[0]!.token_hash).not.toBe(alice.deviceToken);
    await expectTrusted(orgA, alice.email, alice.deviceToken);
  });

  it('never skip 2FA for another user, in the same organization or another', async () => {
    const alice = await userWithToken(orgA, 'alice2@example.com');
    const bob = await h.createUser(orgA.apiKey, { email: 'bob@example.com', password: PASSWORD });
    await expectNotTrusted(orgA, 'bob@example.com', alice.deviceToken);
    const viaChallenges = await challengeFor(orgA, bob.id, alice.deviceToken);
    expect(viaChallenges.body.result).toBe('challenge_required');

    // Same email and password in organization B: still not Alice's device there.
    await h.createUser(orgB.apiKey, { email: alice.email, password: PASSWORD });
    await expectNotTrusted(orgB, alice.email, alice.deviceToken);
    // And organization B's key cannot use it for Alice herself (she is not B's user).
    const foreign = await challengeFor(orgB, alice.id, alice.deviceToken);
    expect(foreign.status).toBe(404);

    await expectTrusted(orgA, alice.email, alice.deviceToken);
  });

  it('are revoked by the admin', async () => {
    const carol = await userWithToken(orgA, 'carol@example.com');
    await expectTrusted(orgA, carol.email, carol.deviceToken);
    const revoke = await h.request('DELETE', `/v1/users/${carol.id}/trusted-devices`, {
      key: orgA.apiKey,
    });
    expect(revoke.body).toEqual({ revoked: 1 });
    await expectNotTrusted(orgA, carol.email, carol.deviceToken);
    const viaChallenges = await challengeFor(orgA, carol.id, carol.deviceToken);
    expect(viaChallenges.body.result).toBe('challenge_required');
  });

  it("are revoked when the user's phone changes", async () => {
    const dave = await userWithToken(orgA, 'dave@example.com');
    const patch = await h.request('PATCH', `/v1/users/${dave.id}`, {
      key: orgA.apiKey,
      body: { phone: finnishMobile() },
    });
    expect(patch.status).toBe(200);
    await expectNotTrusted(orgA, dave.email, dave.deviceToken);
  });

  it("are revoked when the user's password changes", async () => {
    const erin = await userWithToken(orgA, 'erin@example.com');
    const newPassword = 'a brand new passphrase';
    await h.request('PATCH', `/v1/users/${erin.id}`, {
      key: orgA.apiKey,
      body: { password: newPassword },
    });
    const res = await login(orgA, erin.email, erin.deviceToken, newPassword);
    expect(res.body.result).toBe('challenge_required');
  });

  it('are not revoked by unrelated changes', async () => {
    const frank = await userWithToken(orgA, 'frank@example.com');
    const unchanged = await h.request('GET', `/v1/users/${frank.id}`, { key: orgA.apiKey });
    // The same number, written differently, is not a new authenticator.
    await h.request('PATCH', `/v1/users/${frank.id}`, {
      key: orgA.apiKey,
      body: { phone: unchanged.body.phone.replace('+358', '0') },
    });
    await expectTrusted(orgA, frank.email, frank.deviceToken);
  });

  // Last: it moves the shared clock forward by a month.
  it('expire after 30 days', async () => {
    const grace = await userWithToken(orgA, 'grace@example.com');
    await h.travel(TRUSTED_DEVICE_TTL_MS - 60_000);
    await expectTrusted(orgA, grace.email, grace.deviceToken);
    await h.travel(2 * 60_000);
    await expectNotTrusted(orgA, grace.email, grace.deviceToken);
    const viaChallenges = await challengeFor(orgA, grace.id, grace.deviceToken);
    expect(viaChallenges.body.result).toBe('challenge_required');
  });
});
