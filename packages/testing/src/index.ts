export * from './database.ts';
export * from './harness.ts';
