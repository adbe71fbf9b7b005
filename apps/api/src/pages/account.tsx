import { getUser } from '@twofa/db';
import { Hono } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import { documentPage, html, redirect } from './docs.ts';
import { accountNotice, SecondFactorsCard, takeBackupCodesOffer } from './factors.tsx';
import { requireSession } from './guard.tsx';
import { langOf } from './lang.ts';
import { Csrf, Layout } from './layout.tsx';
import { render } from './render.ts';
import { csrfToken } from './session.ts';

export const accountPages = new Hono<AppEnv>();

accountPages.get('/account', async (c) => {
  const session = await requireSession(c);
  if (session instanceof Response) return session;
  const org = await c.get('services').organizations.get(session.organizationId);
  const lang = langOf(c, org);
  const { t } = lang;
  const user = await getUser(c.get('services').db.sql, session.organizationId, session.userId);
  return render(
    c,
    <Layout lang={lang} title={t.accountTitle} user={session}>
      <div class="card">
        <h1>{t.signedInHeading}</h1>
        <p>
          {t.signedInAs} <strong data-testid="email">{session.email}</strong>
          {org ? t.atOrganization(org.row.name) : ''}.
        </p>
        {session.role === 'admin' ? (
          <p>
            {t.adminOf} <a href="/settings/password">{t.adminOfLink}</a>.
          </p>
        ) : null}
        <form method="post" action="/logout">
          <Csrf token={csrfToken(c, session.token)} />
          <button class="secondary" type="submit">
            {t.logOut}
          </button>
        </form>
      </div>
      {user && org ? (
        <SecondFactorsCard
          lang={lang}
          csrf={csrfToken(c, session.token)}
          user={user}
          org={org}
          notice={accountNotice(lang, c.req.query('done'))}
          offer={takeBackupCodesOffer(c)}
        />
      ) : null}
    </Layout>,
  );
});

// ---- documented in /openapi.json -----------------------------------------

documentPage('get', '/account', 'accountPage', "The signed-in user's email and a log-out form", {
  200: html('The page'),
  303: redirect('Logged out: to /login'),
});
