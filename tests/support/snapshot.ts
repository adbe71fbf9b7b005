/** What a request must leave alone: every table, or one organization's rows, as count and digest. */
import type postgres from 'postgres';

export interface TableDigest {
  count: number;
  /** md5 of every row's text, in a stable order: any change to any column changes it. */
  digest: string;
}

export interface SnapshotOptions {
  /** Only this organization's rows: tables with an organization_id, and its organizations row. */
  organizationId?: string;
  /** Tables also kept row by row, so a failed comparison shows what changed. */
  inFull?: string[];
}

export interface TableSnapshot {
  tables: Record<string, TableDigest>;
  rows: Record<string, unknown[]>;
}

/**
 * A snapshot to compare with `toEqual` before and after a request. Every user
 * table of the database is read (system schemas aside), so a table added
 * later is covered without a list to update.
 */
export async function tableSnapshot(
  sql: postgres.Sql,
  { organizationId, inFull = [] }: SnapshotOptions = {},
): Promise<TableSnapshot> {
  const tables = await sql<{ schema: string; name: string; scoped: boolean }[]>`
    select t.schemaname as schema, t.tablename as name,
      exists (
        select 1 from information_schema.columns c
        where c.table_schema = t.schemaname and c.table_name = t.tablename
          and c.column_name = 'organization_id'
      ) as scoped
    from pg_tables t
    where t.schemaname not in ('pg_catalog', 'information_schema') order by 1, 2`;
  const snapshot: TableSnapshot = { tables: {}, rows: {} };
  const read: { label: string; name: string; from: postgres.PendingQuery<postgres.Row[]> }[] = [];
  for (const t of tables) {
    let where = sql``;
    if (organizationId !== undefined) {
      if (t.schema === 'public' && t.name === 'organizations') {
        where = sql`where x.id = ${organizationId}`;
      } else if (t.scoped) {
        where = sql`where x.organization_id = ${organizationId}`;
      } else {
        continue;
      }
    }
    const from = sql`${sql(t.schema)}.${sql(t.name)} x ${where}`;
    read.push({ label: `${t.schema}.${t.name}`, name: t.name, from });
  }
  if (read.length === 0) return snapshot;
  // Every table's digest in one statement: one round trip, not one a table (a
  // snapshot is taken around each of thousands of fuzzed requests).
  const digests = await read
    .map(
      ({ label, from }) => sql`
        select ${label}::text as label, count(*)::int as count,
          md5(coalesce(string_agg(x::text, '|' order by x::text), '')) as digest
        from ${from}`,
    )
    .reduce((all, one) => sql`${all} union all ${one}`);
  for (const { label, count, digest } of digests as unknown as (TableDigest & {
    label: string;
  })[]) {
    snapshot.tables[label] = { count, digest };
  }
  for (const { name, from } of read.filter((r) => inFull.includes(r.name))) {
    const rows = await sql`select to_jsonb(x) as row from ${from} order by x::text`;
    snapshot.rows[name] = rows.map((r) => r.row);
  }
  return snapshot;
}
