import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import { selfOnlyCsp } from '../lib/csp.ts';
import type { AppEnv } from '../lib/env.ts';

/**
 * `/docs`: Swagger UI over `/openapi.json`, every byte of it served from here
 * (the pinned `swagger-ui-dist` package), so the page works offline and under
 * a Content-Security-Policy that allows nothing from elsewhere and no inline
 * script: the page's own start-up code is a served file too.
 */
const SWAGGER_UI_DIR = dirname(
  createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'),
);

export const DOCS_ASSETS_PATH = '/docs/assets';

/** The only files served, by name: nothing else of the package (or the disk) is reachable. */
const ASSETS: Record<string, string> = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const INIT_SCRIPT = `// Starts Swagger UI on this service's own OpenAPI document.
// The document's address is the page's to say (data-openapi-url).
const root = document.getElementById('swagger-ui');
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: '#swagger-ui',
  deepLinking: true,
  // The default posts the document to validator.swagger.io.
  validatorUrl: null,
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>twofa API</title>
<link rel="icon" type="image/png" href="${DOCS_ASSETS_PATH}/favicon-32x32.png">
<link rel="stylesheet" href="${DOCS_ASSETS_PATH}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url='/openapi.json'></div>
<script src="${DOCS_ASSETS_PATH}/swagger-ui-bundle.js"></script>
<script src="${DOCS_ASSETS_PATH}/init.js"></script>
</body>
</html>
`;

/** Only this origin, no inline script, no eval (Swagger UI sets inline styles). */
export const DOCS_CSP = selfOnlyCsp({ baseAndForms: false });

const SECURITY_HEADERS = {
  'content-security-policy': DOCS_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const cache = new Map<string, Buffer>();
async function asset(name: string): Promise<Buffer> {
  let body = cache.get(name);
  if (!body) {
    body = await readFile(join(SWAGGER_UI_DIR, name));
    cache.set(name, body);
  }
  return body;
}

export const docsRouter = new Hono<AppEnv>();

docsRouter.get('/docs', (c) =>
  c.html(PAGE, 200, { ...SECURITY_HEADERS, 'cache-control': 'no-cache' }),
);

docsRouter.get(`${DOCS_ASSETS_PATH}/init.js`, (c) =>
  c.body(INIT_SCRIPT, 200, {
    ...SECURITY_HEADERS,
    'content-type': 'text/javascript; charset=utf-8',
    'cache-control': 'no-cache',
  }),
);

docsRouter.get(`${DOCS_ASSETS_PATH}/:name`, async (c) => {
  const name = c.req.param('name');
  const type = Object.hasOwn(ASSETS, name) ? ASSETS[name] : undefined;
  if (!type) return c.notFound();
  const body = await asset(name);
  return c.body(new Uint8Array(body), 200, {
    ...SECURITY_HEADERS,
    'content-type': type,
    // The package is pinned: its files change only with a new release of the service.
    'cache-control': 'public, max-age=86400',
  });
});
