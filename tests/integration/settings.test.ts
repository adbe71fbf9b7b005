import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, withHarness } from '../support/index.ts';

const h = withHarness({ worker: false, env: { DB_POOL_SIZE: '3' } });

const PASSWORD = 'correct horse battery';

async function newOrg(body: Record<string, unknown> = { name: 'Happy Paws', country: 'FI' }) {
  return h.createOrganization(body);
}

function getSettings(key: string) {
  return h.request('GET', '/v1/settings/password', { key });
}

function patchSettings(key: string, body: unknown) {
  return h.request('PATCH', '/v1/settings/password', { key, body });
}

function setAuthMethod(orgId: string, authMethod: string) {
  return h.request('PATCH', `/v1/organizations/${orgId}`, { key: ADMIN_KEY, body: { authMethod } });
}

function login(key: string, email: string, ip: string, extra: Record<string, unknown> = {}) {
  return h.request('POST', '/v1/logins', {
    key,
    body: { email, password: PASSWORD, ip, ...extra },
  });
}

async function orgRow(id: string) {
  const [row] = await h.sql`select * from organizations where id = ${id}`;
  if (!row) throw new Error(`organization ${id} not found`);
  return row;
}

describe('password settings', () => {
  it('starts with 2FA off, available, no skip ranges, the country allowed and 30-day devices', async () => {
    const org = await newOrg();
    const res = await getSettings(org.apiKey);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      twoFactorEnabled: false,
      twoFactorAvailable: true,
      skipTwoFactorCidrs: [],
      smsAllowedCountries: ['FI'],
      trustedDeviceDays: 30,
      methods: ['sms', 'totp', 'backup_code'],
    });
  });

  it('starts with no allowed-country restriction for an organization without a country', async () => {
    const org = await newOrg({ name: 'Nowhere Clinic' });
    const res = await getSettings(org.apiKey);
    expect(res.body.smsAllowedCountries).toEqual([]);
  });

  it('turns 2FA on and off, and each PATCH answers and stores the new settings', async () => {
    const org = await newOrg();
    const on = await patchSettings(org.apiKey, { twoFactorEnabled: true });
    expect(on.status).toBe(200);
    expect(on.body.twoFactorEnabled).toBe(true);
    expect((await getSettings(org.apiKey)).body.twoFactorEnabled).toBe(true);
    expect((await orgRow(org.id)).two_factor_enabled).toBe(true);

    const off = await patchSettings(org.apiKey, { twoFactorEnabled: false });
    expect(off.status).toBe(200);
    expect(off.body.twoFactorEnabled).toBe(false);
    expect((await getSettings(org.apiKey)).body.twoFactorEnabled).toBe(false);
  });

  it('an empty PATCH changes nothing', async () => {
    const org = await newOrg();
    await patchSettings(org.apiKey, { twoFactorEnabled: true, skipTwoFactorCidrs: ['10.0.0.0/8'] });
    const before = await getSettings(org.apiKey);
    const res = await patchSettings(org.apiKey, {});
    expect(res.status).toBe(200);
    expect(res.body).toEqual(before.body);
  });

  it('sets smsAllowedCountries, upper-cased and without duplicates; [] lifts the restriction', async () => {
    const org = await newOrg();
    const res = await patchSettings(org.apiKey, { smsAllowedCountries: ['fi', 'SE', 'FI'] });
    expect(res.status).toBe(200);
    expect(res.body.smsAllowedCountries).toEqual(['FI', 'SE']);
    const cleared = await patchSettings(org.apiKey, { smsAllowedCountries: [] });
    expect(cleared.body.smsAllowedCountries).toEqual([]);
  });
});

