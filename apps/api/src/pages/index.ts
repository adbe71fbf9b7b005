import { z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import { accountPages } from './account.tsx';
import { devSmsPages } from './dev-sms.tsx';
import { documentPage } from './docs.ts';
import { factorPages } from './factors.tsx';
import { loginPages } from './login.tsx';
import { pageHeaders } from './session.ts';
import { settingsPages } from './settings.tsx';
import { STYLESHEET, STYLESHEET_PATH } from './styles.ts';

/** The server-rendered pages for people: login with 2FA, account, settings, dev inbox. */
export { registerPageDocs } from './docs.ts';

export function pagesRouter() {
  const pages = new Hono<AppEnv>();
  for (const path of [
    '/login',
    '/login/*',
    '/logout',
    '/account',
    '/account/*',
    '/settings/*',
    '/dev/sms',
  ]) {
    pages.use(path, pageHeaders);
  }
  pages.get(STYLESHEET_PATH, (c) => {
    c.header('content-type', 'text/css; charset=utf-8');
    c.header('cache-control', 'public, max-age=3600');
    c.header('x-content-type-options', 'nosniff');
    return c.body(STYLESHEET);
  });
  pages.route('/', loginPages);
  pages.route('/', accountPages);
  pages.route('/', factorPages);
  pages.route('/', settingsPages);
  pages.route('/', devSmsPages);
  return pages;
}

documentPage('get', STYLESHEET_PATH, 'pagesStylesheet', "The pages' stylesheet", {
  200: { description: 'CSS', content: { 'text/css': { schema: z.string() } } },
});
