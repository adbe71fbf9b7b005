import { z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import { accountPages } from './account.tsx';
import { COUNTDOWN_SCRIPT, COUNTDOWN_SCRIPT_PATH } from './countdown.ts';
import { devSmsPages } from './dev-sms.tsx';
import { documentPage, redirect } from './docs.ts';
import { factorPages } from './factors.tsx';
import { helpPages } from './help.tsx';
import { loginPages } from './login.tsx';
import { pageHeaders } from './session.ts';
import { settingsPages } from './settings.tsx';
import { settingsAppsPages } from './settings-apps.tsx';
import { webhookPages } from './settings-webhooks.tsx';
import { STYLESHEET, STYLESHEET_PATH } from './styles.ts';

export { registerPageDocs } from './docs.ts';

/** The server-rendered pages for people: login with 2FA, account, settings, dev inbox. */
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
    '/help',
  ]) {
    pages.use(path, pageHeaders);
  }
  // The service's front door is the sign-in page, not a JSON 404.
  pages.get('/', (c) => c.redirect('/login', 302));
  pages.get(COUNTDOWN_SCRIPT_PATH, (c) => {
    c.header('content-type', 'text/javascript; charset=utf-8');
    c.header('cache-control', 'public, max-age=3600');
    c.header('x-content-type-options', 'nosniff');
    return c.body(COUNTDOWN_SCRIPT);
  });
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
  pages.route('/', webhookPages);
  pages.route('/', settingsAppsPages);
  pages.route('/', devSmsPages);
  pages.route('/', helpPages);
  return pages;
}

documentPage('get', '/', 'rootPage', 'The front door: to the sign-in page', {
  302: redirect('To /login'),
});
documentPage(
  'get',
  COUNTDOWN_SCRIPT_PATH,
  'pagesCountdownScript',
  "The code step's resend countdown",
  {
    200: { description: 'JavaScript', content: { 'text/javascript': { schema: z.string() } } },
  },
);
documentPage('get', STYLESHEET_PATH, 'pagesStylesheet', "The pages' stylesheet", {
  200: { description: 'CSS', content: { 'text/css': { schema: z.string() } } },
});
