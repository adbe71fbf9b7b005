/**
 * Test support, one file a seam: the per-file database, the in-process
 * harness, child processes (Redis, the API and workers as a stack), the faults
 * they are put through (TCP proxy, HTTP tap), requests, seeding, snapshots and
 * the OpenAPI route list. Test code only: nothing under apps/ or packages/
 * imports it.
 */
export * from './database.ts';
export * from './env.ts';
export * from './fixture.ts';
export * from './harness.ts';
export * from './http.ts';
export * from './http-tap.ts';
export * from './openapi.ts';
export * from './pgbouncer.ts';
export * from './process.ts';
export * from './prompt.ts';
export * from './redis-cluster.ts';
export * from './redis-server.ts';
export * from './seed.ts';
export * from './services.ts';
export * from './snapshot.ts';
export * from './stack.ts';
export * from './tcp-proxy.ts';
