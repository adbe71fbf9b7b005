export * from './database.ts';
export * from './harness.ts';
export * from './pgbouncer.ts';
export * from './processes.ts';
export * from './redis-cluster.ts';
