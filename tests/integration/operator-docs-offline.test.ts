import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/browser.ts';
import { ADMIN_KEY, createHarness, type Harness } from '../support/index.ts';

// /docs works with no internet: every asset comes from the service itself, under
// a Content-Security-Policy that allows nothing else and no inline script.
// The browser is Debian's chromium (.ci/run installs it).

let h: Harness;

beforeAll(async () => {
  h = await createHarness({ worker: false, env: { DB_POOL_SIZE: '2' } });
});
afterAll(async () => {
  await h?.close();
});

/** Every src/href of the page, in order. */
function references(html: string): string[] {
  return [...html.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/g)].map((m) => m[1] as string);
}

/** The CSP's directives, by name. */
function directives(csp: string): Map<string, string[]> {
  return new Map(
    csp
      .split(';')
      .map((d) => d.trim().split(/\s+/))
      .filter((d) => d[0])
      .map(([name, ...values]) => [name as string, values]),
  );
}

describe('/docs from the service alone', () => {
  it('references only assets of its own, and each answers 200', async () => {
    const res = await h.app.request('/docs');
    expect(res.status).toBe(200);
    const html = await res.text();
    const refs = references(html);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    expect(refs.some((r) => r.endsWith('.js'))).toBe(true);
    expect(refs.some((r) => r.endsWith('.css'))).toBe(true);
    for (const ref of refs) {
      // Same origin: a path, never a scheme or a protocol-relative host.
      expect(ref, ref).toMatch(/^\/[^/]/);
      const asset = await h.app.request(ref);
      expect(asset.status, ref).toBe(200);
      expect((await asset.arrayBuffer()).byteLength, ref).toBeGreaterThan(0);
      if (ref.endsWith('.js')) expect(asset.headers.get('content-type'), ref).toMatch(/javascript/);
      if (ref.endsWith('.css')) expect(asset.headers.get('content-type'), ref).toMatch(/text\/css/);
    }
    // The scripts it runs mention no other origin either (the bundle's own code aside,
    // which only fetches what it is given): the start-up script names the document only.
    const init = await (await h.app.request(refs.find((r) => r.endsWith('init.js')) ?? '')).text();
    expect(init).not.toMatch(/https?:\/\//);
    expect(init).toContain('validatorUrl: null');
  });

  it('runs no inline script, under a strict Content-Security-Policy', async () => {
    const res = await h.app.request('/docs');
    const html = await res.text();
    for (const tag of html.match(/<script\b[^>]*>[\s\S]*?<\/script>/g) ?? []) {
      expect(tag, tag).toMatch(/^<script src="[^"]+"><\/script>$/);
    }
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
    const csp = directives(res.headers.get('content-security-policy') ?? '');
    expect(csp.get('default-src')).toEqual(["'none'"]);
    expect(csp.get('script-src')).toEqual(["'self'"]);
    expect(csp.get('connect-src')).toEqual(["'self'"]);
    expect(csp.get('frame-ancestors')).toEqual(["'none'"]);
    for (const [name, values] of csp) {
      for (const value of values) {
        expect(value, `${name} ${value}`).not.toMatch(/^(https?:|\*|'unsafe-eval')/);
      }
    }
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('serves only the files it names, not the rest of the package or the disk', async () => {
    for (const path of [
      '/docs/assets/package.json',
      '/docs/assets/index.html',
      '/docs/assets/..%2Fpackage.json',
      '/docs/assets/%2E%2E%2F%2E%2E%2Fpackage.json',
      '/docs/assets/swagger-ui-bundle.js.map',
    ]) {
      const res = await h.app.request(path);
      expect(res.status, path).toBe(404);
    }
  });
});

describe('/docs in a browser with no internet', () => {
  let browser: Browser;
  let server: ServerType;
  let origin: string;

  beforeAll(async () => {
    server = serve({ fetch: h.app.fetch, port: 0, hostname: '127.0.0.1' });
    await new Promise<void>((resolve) => server.once('listening', () => resolve()));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  /** A page whose every request off this machine is blocked, and what it asked for and said. */
  async function offlinePage(context: BrowserContext) {
    const page = await context.newPage();
    const outside: string[] = [];
    const local: string[] = [];
    await page.route('**/*', (route) => {
      const url = new URL(route.request().url());
      if (url.hostname === '127.0.0.1' || url.hostname === 'localhost') {
        local.push(url.pathname);
        return route.continue();
      }
      outside.push(url.href);
      return route.abort('blockedbyclient');
    });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    return { page, outside, local, problems };
  }

  it('renders the operations with every outside request blocked', async () => {
    const context = await browser.newContext();
    const { page, outside, local, problems } = await offlinePage(context);

    await page.goto(`${origin}/docs`);
    await page.getByText('/v1/challenges', { exact: true }).first().waitFor({ timeout: 20_000 });
    await expect(page.getByText('/v1/challenges/{id}/verify').first().isVisible()).resolves.toBe(
      true,
    );
    await expect(page.getByText('SMS two-factor authentication').first().isVisible()).resolves.toBe(
      true,
    );

    expect(outside).toEqual([]);
    expect(local).toContain('/openapi.json');
    // No CSP violation or script error on the way.
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it('renders the queue dashboard with nothing fetched from outside', async () => {
    const context = await browser.newContext({
      httpCredentials: { username: 'admin', password: ADMIN_KEY },
    });
    const { page, outside, problems } = await offlinePage(context);

    const res = await page.goto(`${origin}/admin/queues`);
    expect(res?.headers()['content-security-policy']).toContain("default-src 'none'");
    await page.getByText('send-code').first().waitFor({ timeout: 20_000 });
    // bull-board's page names Google's font server; the policy stops it before any request.
    expect(outside).toEqual([]);
    expect(problems.filter((p) => !/fonts\.googleapis\.com/.test(p))).toEqual([]);
    await context.close();
  }, 60_000);
});
