import { migrateDatabase } from './migrate.ts';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@localhost:5432/twofa';
try {
  await migrateDatabase(url);
  console.log(
    JSON.stringify({ msg: 'migrations applied', database: new URL(url).pathname.slice(1) }),
  );
} catch (error) {
  console.error('migration failed:', (error as Error).message);
  process.exit(1);
}
