import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_FOLDER, migrateDatabase } from '@twofa/db';
import postgres from 'postgres';

export const TEST_PG_BASE =
  process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
let templateName: string | undefined;
/**
 * The template is named by its migrations' fingerprint, so checkouts with
 * different migrations (branches, worktrees) running tests at once each clone
 * their own and never drop one from under another.
 */
export function templateDatabase(): string {
  templateName ??= `twofa_test_template_${migrationsFingerprint()}`;
  return templateName;
}

function urlFor(name: string): string {
  return `${TEST_PG_BASE}/${name}`;
}

/**
 * The URL a test database is used through: Postgres itself, or the pooler
 * tests/global-setup.ts started (TEST_DATABASE_APP_URL, `{database}` for the name).
 */
function appUrlFor(name: string): string {
  const template = process.env.TEST_DATABASE_APP_URL;
  return template ? template.replace('{database}', name) : urlFor(name);
}

function migrationsFingerprint(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_FOLDER, { recursive: true }).map(String).sort()) {
    const path = join(MIGRATIONS_FOLDER, file);
    if (file.endsWith('.sql') || file.endsWith('.json'))
      hash.update(file).update(readFileSync(path));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * Builds the migrated template every test database is cloned from, once per
 * set of migrations, under a lock so concurrent runs build it once. The
 * comment marks a template whose migrations all applied.
 */
export async function prepareTemplateDatabase(): Promise<void> {
  const template = templateDatabase();
  const admin = postgres(urlFor('postgres'), { max: 1, onnotice: () => {} });
  try {
    await admin`select pg_advisory_lock(727275)`;
    const [row] = await admin<{ comment: string | null }[]>`
      select shobj_description(oid, 'pg_database') as comment
      from pg_database where datname = ${template}`;
    if (row?.comment === 'ready') return;
    await admin.unsafe(`drop database if exists ${template} with (force)`);
    await migrateDatabase(urlFor(template));
    await admin.unsafe(`comment on database ${template} is 'ready'`);
  } finally {
    await admin`select pg_advisory_unlock(727275)`.catch(() => {});
    await admin.end();
  }
}

/** A fresh, migrated database of this test file's own; cloning the template takes milliseconds. */
export async function createTestDatabase(): Promise<{
  url: string;
  name: string;
  drop(): Promise<void>;
}> {
  const name = `twofa_test_${randomBytes(5).toString('hex')}`;
  const admin = postgres(urlFor('postgres'), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name} template ${templateDatabase()}`);
  } finally {
    await admin.end();
  }
  return {
    url: appUrlFor(name),
    name,
    async drop() {
      const sql = postgres(urlFor('postgres'), { max: 1, onnotice: () => {} });
      try {
        await sql.unsafe(`drop database if exists ${name} with (force)`);
      } finally {
        await sql.end();
      }
    },
  };
}

export function uniquePrefix(label = 'test'): string {
  return `twofa-${label}-${randomBytes(4).toString('hex')}`;
}
