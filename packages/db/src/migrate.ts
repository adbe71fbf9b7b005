import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import postgres from 'postgres';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../drizzle', import.meta.url));

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Creates the database named in the URL when it is missing. */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error('DATABASE_URL names no database');
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {} });
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`;
    if (rows.length === 0) {
      try {
        await sql.unsafe(`create database ${quoteIdent(name)}`);
      } catch (error) {
        // Another process created it first.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

const MIGRATIONS_LOCK = 727274;

/** Statements that Postgres refuses inside a transaction block (comments aside). */
const outsideTransaction = (statement: string) =>
  /\bconcurrently\b/i.test(statement.replace(/--.*$/gm, ''));

/**
 * Applies the committed SQL migrations; several processes may call it at once.
 *
 * Drizzle's own migrator runs every pending migration in one transaction, where
 * `CREATE INDEX CONCURRENTLY` (the only way to index a big table without blocking its
 * writes) cannot run. This runs them the same way otherwise (drizzle's journal, files and
 * `drizzle.__drizzle_migrations` bookkeeping, so databases it migrated carry on), one
 * transaction per migration, except that a migration with a `CONCURRENTLY` statement runs
 * statement by statement outside a transaction and is recorded after its last one. Such a
 * migration must be safe to run again from the start (a statement it failed part-way
 * through is retried whole on the next start): drop an index `IF EXISTS` before building it,
 * since a failed concurrent build leaves an invalid index behind.
 *
 * The lock is taken by polling, not by a blocking `pg_advisory_lock`: a concurrent build
 * waits for every transaction of the database holding a snapshot, and a second migrator
 * blocked on the lock would hold one, waiting for the first, which waits for it.
 */
export async function migrateDatabase(
  url: string,
  options: { create?: boolean; migrationsFolder?: string } = {},
): Promise<void> {
  if (options.create !== false) await ensureDatabase(url);
  const folder = options.migrationsFolder ?? MIGRATIONS_FOLDER;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (;;) {
      const [lock] = await sql<{ held: boolean }[]>`
        select pg_try_advisory_lock(${MIGRATIONS_LOCK}) as held`;
      if (lock?.held) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    try {
      await applyPending(sql, folder);
    } finally {
      await sql`select pg_advisory_unlock(${MIGRATIONS_LOCK})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function applyPending(sql: postgres.Sql, migrationsFolder: string): Promise<void> {
  await sql`create schema if not exists drizzle`;
  await sql`
    create table if not exists drizzle.__drizzle_migrations (
      id serial primary key, hash text not null, created_at bigint)`;
  const [last] = await sql<{ createdAt: string }[]>`
    select created_at::text as "createdAt" from drizzle.__drizzle_migrations
    order by created_at desc limit 1`;
  const appliedUpTo = last ? Number(last.createdAt) : -1;
  for (const migration of readMigrationFiles({ migrationsFolder })) {
    if (migration.folderMillis <= appliedUpTo) continue;
    const statements = migration.sql.filter((statement) => statement.trim() !== '');
    const record = (q: { unsafe: postgres.Sql['unsafe'] }) =>
      q.unsafe('insert into drizzle.__drizzle_migrations (hash, created_at) values ($1, $2)', [
        migration.hash,
        migration.folderMillis,
      ]);
    if (statements.some(outsideTransaction)) {
      for (const statement of statements) await sql.unsafe(statement);
      await record(sql);
    } else {
      await sql.begin(async (tx) => {
        for (const statement of statements) await tx.unsafe(statement);
        await record(tx);
      });
    }
  }
}
