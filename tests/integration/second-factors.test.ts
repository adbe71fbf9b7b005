/**
 * Authenticator apps, backup codes, the admin's reset and the methods policy
 * over the JSON API (organization key), on the real database.
 */
import { Secret, TOTP } from 'otpauth';
import { beforeAll, describe, expect, it } from 'vitest';
import { Browser } from '../pages/support.ts';
import { withHarness } from '../support/index.ts';

const h = withHarness({ worker: false });
let org: { id: string; apiKey: string };
let other: { id: string; apiKey: string };
const PASSWORD = 'correct horse battery staple';
let n = 0;

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
  other = await h.createOrganization({ name: 'Other Clinic', country: 'FI' });
  await h.enableTwoFactor(org.apiKey);
});

async function newUser(extra: Record<string, unknown> = {}) {
  const email = `sf-${++n}@example.com`;
  const { id } = await h.createUser(org.apiKey, { email, password: PASSWORD, ...extra });
  return { id, email };
}

const codeAt = (secret: string, at: Date) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at.getTime() });

async function auditTypes(userId: string) {
  const rows = await h.sql<{ type: string }[]>`
    select type from audit_events where organization_id = ${org.id} and data->>'userId' = ${userId}
    order by id`;
  return rows.map((r) => r.type);
}

