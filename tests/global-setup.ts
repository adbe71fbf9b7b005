import { prepareTemplateDatabase, TEST_PG_BASE } from './support/database.ts';
import { type PgBouncer, startPgBouncer } from './support/pgbouncer.ts';

/**
 * Builds the template database every test file clones. With
 * TEST_DATABASE_VIA=pgbouncer, also starts one PgBouncer in transaction mode
 * and sends every test file's connections (services and tests alike) through
 * it, with prepared statements off; databases are still created directly.
 */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  await prepareTemplateDatabase();
  const via = process.env.TEST_DATABASE_VIA;
  if (!via || via === 'direct') return undefined;
  if (via !== 'pgbouncer') throw new Error(`TEST_DATABASE_VIA=${via}: want pgbouncer or direct`);
  const bouncer: PgBouncer = await startPgBouncer({ target: TEST_PG_BASE });
  // Read by createTestDatabase (the URL it hands out) and by the services' config.
  process.env.TEST_DATABASE_APP_URL = `${bouncer.urlFor('{database}')}?prepare=false`;
  process.env.DATABASE_PREPARED_STATEMENTS = 'false';
  return () => bouncer.close();
}
