import { randomBytes } from 'node:crypto';
import { migrateDatabase } from '@twofa/db';
import postgres from 'postgres';

export const TEST_PG_BASE =
  process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const TEMPLATE_DB = 'twofa_test_template';

function urlFor(name: string): string {
  return `${TEST_PG_BASE}/${name}`;
}

/** Builds the migrated template every test database is cloned from (once per run). */
export async function prepareTemplateDatabase(): Promise<void> {
  const admin = postgres(urlFor('postgres'), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${TEMPLATE_DB} with (force)`);
  } finally {
    await admin.end();
  }
  await migrateDatabase(urlFor(TEMPLATE_DB));
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