describe('2FA under SAML2 and LDAP', () => {
  it.each(['saml2', 'ldap'])(
    '%s makes 2FA unavailable; turning it on is 409 even when already on; off always works',
    async (method) => {
      const org = await newOrg();
      await h.enableTwoFactor(org.apiKey);
      const patched = await setAuthMethod(org.id, method);
      expect(patched.status).toBe(200);
      expect(patched.body.authMethod).toBe(method);

      const settings = await getSettings(org.apiKey);
      expect(settings.body).toMatchObject({ twoFactorEnabled: true, twoFactorAvailable: false });

      const again = await patchSettings(org.apiKey, { twoFactorEnabled: true });
      expect(again.status).toBe(409);
      expect(again.headers.get('content-type')).toContain('application/problem+json');
      expect(again.body.code).toBe('two_factor_unavailable');

      const off = await patchSettings(org.apiKey, { twoFactorEnabled: false });
      expect(off.status).toBe(200);
      expect(off.body).toMatchObject({ twoFactorEnabled: false, twoFactorAvailable: false });

      const onWhileOff = await patchSettings(org.apiKey, { twoFactorEnabled: true });
      expect(onWhileOff.status).toBe(409);
      expect(onWhileOff.body.code).toBe('two_factor_unavailable');
      expect((await getSettings(org.apiKey)).body.twoFactorEnabled).toBe(false);
    },
  );

  it('a refused PATCH saves none of its other fields', async () => {
    const org = await newOrg({ name: 'SSO Clinic', authMethod: 'saml2', country: 'FI' });
    const before = await getSettings(org.apiKey);
    expect(before.body.twoFactorAvailable).toBe(false);
    const res = await patchSettings(org.apiKey, {
      twoFactorEnabled: true,
      skipTwoFactorCidrs: ['10.0.0.0/8'],
      smsAllowedCountries: ['SE'],
    });
    expect(res.status).toBe(409);
    expect((await getSettings(org.apiKey)).body).toEqual(before.body);
  });

  it('a 2FA org switched to saml2 answers external_auth (after checking the password), and 2FA applies again under password', async () => {
    const org = await newOrg();
    await h.topUp(org.id, 5);
    await h.enableTwoFactor(org.apiKey);
    const user = await h.createUser(org.apiKey, {
      email: 'sso@example.com',
      password: PASSWORD,
      phone: '+358401000001',
    });
    const ip = '198.51.100.21';

    const before = await login(org.apiKey, 'sso@example.com', ip);
    expect(before.body.result).toBe('challenge_required');

    await setAuthMethod(org.id, 'saml2');
    const during = await login(org.apiKey, 'sso@example.com', ip);
    expect(during.status).toBe(200);
    expect(during.body).toEqual({
      result: 'authenticated',
      userId: user.id,
      reason: 'external_auth',
    });

    const wrong = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { email: 'sso@example.com', password: 'wrong', ip },
    });
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('invalid_credentials');

    const hostStarted = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user.id, ip },
    });
    expect(hostStarted.body).toEqual({
      result: 'authenticated',
      userId: user.id,
      reason: 'external_auth',
    });

    await setAuthMethod(org.id, 'password');
    expect((await getSettings(org.apiKey)).body).toMatchObject({
      twoFactorEnabled: true,
      twoFactorAvailable: true,
    });
    const after = await login(org.apiKey, 'sso@example.com', ip);
    expect(after.body.result).toBe('challenge_required');
  });

  it('2FA off wins over external auth', async () => {
    const org = await newOrg({ name: 'LDAP Clinic', authMethod: 'ldap', country: 'FI' });
    await h.createUser(org.apiKey, { email: 'ldap@example.com', password: PASSWORD });
    const res = await login(org.apiKey, 'ldap@example.com', '198.51.100.22');
    expect(res.body.reason).toBe('two_factor_disabled');
  });
});

