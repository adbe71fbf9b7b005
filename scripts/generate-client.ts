/**
 * `npm run client:generate`: the typed client's schema (`packages/client/src/schema.ts`) from
 * the OpenAPI document the API serves, built in this process: no server, no database or Redis
 * round trip (the document is static; the services are created and closed unused).
 * `tests/integration/client-schema.test.ts` fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { closeServices, createApp, createServices } from '@twofa/api';
import { loadConfig } from '@twofa/config';
import { createLogger } from '@twofa/observability';
import openapiTS, { astToString } from 'openapi-typescript';

export const SCHEMA_FILE = fileURLToPath(
  new URL('../packages/client/src/schema.ts', import.meta.url),
);

const HEADER = `/**
 * Generated from the API's /openapi.json by \`npm run client:generate\` (openapi-typescript).
 * Do not edit: tests/integration/client-schema.test.ts fails when this file is stale.
 */

`;

/** The API's OpenAPI document, as GET /openapi.json serves it. */
export async function openApiDocument(): Promise<Record<string, unknown>> {
  const config = loadConfig({
    NODE_ENV: 'development',
    LOG_LEVEL: 'silent',
    // Never dialled: postgres.js connects on the first query, and the document needs none.
    DATABASE_URL: 'postgres://postgres@127.0.0.1:1/openapi',
  });
  const services = createServices(config, {
    logger: createLogger({ name: 'client-generate', level: 'silent' }),
  });
  try {
    const res = await createApp(services).request('/openapi.json');
    if (res.status !== 200) throw new Error(`GET /openapi.json answered ${res.status}`);
    return (await res.json()) as Record<string, unknown>;
  } finally {
    await closeServices(services);
  }
}

/** The text of `schema.ts` for the document the API serves now. */
export async function renderClientSchema(): Promise<string> {
  const ast = await openapiTS(JSON.parse(JSON.stringify(await openApiDocument())), {
    // Answers the document marks required are always there; fields it does not are optional.
    alphabetize: false,
  });
  return HEADER + astToString(ast);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(SCHEMA_FILE, await renderClientSchema());
  process.stdout.write(`wrote ${SCHEMA_FILE}\n`);
}
