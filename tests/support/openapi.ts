/**
 * The routes as the app documents them (GET /openapi.json): tables of
 * per-route test data are keyed by `METHOD path` as written there, and
 * checked against it, so a route added without a row fails a test.
 */
import { expect } from 'vitest';
import type { JsonResponse } from './http.ts';

export interface Operation {
  method: string;
  /** As documented, with `{param}` segments. */
  path: string;
  /** `METHOD path`, the key of per-route test data. */
  key: string;
  pathParams: string[];
}

export const routeKey = (method: string, path: string): string => `${method.toUpperCase()} ${path}`;

/** Every operation of the app's OpenAPI document, in document order. */
export async function documentedOperations(app: {
  request(method: string, path: string): Promise<JsonResponse>;
}): Promise<Operation[]> {
  const doc = await app.request('GET', '/openapi.json');
  if (doc.status !== 200) throw new Error(`GET /openapi.json: ${doc.status}`);
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<
    Record<string, { parameters?: { in: string; name: string }[] }>
  >(doc.body.paths)) {
    for (const [method, op] of Object.entries(item)) {
      const pathParams = (op.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      ops.push({ method: method.toUpperCase(), path, key: routeKey(method, path), pathParams });
    }
  }
  return ops;
}

/**
 * Fails naming each documented operation the table has no row for, and each
 * row for an operation the document does not have (a route renamed or gone).
 */
export function expectRowForEveryRoute(
  operations: readonly Operation[],
  rows: Iterable<string>,
  table: string,
): void {
  const documented = new Set(operations.map((op) => op.key));
  const keys = new Set(rows);
  expect(
    {
      [`documented routes without a row in ${table}`]: [...documented].filter((k) => !keys.has(k)),
      [`rows in ${table} for routes not documented`]: [...keys].filter((k) => !documented.has(k)),
    },
    `every route in the OpenAPI document needs a row in ${table}`,
  ).toEqual({
    [`documented routes without a row in ${table}`]: [],
    [`rows in ${table} for routes not documented`]: [],
  });
}