describe('skip CIDRs', () => {
  it('stores IPv4 and IPv6 blocks normalized', async () => {
    const org = await newOrg();
    const res = await patchSettings(org.apiKey, {
      skipTwoFactorCidrs: [
        '192.168.10.7/24',
        '2001:DB8:0:0::1/48',
        ' 10.20.30.40/16 ',
        '203.0.113.0/24',
      ],
    });
    expect(res.status).toBe(200);
    const expected = ['192.168.10.0/24', '2001:db8::/48', '10.20.0.0/16', '203.0.113.0/24'];
    expect(res.body.skipTwoFactorCidrs).toEqual(expected);
    expect((await getSettings(org.apiKey)).body.skipTwoFactorCidrs).toEqual(expected);
    expect((await orgRow(org.id)).skip_two_factor_cidrs).toEqual(expected);
  });

  it.each([
    ['a bare address', '192.168.10.7'],
    ['garbage', 'clinic network'],
    ['a prefix over 32', '10.0.0.0/33'],
    ['an IPv6 prefix over 128', '2001:db8::/129'],
    ['a leading-zero octet', '010.0.0.0/8'],
  ])(
    'refuses a list with %s: 422 invalid_cidr naming it, and saves nothing of the request',
    async (_what, bad) => {
      const org = await newOrg();
      await patchSettings(org.apiKey, { skipTwoFactorCidrs: ['172.16.0.0/12'] });
      const before = await getSettings(org.apiKey);
      const rowBefore = await orgRow(org.id);
      expect(before.body.twoFactorEnabled).toBe(false);

      const res = await patchSettings(org.apiKey, {
        twoFactorEnabled: true,
        skipTwoFactorCidrs: ['192.168.10.0/24', bad, '2001:db8::/48'],
        smsAllowedCountries: ['SE'],
      });
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
      expect(res.body.code).toBe('invalid_cidr');
      expect(res.body.detail).toContain(bad);

      expect((await getSettings(org.apiKey)).body).toEqual(before.body);
      const rowAfter = await orgRow(org.id);
      expect(rowAfter.two_factor_enabled).toBe(false);
      expect(rowAfter.skip_two_factor_cidrs).toEqual(['172.16.0.0/12']);
      expect(rowAfter.sms_allowed_countries).toEqual(['FI']);
      expect(rowAfter.updated_at).toEqual(rowBefore.updated_at);
    },
  );

  it('an empty list clears the ranges', async () => {
    const org = await newOrg();
    await patchSettings(org.apiKey, { skipTwoFactorCidrs: ['10.0.0.0/8'] });
    const res = await patchSettings(org.apiKey, { skipTwoFactorCidrs: [] });
    expect(res.body.skipTwoFactorCidrs).toEqual([]);
  });

  describe('logins against the skip ranges', () => {
    let org: { id: string; apiKey: string };
    let userId: string;

    beforeAll(async () => {
      org = await newOrg();
      await h.topUp(org.id, 20);
      await h.enableTwoFactor(org.apiKey);
      userId = (
        await h.createUser(org.apiKey, {
          email: 'clinic@example.com',
          password: PASSWORD,
          phone: '+358401000002',
        })
      ).id;
      const res = await patchSettings(org.apiKey, {
        skipTwoFactorCidrs: ['203.0.113.0/24', '2001:db8:abcd::/48'],
      });
      expect(res.status).toBe(200);
    });

    it.each([
      ['an IPv4 address inside', '203.0.113.9'],
      ['the first address of the block', '203.0.113.0'],
      ['the last address of the block', '203.0.113.255'],
      ['an IPv6 address inside', '2001:db8:abcd:12::7'],
      ['an IPv4-mapped IPv6 address inside', '::ffff:203.0.113.9'],
      ['an IPv4-mapped IPv6 address in hex', '::ffff:cb00:7109'],
    ])('%s (%s) is a trusted network', async (_what, ip) => {
      const res = await login(org.apiKey, 'clinic@example.com', ip);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ result: 'authenticated', userId, reason: 'trusted_network' });
    });

    it.each([
      ['just outside the IPv4 block', '203.0.114.0'],
      ['an IPv6 address outside', '2001:db8:abce::1'],
      ['an IPv4-mapped address outside', '::ffff:198.51.100.1'],
    ])('%s (%s) needs a code', async (_what, ip) => {
      const res = await login(org.apiKey, 'clinic@example.com', ip);
      expect(res.status).toBe(200);
      expect(res.body.result).toBe('challenge_required');
    });

    it('host-started challenges honour the ranges too', async () => {
      const res = await h.request('POST', '/v1/challenges', {
        key: org.apiKey,
        body: { userId, ip: '::ffff:203.0.113.77' },
      });
      expect(res.body).toEqual({ result: 'authenticated', userId, reason: 'trusted_network' });
    });
  });
});
