import postgres from 'postgres';

export interface DbOptions {
  /** Pool size. */
  max?: number;
  /** Seconds to wait for a connection before failing, so callers can answer 503 promptly. */
  connectTimeout?: number;
  /** Name shown in pg_stat_activity. */
  applicationName?: string;
  /**
   * Named prepared statements (default true). False behind PgBouncer in
   * transaction mode: each transaction may run on another server connection,
   * which never saw the statement. Overrides a `prepare` in the URL.
   */
  prepare?: boolean;
}

export function createDb(url: string, options: DbOptions = {}) {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeout ?? 5,
    idle_timeout: 30,
    prepare: options.prepare ?? true,
    // postgres.js waits 3^n/100 s (up to 20 s) before reconnecting after n failed
    // connections, holding queries meanwhile: after a short outage the API would hang
    // instead of answering 503, then recover late. Cap the wait at a second.
    backoff: (retries: number) => Math.min(0.05 * 2 ** retries, 1) * (0.5 + Math.random() / 2),
    onnotice: () => {},
    connection: { application_name: options.applicationName ?? 'twofa' },
  });
  // Queries are hand-written statements on postgres.js: the hot paths are single
  // CTE statements (one round trip each). Drizzle owns the schema and migrations;
  // its query client is not wrapped around this pool because it replaces the
  // pool's date parsers with its own.
  return {
    sql,
    async close(): Promise<void> {
      await sql.end({ timeout: 5 });
    },
  };
}

export type Database = ReturnType<typeof createDb>;
export type Sql = Database['sql'];

/**
 * Runs `fn` in one transaction: a change and its audit event commit together
 * or not at all. The repository's functions take a `Sql`; a transaction runs
 * their queries the same way and lacks only the pool's own methods (begin,
 * end, listen), which no repository function calls.
 */
export function inTransaction<T>(sql: Sql, fn: (tx: Sql) => Promise<T>): Promise<T> {
  return sql.begin((tx) => fn(tx as unknown as Sql)) as Promise<T>;
}

/** SQLSTATE classes that mean "the database is not reachable right now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08003',
  '08006',
  '08001',
  '08004',
]);

export function isDatabaseUnavailable(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (current instanceof AggregateError && current.errors.some(isDatabaseUnavailable))
      return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export function isUniqueViolation(error: unknown, constraint?: string): boolean {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as { code?: unknown; constraint_name?: unknown };
    if (e.code === '23505' && (!constraint || e.constraint_name === constraint)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
