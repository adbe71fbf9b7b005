/**
 * The first-start demo: on an empty database, `npm start` seeds an
 * organization with 2FA on, an admin and two members (one with a phone, one
 * without) and some SMS credits, then prints how to log in and the
 * organization's API key (on stdout, as `org:create` does: the key exists in
 * clear only here, and pino would redact it anyway). Skipped with
 * SEED_DEMO=false, and whenever any organization exists, so a second start
 * seeds nothing.
 */
import { loadConfig } from '@twofa/config';
import { hashPassword, issueApiKey } from '@twofa/core';
import {
  addCredits,
  createDb,
  createOrganization,
  createUser,
  updatePasswordSettings,
} from '@twofa/db';

export const DEMO_PASSWORD = 'demo-password';
export const DEMO_USERS = [
  { email: 'admin@demo.example', phone: '+358401234567', role: 'admin' as const },
  { email: 'member@demo.example', phone: '+358401234568', role: 'member' as const },
  { email: 'nophone@demo.example', phone: null, role: 'member' as const },
];

export interface DemoSeed {
  organizationId: string;
  /** The organization's API key: shown once, at creation; only its hash is stored. */
  apiKey: string;
  loginUrl: string;
  inboxUrl: string;
}

/** Seeds the demo if the database has no organization yet; returns what it made, or null. */
export async function seedDemo(env: NodeJS.ProcessEnv = process.env): Promise<DemoSeed | null> {
  if (env.SEED_DEMO === 'false' || env.SEED_DEMO === '0') return null;
  const config = loadConfig(env);
  const db = createDb(config.env.DATABASE_URL, { max: 1, applicationName: 'twofa-seed' });
  try {
    // One seeding at a time, and only into an empty database.
    const seeded = await db.sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(hashtext('twofa-seed-demo'))`;
      const [{ exists } = { exists: true }] = await tx<{ exists: boolean }[]>`
        select exists (select 1 from organizations) as exists`;
      if (exists) return null;
      const sql = tx as unknown as typeof db.sql;
      const { apiKey, apiKeyHash } = issueApiKey(config.appSecret);
      const org = await createOrganization(sql, {
        name: 'Demo Clinic',
        authMethod: 'password',
        country: 'FI',
        apiKeyHash,
      });
      await updatePasswordSettings(sql, org.id, { twoFactorEnabled: true });
      await addCredits(sql, {
        organizationId: org.id,
        amount: 100,
        reference: 'demo',
        actor: 'system',
        ip: null,
        via: 'seed-demo',
      });
      const passwordHash = await hashPassword(DEMO_PASSWORD);
      for (const user of DEMO_USERS) {
        await createUser(sql, { organizationId: org.id, passwordHash, ...user });
      }
      return { organizationId: org.id, apiKey };
    });
    if (!seeded) return null;
    const base =
      config.env.PUBLIC_BASE_URL?.replace(/\/$/, '') ?? `http://localhost:${config.env.PORT}`;
    const result = {
      ...seeded,
      loginUrl: `${base}/login?org=${seeded.organizationId}`,
      inboxUrl: `${base}/dev/sms`,
    };
    const development = config.env.NODE_ENV === 'development' || config.env.NODE_ENV === 'test';
    const lines = [
      '',
      'Demo organization seeded (SEED_DEMO=false skips this on an empty database):',
      `  Log in:    ${result.loginUrl}`,
      `  Users:     ${DEMO_USERS.map((u) => `${u.email} (${u.role}${u.phone ? '' : ', no phone'})`).join(', ')}`,
      `  Password:  ${DEMO_PASSWORD}`,
      `  SMS inbox: ${result.inboxUrl} (the codes the console provider "sends")`,
      // A key on stdout is for a developer's terminal, never a deployment's logs.
      development
        ? `  API key:   ${result.apiKey} (shown once; examples/clinic-app registers with it)`
        : '  API key:   not shown outside development (npm run cli -- org:create makes one)',
      '',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return result;
  } finally {
    await db.close();
  }
}
