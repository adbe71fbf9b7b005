/**
 * A change and its audit event commit together or not at all: when the audit
 * insert fails, the change is rolled back too (a settings change, an
 * organization update, a user created, trusted devices revoked). The failure
 * is injected with a trigger that refuses the named audit event types.
 */

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createHarness, type Harness } from '../support/index.ts';

let h: Harness;
let org: { id: string; apiKey: string };

beforeAll(async () => {
  h = await createHarness({ worker: false });
  org = await h.createOrganization({ name: 'Audited Clinic', country: 'FI' });
  await h.sql`create table audit_refused (type text primary key)`;
  await h.sql.unsafe(`
    create function refuse_audit() returns trigger language plpgsql as $$
    begin
      if exists (select 1 from audit_refused where type = new.type) then
        raise exception 'audit insert refused for %', new.type;
      end if;
      return new;
    end $$;
    create trigger refuse_audit before insert on audit_events
      for each row execute function refuse_audit();`);
});
afterAll(async () => {
  await h?.close();
});
beforeEach(async () => {
  await h.sql`delete from audit_refused`;
});

const refuse = (type: string) => h.sql`insert into audit_refused values (${type})`;

async function auditCount(type: string): Promise<number> {
  const [row] = await h.sql<{ n: number }[]>`
    select count(*)::int as n from audit_events where organization_id = ${org.id} and type = ${type}`;
  return row!.n;
}

describe('audit events in the same transaction as their change', () => {
  it('settings: a failed settings_changed leaves the settings as they were', async () => {
    await refuse('settings_changed');
    const res = await h.request('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      body: { twoFactorEnabled: true, smsAllowedCountries: ['FI', 'SE'] },
    });
    expect(res.status).toBeGreaterThanOrEqual(500);
    const [row] = await h.sql<{ enabled: boolean; countries: string[] }[]>`
      select two_factor_enabled as enabled, sms_allowed_countries as countries
      from organizations where id = ${org.id}`;
    expect(row).toEqual({ enabled: false, countries: ['FI'] });
    // The API's own cache did not take the change either.
    const got = await h.request('GET', '/v1/settings/password', { key: org.apiKey });
    expect(got.body).toMatchObject({ twoFactorEnabled: false, smsAllowedCountries: ['FI'] });

    await h.sql`delete from audit_refused`;
    const ok = await h.request('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      body: { twoFactorEnabled: true },
    });
    expect(ok.status).toBe(200);
    expect(await auditCount('settings_changed')).toBe(1);
  });

  it('organization update: a failed organization_updated leaves the name', async () => {
    await refuse('organization_updated');
    const res = await h.request('PATCH', `/v1/organizations/${org.id}`, {
      key: ADMIN_KEY,
      body: { name: 'Renamed Clinic' },
    });
    expect(res.status).toBeGreaterThanOrEqual(500);
    const got = await h.request('GET', `/v1/organizations/${org.id}`, { key: ADMIN_KEY });
    expect(got.body.name).toBe('Audited Clinic');
    expect(await auditCount('organization_updated')).toBe(0);
  });

  it('user create: a failed user_created creates no user', async () => {
    await refuse('user_created');
    const res = await h.request('POST', '/v1/users', {
      key: org.apiKey,
      body: { email: 'unrecorded@example.com', phone: '+358401230001' },
    });
    expect(res.status).toBeGreaterThanOrEqual(500);
    const [row] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from users where email = 'unrecorded@example.com'`;
    expect(row!.n).toBe(0);
  });

  it('revoking trusted devices: a failed trusted_devices_revoked keeps them', async () => {
    const user = await h.createUser(org.apiKey, { email: 'devices@example.com' });
    await h.sql`
      insert into trusted_devices (organization_id, user_id, token_hash, expires_at)
      values (${org.id}, ${user.id}, 'hash-for-audit-test', now() + interval '30 days')`;
    await refuse('trusted_devices_revoked');
    const res = await h.request('DELETE', `/v1/users/${user.id}/trusted-devices`, {
      key: org.apiKey,
    });
    expect(res.status).toBeGreaterThanOrEqual(500);
    const [row] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from trusted_devices where user_id = ${user.id} and revoked_at is null`;
    expect(row!.n).toBe(1);
  });
});
