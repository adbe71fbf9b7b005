import { z } from '@hono/zod-openapi';
/**
 * `/settings/apps`: an admin registers the organization's hosted-prompt apps, sees their
 * client ids, gives one a new secret or deletes it. A secret is shown once, in the answer to
 * the POST that made it, never in a URL. The rules are `domain/apps.ts`, as for `/v1/apps`.
 */
import type { AppRow } from '@twofa/db';
import { Hono } from 'hono';
import {
  AppInput,
  listApps,
  redirectUriErrors,
  registerApp,
  removeApp,
  rotateAppSecret,
} from '../domain/apps.ts';
import type { AppEnv } from '../lib/env.ts';
import { ApiError } from '../lib/errors.ts';
import { clientAddress } from '../lib/http.ts';
import { adminOnly, adminPost, csrf, documentPage, form, html } from './docs.ts';
import { requireAdmin } from './guard.tsx';
import { apiErrorText, langOf } from './lang.ts';
import { Csrf, DataTable, fieldAria, Layout, Notice } from './layout.tsx';
import { forbidden } from './login.tsx';
import type { PageLang } from './messages.ts';
import { render } from './render.ts';
import { csrfToken, csrfValid, formFields, type PageContext, type PageSession } from './session.ts';

export const settingsAppsPages = new Hono<AppEnv>();

