export * from './client.ts';
export * from './migrate.ts';
export * from './repo/audit.ts';
export * from './repo/challenges.ts';
export * from './repo/idempotency.ts';
export * from './repo/organizations.ts';
export * from './repo/sends.ts';
export * from './repo/users.ts';
export * as schema from './schema.ts';
