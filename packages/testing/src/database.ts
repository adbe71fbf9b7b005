import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_FOLDER, migrateDatabase } from '@twofa/db';
import postgres from 'postgres';

export const TEST_PG_BASE =
  process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const TEMPLATE_DB = 'twofa_test_template';

function urlFor(name: string): string {
  return `${TEST_PG_BASE}/${name}`;
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
 * Builds the migrated template every test database is cloned from. It is
 * rebuilt only when the migrations changed (their fingerprint is the
 * template's comment), under a lock, so concurrent test runs don't drop it
 * from under each other.
 */
export async function prepareTemplateDatabase(): Promise<void> {
  const fingerprint = migrationsFingerprint();
  const admin = postgres(urlFor('postgres'), { max: 1, onnotice: () => {} });
  try {
    await admin`select pg_advisory_lock(727275)`;
    const [row] = await admin<{ comment: string | null }[]>`
      select shobj_description(oid, 'pg_database') as comment
      from pg_database where datname = ${TEMPLATE_DB}`;
    if (row?.comment === fingerprint) return;
    await admin.unsafe(`drop database if exists ${TEMPLATE_DB} with (force)`);
    await migrateDatabase(urlFor(TEMPLATE_DB));
    await admin.unsafe(`comment on database ${TEMPLATE_DB} is '${fingerprint}'`);
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
    await admin.unsafe(`create database ${name} template ${TEMPLATE_DB}`);
  } finally {
    await admin.end();
  }
  return {
    url: urlFor(name),
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