/** A row's button: a POST to `/settings/apps/:id/<action>`, named with the app for screen readers. */
function AppAction(props: {
  csrf: string;
  app: AppRow;
  action: 'secret' | 'delete';
  label: string;
}) {
  return (
    <form method="post" action={`/settings/apps/${props.app.id}/${props.action}`}>
      <Csrf token={props.csrf} />
      <button
        type="submit"
        class="secondary small"
        aria-label={`${props.label}: ${props.app.name}`}
      >
        {props.label}
      </button>
    </form>
  );
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Who changed an app, for the audit log. */
const byAdmin = (c: PageContext, session: PageSession) => ({
  actor: `admin:${session.userId}`,
  ip: clientAddress(c),
});

interface RegisterForm {
  name: string;
  urisText: string;
  nameError?: boolean;
  countError?: boolean;
  uriErrors: { line: number; uri: string }[];
  error?: string | undefined;
}

/** What the POST that made a secret shows, once. */
interface Shown {
  kind: 'registered' | 'rotated';
  app: AppRow;
  clientSecret: string;
}

const EMPTY_FORM: RegisterForm = { name: '', urisText: '', uriErrors: [] };

function AppsPage(props: {
  lang: PageLang;
  csrf: string;
  session: PageSession;
  apps: AppRow[];
  form: RegisterForm;
  shown?: Shown | undefined;
  deleted?: boolean;
}) {
  const { lang, csrf, session, apps, form, shown } = props;
  const { t } = lang;
  const urisInvalid = form.countError || form.uriErrors.length > 0;
  return (
    <Layout lang={lang} title={t.appsTitle} user={session} wide>
      <div class="card">
        <h1>{t.appsTitle}</h1>
        <p class="muted">{t.appsIntro}</p>
        {props.deleted ? <Notice kind="ok">{t.appDeleted}</Notice> : null}
        {shown ? (
          <Notice kind="ok">
            <p>
              {shown.kind === 'registered'
                ? t.appRegistered(shown.app.name)
                : t.secretRotated(shown.app.name)}
            </p>
            <dl>
              <dt>{t.clientIdLabel}</dt>
              <dd>
                <code data-testid="client-id">{shown.app.clientId}</code>
              </dd>
              <dt>{t.clientSecretLabel}</dt>
              <dd>
                <code data-testid="client-secret">{shown.clientSecret}</code>
              </dd>
            </dl>
            <p>
              <strong>{t.secretOnce}</strong>
            </p>
          </Notice>
        ) : null}
        <h2>{t.registeredApps}</h2>
        <DataTable
          label={t.registeredApps}
          columns={[t.colName, t.colClientId, t.colRedirectUris, t.colCreated, t.colActions]}
          empty={apps.length === 0 && t.noApps}
        >
          {apps.map((app) => (
            <tr>
              <td>{app.name}</td>
              <td>
                <code>{app.clientId}</code>
              </td>
              <td>
                {app.redirectUris.map((uri) => (
                  <div>
                    <code>{uri}</code>
                  </div>
                ))}
              </td>
              <td>
                <time datetime={app.createdAt.toISOString()}>{lang.dateTime(app.createdAt)}</time>
              </td>
              <td class="actions">
                <AppAction csrf={csrf} app={app} action="secret" label={t.rotateSecret} />
                <AppAction csrf={csrf} app={app} action="delete" label={t.deleteApp} />
              </td>
            </tr>
          ))}
        </DataTable>
        <h2>{t.registerAppHeading}</h2>
        {form.error ? <Notice kind="error">{form.error}</Notice> : null}
        {form.nameError || urisInvalid ? <Notice kind="error">{t.nothingSaved}</Notice> : null}
        <form method="post" action="/settings/apps">
          <Csrf token={csrf} />
          <div class="field">
            <label for="name">{t.appNameLabel}</label>
            <input
              id="name"
              name="name"
              type="text"
              value={form.name}
              maxlength={100}
              autocomplete="off"
              required
              {...fieldAria(form.nameError, 'name-error')}
            />
            {form.nameError ? (
              <p id="name-error" class="field-error">
                {t.appNameInvalid}
              </p>
            ) : null}
          </div>
          <div class="field">
            <label for="redirectUris">{t.redirectUrisLabel}</label>
            <textarea
              id="redirectUris"
              name="redirectUris"
              rows={3}
              spellcheck={false}
              required
              {...fieldAria(urisInvalid, 'redirectUris-errors', 'redirectUris-help')}
            >
              {form.urisText}
            </textarea>
            <p id="redirectUris-help" class="muted">
              {t.redirectUrisHelp}
            </p>
            <ul id="redirectUris-errors" class="errors">
              {form.countError ? <li>{t.redirectUrisCount}</li> : null}
              {form.uriErrors.map((e) => (
                <li>
                  {t.cidrLineError(e.line)} <code>{e.uri}</code> {t.notRedirectUri}
                </li>
              ))}
            </ul>
          </div>
          <button type="submit">{t.registerApp}</button>
        </form>
      </div>
    </Layout>
  );
}

async function pageContext(c: PageContext, session: PageSession) {
  const services = c.get('services');
  const [org, apps] = await Promise.all([
    services.organizations.get(session.organizationId),
    listApps(services, session.organizationId),
  ]);
  return { lang: langOf(c, org), apps, csrf: csrfToken(c, session.token) };
}

settingsAppsPages.get('/settings/apps', async (c) => {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const { lang, apps, csrf } = await pageContext(c, session);
  return render(
    c,
    <AppsPage
      lang={lang}
      csrf={csrf}
      session={session}
      apps={apps}
      form={EMPTY_FORM}
      deleted={c.req.query('deleted') !== undefined}
    />,
  );
});

settingsAppsPages.post('/settings/apps', async (c) => {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const fields = await formFields(c);
  const ctx = await pageContext(c, session);
  if (!csrfValid(c, session.token, fields.csrf)) return forbidden(c, ctx.lang);
  const name = (fields.name ?? '').slice(0, 1_000);
  const urisText = (fields.redirectUris ?? '').slice(0, 64_000);
  const lines = urisText
    .split(/\r?\n/)
    .map((text, index) => ({ line: index + 1, uri: text.trim() }))
    .filter((l) => l.uri !== '');
  const uris = lines.map((l) => l.uri);
  const parsed = AppInput.safeParse({ name, redirectUris: uris });
  const form: RegisterForm = {
    name,
    urisText,
    nameError: !parsed.success && parsed.error.issues.some((i) => i.path[0] === 'name'),
    countError: uris.length < 1 || uris.length > 10,
    uriErrors: redirectUriErrors(uris).map((e) => ({
      line: lines[e.index]?.line ?? e.index + 1,
      uri: e.uri,
    })),
  };
  const page = (f: RegisterForm, status: 200 | 422, shown?: Shown) =>
    render(
      c,
      <AppsPage
        lang={ctx.lang}
        csrf={ctx.csrf}
        session={session}
        apps={ctx.apps}
        form={f}
        shown={shown}
      />,
      status,
    );
  if (!parsed.success || form.uriErrors.length > 0) {
    // A URI over the length limit fails the schema without a line of its own to flag.
    const unflagged = !form.nameError && !form.countError && form.uriErrors.length === 0;
    return page({ ...form, error: unflagged ? ctx.lang.t.errGeneric : undefined }, 422);
  }
  try {
    const made = await registerApp(
      c.get('services'),
      session.organizationId,
      parsed.data,
      byAdmin(c, session),
    );
    ctx.apps = await listApps(c.get('services'), session.organizationId);
    return page(EMPTY_FORM, 200, { kind: 'registered', ...made });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return page({ ...form, error: apiErrorText(ctx.lang, error) }, 422);
  }
});

/** Admin, CSRF and an app id of this organization, then the action; 404 for any other id. */
async function appAction(
  c: PageContext,
  act: (session: PageSession, appId: string) => Promise<Response | null>,
) {
  const session = await requireAdmin(c);
  if (session instanceof Response) return session;
  const fields = await formFields(c);
  const ctx = await pageContext(c, session);
  if (!csrfValid(c, session.token, fields.csrf)) return forbidden(c, ctx.lang);
  const appId = c.req.param('appId') ?? '';
  const done = UUID.test(appId) ? await act(session, appId.toLowerCase()) : null;
  if (done) return done;
  return render(
    c,
    <Layout lang={ctx.lang} title={ctx.lang.t.notFoundTitle} user={session}>
      <div class="card">
        <h1>{ctx.lang.t.appNotFound}</h1>
        <p>
          <a href="/settings/apps">{ctx.lang.t.backToApps}</a>
        </p>
      </div>
    </Layout>,
    404,
  );
}

settingsAppsPages.post('/settings/apps/:appId/secret', (c) =>
  appAction(c, async (session, appId) => {
    const services = c.get('services');
    const clientSecret = await rotateAppSecret(
      services,
      session.organizationId,
      appId,
      byAdmin(c, session),
    );
    if (clientSecret === null) return null;
    const { lang, apps, csrf } = await pageContext(c, session);
    const app = apps.find((a) => a.id === appId);
    if (!app) return null;
    return render(
      c,
      <AppsPage
        lang={lang}
        csrf={csrf}
        session={session}
        apps={apps}
        form={EMPTY_FORM}
        shown={{ kind: 'rotated', app, clientSecret }}
      />,
    );
  }),
);

settingsAppsPages.post('/settings/apps/:appId/delete', (c) =>
  appAction(c, async (session, appId) => {
    const removed = await removeApp(
      c.get('services'),
      session.organizationId,
      appId,
      byAdmin(c, session),
    );
    return removed ? c.redirect('/settings/apps?deleted', 303) : null;
  }),
);

documentPage(
  'get',
  '/settings/apps',
  'appsPage',
  "Admin: the organization's hosted-prompt apps, and a form to register one",
  adminOnly,
);
documentPage(
  'post',
  '/settings/apps',
  'appsRegisterSubmit',
  'Admin: register an app; the answer shows its client id and secret, once',
  {
    200: html('Registered: the page with the secret, shown this once'),
    403: html('Bad CSRF token, or not an admin'),
    422: html('A bad name, count or redirect URI, each flagged; nothing saved'),
  },
  form({ name: 'the app name', redirectUris: 'one redirect URI a line', csrf }),
);
documentPage(
  'post',
  '/settings/apps/{appId}/secret',
  'appsRotateSecretSubmit',
  "Admin: replace an app's client secret; the answer shows the new one, once",
  {
    200: html('The page with the new secret, shown this once'),
    403: html('Bad CSRF token, or not an admin'),
    404: html('No such app in this organization'),
  },
  {
    params: z.object({
      appId: z.string().openapi({ param: { name: 'appId', in: 'path' } }),
    }),
    ...form({ csrf }),
  },
);
documentPage(
  'post',
  '/settings/apps/{appId}/delete',
  'appsDeleteSubmit',
  'Admin: delete an app; its secret, pending requests and codes stop working',
  { ...adminPost, 404: html('No such app in this organization') },
  {
    params: z.object({
      appId: z.string().openapi({ param: { name: 'appId', in: 'path' } }),
    }),
    ...form({ csrf }),
  },
);
