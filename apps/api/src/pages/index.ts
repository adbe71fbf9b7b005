import { type OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import { Hono } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import { accountPages } from './account.tsx';
import { devSmsPages } from './dev-sms.tsx';
import { factorPages } from './factors.tsx';
import { loginPages } from './login.tsx';
import { pageHeaders } from './session.ts';
import { settingsPages } from './settings.tsx';
import { STYLESHEET, STYLESHEET_PATH } from './styles.ts';

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

type Responses = RouteConfig['responses'];

const html = (description: string) => ({
  description,
  content: { 'text/html': { schema: z.string() } },
});
const redirect = (description: string) => ({ description });
/** A urlencoded form body, documented field by field. */
const form = (fields: Record<string, string>) => ({
  body: {
    required: true,
    content: {
      'application/x-www-form-urlencoded': {
        schema: z.object(
          Object.fromEntries(
            Object.entries(fields).map(([name, description]) => [
              name,
              z.string().optional().openapi({ description }),
            ]),
          ),
        ),
      },
    },
  },
});
const csrf = 'CSRF token from the page; a POST without the right one is 403';
const userIdParams = z.object({
  userId: z.string().openapi({ param: { name: 'userId', in: 'path' } }),
});

/** Documents the pages in /openapi.json (tag Pages), so every path of the contract is listed. */
export function registerPageDocs(app: OpenAPIHono<AppEnv>): void {
  const tags = ['Pages'];
  const add = (
    method: 'get' | 'post',
    path: string,
    operationId: string,
    summary: string,
    responses: Responses,
    request?: RouteConfig['request'],
  ) =>
    app.openAPIRegistry.registerPath({
      method,
      path,
      tags,
      operationId,
      summary,
      description: 'An HTML page for people; its session is a cookie, not an API key.',
      // Pages take no API key: the browser's session cookie (or none, for sign-in).
      security: [],
      responses,
      ...(request ? { request } : {}),
    });
  const adminOnly = {
    200: html('The page'),
    303: redirect('Logged out: to /login'),
    403: html('A member, not an admin'),
  };
  const adminPost = {
    303: redirect('Saved: back to the page'),
    403: html('Bad CSRF token, or not an admin'),
  };
  add(
    'get',
    '/login',
    'loginPage',
    'Sign-in form (email, password; `org` when not in the query)',
    {
      200: html('The form'),
    },
    {
      query: z.object({ org: z.string().optional().openapi({ description: 'organization id' }) }),
    },
  );
  add(
    'post',
    '/login',
    'loginSubmit',
    'Check the password; log in, or go to the code or phone step',
    {
      303: redirect('To /account, /login/code or /login/phone'),
      401: html('Wrong email or password (the same page for both)'),
      403: html('Bad CSRF token'),
      429: html('Rate limited'),
    },
    form({ org: 'organization id', email: 'email', password: 'password', csrf }),
  );
  add('get', '/login/code', 'codePage', 'The code step: enter the 6-digit code', {
    200: html('The code form'),
    303: redirect('No pending sign-in: to /login'),
    409: html('The challenge is closed (expired, locked, canceled): start again'),
  });
  add(
    'post',
    '/login/code',
    'codeSubmit',
    'Verify the code, optionally trusting the device for 30 days',
    {
      303: redirect('Right code: to /account'),
      403: html('Bad CSRF token'),
      410: html('Expired'),
      422: html('Wrong code, with the attempts left'),
      423: html('Locked'),
    },
    form({ code: '6 digits', trustDevice: '"on" to trust this device', csrf }),
  );
  add(
    'post',
    '/login/resend',
    'codeResend',
    'Send another code (honours the 30 s cooldown)',
    {
      303: redirect('Sent: back to /login/code'),
      403: html('Bad CSRF token'),
      429: html('Too soon (shows the wait) or too many sends'),
    },
    form({ csrf }),
  );
  add('get', '/login/phone', 'phonePage', 'The phone step, for a user with no phone', {
    200: html('The phone form'),
    303: redirect('No pending sign-in: to /login'),
  });
  add(
    'post',
    '/login/phone',
    'phoneSubmit',
    'Give a phone number; the first code goes to it',
    {
      303: redirect('To /login/code'),
      403: html('Bad CSRF token'),
      422: html('Invalid phone, or a country codes may not be sent to'),
    },
    form({ phone: 'phone number', csrf }),
  );
  add(
    'post',
    '/logout',
    'logout',
    'Log out: the session is revoked',
    {
      303: redirect('To /login'),
      403: html('Bad CSRF token'),
    },
    form({ csrf }),
  );
  add('get', '/account', 'accountPage', "The signed-in user's email and a log-out form", {
    200: html('The page'),
    303: redirect('Logged out: to /login'),
  });
  add(
    'get',
    '/settings/password',
    'passwordSettingsPage',
    'Admin: 2FA on/off, skip networks, SMS countries',
    adminOnly,
  );
  add(
    'post',
    '/settings/password',
    'passwordSettingsSubmit',
    'Admin: save the password settings',
    {
      ...adminPost,
      422: html('A bad CIDR or country entry, each flagged; nothing saved'),
    },
    form({
      twoFactorEnabled: '"on" when checked',
      skipTwoFactorCidrs: 'one CIDR block a line',
      smsAllowedCountries: 'ISO 3166 alpha-2 codes, comma separated',
      csrf,
    }),
  );
  add(
    'get',
    '/settings/users',
    'usersPage',
    'Admin: users, with search (`q`) and paging (`page`)',
    adminOnly,
  );
  add(
    'post',
    '/settings/users/{userId}/two-factor',
    'usersTwoFactorSubmit',
    "Admin: disable (or require again) a user's two-factor authentication",
    adminPost,
    {
      params: userIdParams,
      ...form({ twoFactorDisabled: '"true" or "false"', csrf }),
    },
  );
  add(
    'post',
    '/settings/users/{userId}/trusted-devices',
    'usersRevokeDevicesSubmit',
    "Admin: revoke a user's trusted devices",
    adminPost,
    {
      params: userIdParams,
      ...form({ csrf }),
    },
  );
  add(
    'post',
    '/settings/users/{userId}/unlock',
    'usersUnlockSubmit',
    'Admin: lift a lock after too many wrong codes',
    adminPost,
    {
      params: userIdParams,
      ...form({ csrf }),
    },
  );
  add(
    'post',
    '/settings/users/{userId}/second-factors/reset',
    'usersResetSecondFactorsSubmit',
    "Admin: reset a user's second factors (phone, authenticator app, backup codes, trusted devices; their sessions end)",
    adminPost,
    {
      params: userIdParams,
      ...form({ csrf }),
    },
  );
  add('get', '/login/backup-code', 'backupCodePage', 'The code step with a backup code instead', {
    200: html('The form'),
    303: redirect('No pending sign-in, or one that takes no backup code'),
  });
  add(
    'post',
    '/login/backup-code',
    'backupCodeSubmit',
    'Verify a backup code (case, spaces and dashes ignored); taken on pending, phone and failed steps',
    {
      303: redirect('Right code: to /account'),
      403: html('Bad CSRF token'),
      422: html('Wrong or used code, with the attempts left'),
      423: html('Locked'),
    },
    form({ backupCode: 'a backup code', trustDevice: '"on" to trust this device', csrf }),
  );
  add(
    'post',
    '/account/totp',
    'accountTotpStart',
    'Start setting up an authenticator app',
    { 303: redirect('To /account/totp'), 403: html('Bad CSRF token') },
    form({ csrf }),
  );
  add('get', '/account/totp', 'accountTotpPage', 'The QR code (inline SVG) and the key as text', {
    200: html('The setup page'),
    303: redirect('No enrollment pending: to /account'),
  });
  add(
    'post',
    '/account/totp/confirm',
    'accountTotpConfirm',
    'Confirm the app with a first code',
    {
      303: redirect('Confirmed: to /account'),
      403: html('Bad CSRF token'),
      422: html('Wrong code'),
    },
    form({ code: '6 digits from the app', csrf }),
  );
  add(
    'post',
    '/account/totp/remove',
    'accountTotpRemove',
    'Remove the authenticator app',
    { 303: redirect('To /account'), 403: html('Bad CSRF token') },
    form({ csrf }),
  );
  add(
    'post',
    '/account/backup-codes',
    'accountBackupCodes',
    'A new set of backup codes, shown once on this answer (with a text download and print)',
    { 200: html('The codes'), 403: html('Bad CSRF token') },
    form({ csrf }),
  );
  add(
    'get',
    '/settings/subscription',
    'subscriptionPage',
    'Admin: SMS balance, recent ledger, low-balance warning',
    adminOnly,
  );
  add(
    'get',
    '/settings/audit',
    'auditPage',
    'Admin: the audit log, newest first, paged by `before`',
    adminOnly,
  );
  add(
    'get',
    '/dev/sms',
    'devSmsInbox',
    "Development: the console provider's messages, newest first",
    {
      200: html('The inbox'),
      404: { description: 'Not the console provider, or NODE_ENV=production' },
    },
  );
  add('get', STYLESHEET_PATH, 'pagesStylesheet', "The pages' stylesheet", {
    200: { description: 'CSS', content: { 'text/css': { schema: z.string() } } },
  });
}
