import { loadConfig } from '@twofa/config';
import { hashSecret } from '@twofa/core';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_USERS, seedDemo } from '../../scripts/seed-demo.ts';
import { createTestDatabase } from '../support/index.ts';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase();
  sql = postgres(database.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await sql?.end();
  await database?.drop();
});

const env = () => ({ NODE_ENV: 'development', DATABASE_URL: database.url, LOG_LEVEL: 'silent' });

describe('the first-start demo', () => {
  it('is skipped with SEED_DEMO=false', async () => {
    expect(await seedDemo({ ...env(), SEED_DEMO: 'false' })).toBeNull();
    const [row] = await sql`select count(*)::int as n from organizations`;
    expect(row?.n).toBe(0);
  });

  it('seeds an empty database once: 2FA on, an admin, two members, credits', async () => {
    const seeded = await seedDemo(env());
    expect(seeded?.loginUrl).toBe(`http://localhost:3000/login?org=${seeded?.organizationId}`);
    expect(seeded?.inboxUrl).toBe('http://localhost:3000/dev/sms');
    // The key printed at creation is the organization's: its hash is what is stored.
    const [key] = await sql`select organization_id, key_hash from api_keys`;
    expect(key?.organization_id).toBe(seeded?.organizationId);
    expect(key?.key_hash).toBe(hashSecret(loadConfig(env()).appSecret, 'api-key', seeded!.apiKey));
    // The key works: the clinic example registers itself with it.
    expect(seeded?.apiKey).toMatch(/^tfa_/);
    const [keyed] = await sql`select count(*)::int as n from api_keys
      where key_hash = ${hashSecret(loadConfig(env()).appSecret, 'api-key', seeded?.apiKey ?? '')}`;
    expect(keyed?.n).toBe(1);
    const [org] = await sql`select two_factor_enabled, sms_balance from organizations`;
    expect(org?.two_factor_enabled).toBe(true);
    expect(org?.sms_balance).toBeGreaterThan(0);
    const users = await sql`select email, role, phone from users order by email`;
    expect(users.map((u) => u.email).sort()).toEqual(DEMO_USERS.map((u) => u.email).sort());
    expect(users.filter((u) => u.role === 'admin')).toHaveLength(1);
    expect(users.filter((u) => u.role === 'member' && u.phone)).toHaveLength(1);
    expect(users.filter((u) => u.role === 'member' && !u.phone)).toHaveLength(1);

    expect(await seedDemo(env())).toBeNull();
    const [count] = await sql`select count(*)::int as n from organizations`;
    expect(count?.n).toBe(1);
  });
});