describe('authenticator enrollment', () => {
  it('is pending until a first code confirms it', async () => {
    const user = await newUser();
    const enroll = await h.request('POST', `/v1/users/${user.id}/totp`, { key: org.apiKey });
    expect(enroll.status).toBe(201);
    const { secret, otpauthUri } = enroll.body as { secret: string; otpauthUri: string };
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(otpauthUri).toContain('otpauth://totp/Happy%20Paws:');
    expect(otpauthUri).toContain(`secret=${secret}`);
    expect(otpauthUri).toContain('issuer=Happy%20Paws');

    const pending = await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    expect(pending.body.totpEnabled).toBe(false);

    // A wrong code does not confirm.
    const right = codeAt(secret, h.clock.now());
    const wrong = String((Number(right) + 1) % 1_000_000).padStart(6, '0');
    const bad = await h.request('POST', `/v1/users/${user.id}/totp/confirm`, {
      key: org.apiKey,
      body: { code: wrong },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('invalid_code');
    expect(
      (await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey })).body.totpEnabled,
    ).toBe(false);

    const ok = await h.request('POST', `/v1/users/${user.id}/totp/confirm`, {
      key: org.apiKey,
      body: { code: right },
    });
    expect(ok.status).toBe(200);
    expect(ok.body.totpEnabled).toBe(true);

    // The secret is stored sealed, never in clear.
    const [row] = await h.sql<{ secret_sealed: string; status: string; last_used_step: string }[]>`
      select secret_sealed, status, last_used_step from authenticators where user_id = ${user.id}`;
    expect(row?.status).toBe('active');
    expect(row?.secret_sealed).not.toContain(secret);
    expect(row?.secret_sealed.startsWith('v1.')).toBe(true);

    // While active: no new enrollment.
    const again = await h.request('POST', `/v1/users/${user.id}/totp`, { key: org.apiKey });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('totp_already_enabled');

    const removed = await h.request('DELETE', `/v1/users/${user.id}/totp`, { key: org.apiKey });
    expect(removed.status).toBe(200);
    expect(removed.body.totpEnabled).toBe(false);
    expect(await auditTypes(user.id)).toEqual(
      expect.arrayContaining(['totp_enabled', 'totp_disabled']),
    );
  });

  it('replaces a pending enrollment: the old secret no longer confirms', async () => {
    const user = await newUser();
    const first = await h.request('POST', `/v1/users/${user.id}/totp`, { key: org.apiKey });
    const second = await h.request('POST', `/v1/users/${user.id}/totp`, { key: org.apiKey });
    expect(second.status).toBe(201);
    expect(second.body.secret).not.toBe(first.body.secret);
    const now = h.clock.now();
    const oldCode = codeAt(first.body.secret, now);
    if (oldCode !== codeAt(second.body.secret, now)) {
      const stale = await h.request('POST', `/v1/users/${user.id}/totp/confirm`, {
        key: org.apiKey,
        body: { code: oldCode },
      });
      expect(stale.status).toBe(422);
    }
    const ok = await h.request('POST', `/v1/users/${user.id}/totp/confirm`, {
      key: org.apiKey,
      body: { code: codeAt(second.body.secret, now) },
    });
    expect(ok.body.totpEnabled).toBe(true);
  });

  it('refuses a confirm without an enrollment, bad input and other organizations', async () => {
    const user = await newUser();
    const none = await h.request('POST', `/v1/users/${user.id}/totp/confirm`, {
      key: org.apiKey,
      body: { code: '123456' },
    });
    expect(none.status).toBe(409);
    expect(none.body.code).toBe('totp_not_enrolled');
    const malformed = await h.request('POST', `/v1/users/${user.id}/totp/confirm`, {
      key: org.apiKey,
      body: { code: '12a456' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('invalid_request');
    for (const [method, path] of [
      ['POST', `/v1/users/${user.id}/totp`],
      ['DELETE', `/v1/users/${user.id}/totp`],
      ['POST', `/v1/users/${user.id}/backup-codes`],
      ['POST', `/v1/users/${user.id}/second-factors/reset`],
    ] as const) {
      const res = await h.request(method, path, { key: other.apiKey });
      expect(res.status, path).toBe(404);
    }
    expect(await h.sql`select 1 from authenticators where user_id = ${user.id}`).toHaveLength(0);
  });
});

describe('backup codes', () => {
  it('makes 10 codes shown once, stored as keyed hashes, a new set replacing the old', async () => {
    const user = await newUser();
    const res = await h.request('POST', `/v1/users/${user.id}/backup-codes`, { key: org.apiKey });
    expect(res.status).toBe(201);
    const codes = res.body.codes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    const got = await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    expect(got.body.backupCodesRemaining).toBe(10);
    const stored = await h.sql<{ code_hash: string }[]>`
      select code_hash from backup_codes where user_id = ${user.id}`;
    expect(stored).toHaveLength(10);
    for (const { code_hash } of stored) {
      for (const code of codes) {
        expect(code_hash).not.toContain(code);
        expect(code_hash).not.toContain(code.replace('-', ''));
      }
    }
    const again = await h.request('POST', `/v1/users/${user.id}/backup-codes`, {
      key: org.apiKey,
    });
    expect(again.status).toBe(201);
    expect(await h.sql`select 1 from backup_codes where user_id = ${user.id}`).toHaveLength(10);
    expect(await auditTypes(user.id)).toEqual([
      'user_created',
      'backup_codes_generated',
      'backup_codes_generated',
    ]);
  });
});

describe('methods policy', () => {
  it('takes a non-empty subset and refuses empty or unknown ones, changing nothing', async () => {
    const o = await h.createOrganization({ name: 'Policy Clinic', country: 'FI' });
    const set = await h.request('PATCH', '/v1/settings/password', {
      key: o.apiKey,
      body: { methods: ['backup_code', 'totp'] },
    });
    expect(set.status).toBe(200);
    expect(set.body.methods).toEqual(['totp', 'backup_code']);
    for (const methods of [[], ['sms', 'email'], 'sms', [1]]) {
      const bad = await h.request('PATCH', '/v1/settings/password', {
        key: o.apiKey,
        body: { methods, twoFactorEnabled: true },
      });
      expect(bad.status, JSON.stringify(methods)).toBe(400);
      expect(bad.body.code).toBe('invalid_request');
    }
    const after = await h.request('GET', '/v1/settings/password', { key: o.apiKey });
    expect(after.body.methods).toEqual(['totp', 'backup_code']);
    expect(after.body.twoFactorEnabled).toBe(false);
  });
});

describe("the admin's reset", () => {
  it('clears phone, app, backup codes and trusted devices, cancels open challenges and ends page sessions, in one go', async () => {
    const user = await newUser({ phone: '+358401110001' });
    // An app and backup codes.
    const enroll = await h.request('POST', `/v1/users/${user.id}/totp`, { key: org.apiKey });
    await h.request('POST', `/v1/users/${user.id}/totp/confirm`, {
      key: org.apiKey,
      body: { code: codeAt(enroll.body.secret, h.clock.now()) },
    });
    await h.request('POST', `/v1/users/${user.id}/backup-codes`, { key: org.apiKey });
    // A trusted device and an open challenge, written as the service writes them.
    await h.sql`insert into trusted_devices (organization_id, user_id, token_hash, expires_at)
      values (${org.id}, ${user.id}, ${`reset-test-${user.id}`}, now() + interval '1 day')`;
    const [challenge] = await h.sql<{ id: string }[]>`
      insert into challenges (organization_id, user_id, status, phone, ip, expires_at)
      values (${org.id}, ${user.id}, 'pending', '+358401110001', '203.0.113.1', now() + interval '10 minutes')
      returning id`;
    // A page session: the user logs in on the pages (exempt, so no code step).
    await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { twoFactorDisabled: true },
    });
    const browser = new Browser(h);
    const login = await browser.submit(`/login?org=${org.id}`, '/login', {
      org: org.id,
      email: user.email,
      password: PASSWORD,
    });
    expect(login.location).toBe('/account');
    expect((await browser.get('/account')).status).toBe(200);

    const reset = await h.request('POST', `/v1/users/${user.id}/second-factors/reset`, {
      key: org.apiKey,
    });
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ phone: null, totpEnabled: false, backupCodesRemaining: 0 });

    expect(await h.sql`select 1 from authenticators where user_id = ${user.id}`).toHaveLength(0);
    expect(await h.sql`select 1 from backup_codes where user_id = ${user.id}`).toHaveLength(0);
    expect(
      await h.sql`select 1 from trusted_devices where user_id = ${user.id} and revoked_at is null`,
    ).toHaveLength(0);
    const [after] = await h.sql<{ status: string }[]>`
      select status from challenges where id = ${challenge!.id}`;
    expect(after?.status).toBe('canceled');
    const page = await browser.get('/account');
    expect(page.status).toBe(303);
    expect(page.location).toBe('/login');

    const [event] = await h.sql<{ data: Record<string, unknown>; actor: string }[]>`
      select data, actor from audit_events
      where organization_id = ${org.id} and type = 'second_factors_reset'
        and data->>'userId' = ${user.id}`;
    expect(event?.actor).toBe('organization_key');
    expect(event?.data).toMatchObject({
      revokedDevices: 1,
      canceledChallenges: 1,
      endedSessions: 1,
      hadPhone: true,
      hadTotp: true,
      backupCodes: 10,
    });

    // The next login asks for a phone.
    await h.request('PATCH', `/v1/users/${user.id}`, {
      key: org.apiKey,
      body: { twoFactorDisabled: false },
    });
    await h.topUp(org.id, 1);
    const next = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { email: user.email, password: PASSWORD, ip: '203.0.113.77' },
    });
    expect(next.body.challenge.status).toBe('phone_required');
  });
});
