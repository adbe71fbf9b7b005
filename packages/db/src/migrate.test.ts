import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { migrateDatabase } from './migrate.ts';

const BASE = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
const created: string[] = [];
const folders: string[] = [];

function databaseUrl(): string {
  const name = `twofa_test_migrate_${randomBytes(5).toString('hex')}`;
  created.push(name);
  return `${BASE}/${name}`;
}

/** A migrations folder of drizzle's layout: the journal and one SQL file per entry. */
async function folderWith(migrations: { tag: string; sql: string }[]): Promise<string> {
  const folder = mkdtempSync(join(tmpdir(), 'twofa-migrations-'));
  folders.push(folder);
  await mkdir(join(folder, 'meta'));
  writeFileSync(
    join(folder, 'meta', '_journal.json'),
    JSON.stringify({
      version: '7',
      dialect: 'postgresql',
      entries: migrations.map((m, idx) => ({
        idx,
        version: '7',
        when: 1_700_000_000_000 + idx,
        tag: m.tag,
        breakpoints: true,
      })),
    }),
  );
  for (const m of migrations) writeFileSync(join(folder, `${m.tag}.sql`), m.sql);
  return folder;
}

async function withDb<T>(url: string, fn: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    return await fn(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

afterEach(() => {
  for (const folder of folders.splice(0)) rmSync(folder, { recursive: true, force: true });
});

afterAll(async () => {
  const admin = postgres(`${BASE}/postgres`, { max: 1, onnotice: () => {} });
  try {
    for (const name of created) await admin.unsafe(`drop database if exists ${name} with (force)`);
  } finally {
    await admin.end();
  }
});

const BUILD_CONCURRENTLY = [
  '-- Built without blocking writes to the table.',
  'DROP INDEX CONCURRENTLY IF EXISTS "things_created";--> statement-breakpoint',
  'CREATE INDEX CONCURRENTLY "things_created" ON "things" ("created_at");',
].join('\n');

describe('migrateDatabase', () => {
  it('builds an index CONCURRENTLY (outside a transaction), records each migration once, and is a no-op the second time', async () => {
    const url = databaseUrl();
    const folder = await folderWith([
      {
        tag: '0000_things',
        sql: 'CREATE TABLE "things" ("id" bigserial PRIMARY KEY, "created_at" timestamptz NOT NULL DEFAULT now());--> statement-breakpoint\nINSERT INTO "things" DEFAULT VALUES;',
      },
      { tag: '0001_things_created', sql: BUILD_CONCURRENTLY },
    ]);
    await migrateDatabase(url, { migrationsFolder: folder });
    await migrateDatabase(url, { migrationsFolder: folder });
    await withDb(url, async (sql) => {
      const indexes = await sql<{ valid: boolean }[]>`
        select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
        where c.relname = 'things_created'`;
      expect(indexes).toEqual([{ valid: true }]);
      const applied = await sql`select hash, created_at from drizzle.__drizzle_migrations`;
      expect(applied.map((r) => Number(r.created_at))).toEqual([
        1_700_000_000_000, 1_700_000_000_001,
      ]);
      // The first migration's two statements ran (and were recorded) as one transaction.
      expect((await sql`select count(*)::int as n from things`)[0]?.n).toBe(1);
    });
  });

  it('rolls back a failing transactional migration whole and leaves it unrecorded', async () => {
    const url = databaseUrl();
    const folder = await folderWith([
      {
        tag: '0000_broken',
        sql: 'CREATE TABLE "a" ("id" int);--> statement-breakpoint\nSELECT 1/0;',
      },
    ]);
    await expect(migrateDatabase(url, { migrationsFolder: folder })).rejects.toThrow(/division/);
    await withDb(url, async (sql) => {
      expect(await sql`select 1 from pg_class where relname = 'a'`).toHaveLength(0);
      expect(await sql`select 1 from drizzle.__drizzle_migrations`).toHaveLength(0);
    });
  });

  it('lets several processes migrate at once while one builds an index concurrently', async () => {
    const url = databaseUrl();
    const folder = await folderWith([
      {
        tag: '0000_things',
        sql: 'CREATE TABLE "things" ("id" bigserial PRIMARY KEY, "created_at" timestamptz NOT NULL DEFAULT now());--> statement-breakpoint\nINSERT INTO "things" ("created_at") SELECT now() - g * interval \'1 second\' FROM generate_series(1, 20000) g;',
      },
      { tag: '0001_things_created', sql: BUILD_CONCURRENTLY },
    ]);
    await migrateDatabase(url, { migrationsFolder: folder, create: true });
    // Fresh bookkeeping for the second migration only, so three migrators race over it.
    await withDb(url, async (sql) => {
      await sql`drop index things_created`;
      await sql`delete from drizzle.__drizzle_migrations where created_at = 1700000000001`;
    });
    await Promise.all([1, 2, 3].map(() => migrateDatabase(url, { migrationsFolder: folder })));
    await withDb(url, async (sql) => {
      expect(await sql`select 1 from drizzle.__drizzle_migrations`).toHaveLength(2);
      const [index] = await sql<{ valid: boolean }[]>`
        select i.indisvalid as valid from pg_index i join pg_class c on c.oid = i.indexrelid
        where c.relname = 'things_created'`;
      expect(index?.valid).toBe(true);
    });
  });

  it("gives challenges and sends a time-ordered UUIDv7 by default (the committed migrations' uuid_v7)", async () => {
    const url = databaseUrl();
    await migrateDatabase(url);
    await withDb(url, async (sql) => {
      const defaults = await sql<{ table: string; value: string }[]>`
        select table_name as table, column_default as value from information_schema.columns
        where column_name = 'id' and table_name in ('challenges', 'sms_sends') order by 1`;
      expect(defaults).toEqual([
        { table: 'challenges', value: 'uuid_v7()' },
        { table: 'sms_sends', value: 'uuid_v7()' },
      ]);
      const before = Date.now();
      const first = await sql<
        { id: string }[]
      >`select uuid_v7()::text as id from generate_series(1, 50)`;
      await new Promise((resolve) => setTimeout(resolve, 5));
      const [later] = await sql<{ id: string }[]>`select uuid_v7()::text as id`;
      const after = Date.now();
      for (const { id } of [...first, later!]) {
        expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        const ms = Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
        expect(ms).toBeGreaterThanOrEqual(before - 1000);
        expect(ms).toBeLessThanOrEqual(after + 1000);
      }
      expect(new Set(first.map((r) => r.id)).size).toBe(50);
      expect(first.every((r) => r.id < later!.id)).toBe(true);
    });
  });
});
