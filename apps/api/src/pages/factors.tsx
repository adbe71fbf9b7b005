import { type ChallengeView, type SecondFactorMethod, totpUri } from '@twofa/core';
import { getUser, type UserRow } from '@twofa/db';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { raw } from 'hono/html';
import QRCode from 'qrcode';
import {
  confirmTotp,
  disableTotp,
  enrollTotp,
  newBackupCodes,
  pendingTotpSecret,
} from '../domain/second-factors.ts';
import type { AppEnv } from '../lib/env.ts';
import { ApiError } from '../lib/errors.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import {
  adminPost,
  csrf as csrfField,
  documentPage,
  form as formBody,
  html,
  redirect,
  userIdParams,
} from './docs.ts';
import { requireSession } from './guard.tsx';
import { apiErrorText, langOf } from './lang.ts';
import { CodeInput, Csrf, fieldAria, Layout, Notice, VerifyActions } from './layout.tsx';
import { forbidden, LOGIN_STEP_PATHS, type StepPaths } from './login.tsx';
import type { PageLang } from './messages.ts';
import { render } from './render.ts';
import {
  browserCookie,
  browserId,
  clearPendingChallenge,
  csrfToken,
  csrfValid,
  endUserAddress,
  formFields,
  type PageContext,
  type PageSession,
  pendingChallenge,
  setDeviceToken,
  startSession,
} from './session.ts';

/**
 * The pages of the second factors besides SMS: the account's authenticator
 * app and backup codes, and the login's "use a backup code" step. The code
 * step itself (login.tsx) shows the other ways through `OtherWays`.
 */
export const factorPages = new Hono<AppEnv>();

/** The one script of the pages, served from here (CSP `script-src 'self'`): the print button. */
export const PRINT_SCRIPT_PATH = '/pages/print.js';
const PRINT_SCRIPT = `document.querySelectorAll('[data-print]').forEach(function (b) {
  b.hidden = false;
  b.addEventListener('click', function () { window.print(); });
});`;

factorPages.get(PRINT_SCRIPT_PATH, (c) => {
  c.header('content-type', 'text/javascript; charset=utf-8');
  c.header('cache-control', 'public, max-age=3600');
  c.header('x-content-type-options', 'nosniff');
  return c.body(PRINT_SCRIPT);
});

// ---- the code step's other ways ------------------------------------------------

/**
 * The other ways a challenge takes, as its `methods` allow: "use your
 * authenticator app", "use a backup code", "text me a code instead".
 * `current` is the step the page is: its own way is not offered again.
 */
export function OtherWays(props: {
  lang: PageLang;
  csrf: string;
  view: ChallengeView;
  current: 'code' | 'backup_code' | 'phone' | 'closed';
  /** Where the links and the resend go: the /login pages', or a hosted prompt's own. */
  paths?: Pick<StepPaths, 'codePage' | 'backupCodePage' | 'resend'>;
}) {
  const { lang, csrf, view, current } = props;
  const paths = props.paths ?? LOGIN_STEP_PATHS;
  const { t } = lang;
  const open = view.status === 'pending';
  const app = view.methods.includes('totp') && open && current !== 'code';
  const backup =
    view.methods.includes('backup_code') &&
    current !== 'backup_code' &&
    ['pending', 'phone_required', 'failed'].includes(view.status);
  // The first SMS of an app user's challenge, or back to SMS from the backup code step.
  const text =
    view.methods.includes('sms') &&
    open &&
    view.maskedPhone !== null &&
    view.sendsRemaining > 0 &&
    (view.delivery === null || current === 'backup_code');
  if (!app && !backup && !text) return null;
  return (
    <nav class="stack" aria-label={t.otherWays}>
      <h2>{t.otherWays}</h2>
      {app ? (
        <p>
          <a href={paths.codePage}>{t.useApp}</a>
        </p>
      ) : null}
      {backup ? (
        <p>
          <a href={paths.backupCodePage}>{t.useBackupCode}</a>
        </p>
      ) : null}
      {text ? (
        <form method="post" action={paths.resend}>
          <Csrf token={csrf} />
          <button class="secondary" type="submit">
            {t.textMeInstead}
          </button>
        </form>
      ) : null}
    </nav>
  );
}

/** The code step's intro: an app user who has not asked for a text enters the app's code. */
export function codeIntro(lang: PageLang, view: ChallengeView): string | null {
  if (view.methods[0] === 'totp' && view.delivery === null) return lang.t.totpCodeIntro;
  return null;
}

/** Set by an SMS login of a person without backup codes; the next /account offers them, once. */
const OFFER_COOKIE = 'twofa_offer';

function offerCookieOptions(c: PageContext, maxAge?: number) {
  const env = c.get('services').config.env.NODE_ENV;
  return {
    httpOnly: true,
    sameSite: 'Lax' as const,
    secure: env !== 'development' && env !== 'test',
    path: '/account',
    ...(maxAge !== undefined ? { maxAge } : {}),
  };
}

/** After an SMS login: a person without backup codes is offered them on /account (skippable). */
export async function offerBackupCodesAfter(
  c: PageContext,
  organizationId: string,
  userId: string,
  method: string,
): Promise<void> {
  if (method !== 'sms') return;
  const org = await c.get('services').organizations.get(organizationId);
  if (!org?.row.secondFactorMethods.includes('backup_code')) return;
  const user = await getUser(c.get('services').db.sql, organizationId, userId);
  if (user && user.backupCodesRemaining === 0) {
    setCookie(c, OFFER_COOKIE, 'backup-codes', offerCookieOptions(c, 10 * 60));
  }
}

/** Whether this page shows the offer: once, the cookie goes with it. */
export function takeBackupCodesOffer(c: PageContext): boolean {
  if (getCookie(c, OFFER_COOKIE) !== 'backup-codes') return false;
  deleteCookie(c, OFFER_COOKIE, offerCookieOptions(c));
  return true;
}

export function BackupCodePage(props: {
  lang: PageLang;
  csrf: string;
  view: ChallengeView;
  error?: string | undefined;
  /** The hosted prompt's own paths, where the form posts to its code step, and its Cancel. */
  paths?: StepPaths;
  cancelable?: boolean;
}) {
  const { lang, csrf, view, error } = props;
  const paths = props.paths ?? LOGIN_STEP_PATHS;
  const action = props.cancelable ? paths.code : paths.backupCodePage;
  const { t } = lang;
  return (
    <Layout lang={lang} title={t.backupCodeTitle}>
      <div class="card">
        <h1>{t.backupCodeTitle}</h1>
        <p>{t.backupCodeIntro}</p>
        {error ? (
          <Notice kind="error" id="backup-error">
            {error}
          </Notice>
        ) : null}
        <form method="post" action={action}>
          <Csrf token={csrf} />
          <div class="field">
            <label for="backupCode">{t.backupCodeLabel}</label>
            <input
              id="backupCode"
              name="backupCode"
              type="text"
              autocomplete="off"
              autocapitalize="none"
              spellcheck={false}
              maxlength={64}
              required
              autofocus
              {...fieldAria(error, 'backup-error', 'backup-help')}
            />
            <p id="backup-help" class="muted">
              {t.backupCodeHelp}
            </p>
          </div>
          <VerifyActions lang={lang} cancelable={props.cancelable} />
        </form>
        <OtherWays lang={lang} csrf={csrf} view={view} current="backup_code" paths={paths} />
      </div>
    </Layout>
  );
}

async function loadPendingView(c: PageContext) {
  const pending = pendingChallenge(c);
  if (!pending) return null;
  const services = c.get('services');
  const org = await services.organizations.get(pending.organizationId);
  if (!org) return null;
  try {
    const view = await services.challenges.get(org.row.id, pending.challengeId);
    return { org, view, lang: langOf(c, org) };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_found') return null;
    throw error;
  }
}

const takesBackupCode = (view: ChallengeView) =>
  view.methods.includes('backup_code') &&
  ['pending', 'phone_required', 'failed'].includes(view.status);

factorPages.get('/login/backup-code', async (c) => {
  const loaded = await loadPendingView(c);
  if (!loaded) return c.redirect('/login', 303);
  if (!takesBackupCode(loaded.view)) return c.redirect('/login/code', 303);
  return render(
    c,
    <BackupCodePage lang={loaded.lang} csrf={csrfToken(c, browserId(c))} view={loaded.view} />,
  );
});

factorPages.post('/login/backup-code', async (c) => {
  const form = await formFields(c);
  const loaded = await loadPendingView(c);
  if (!csrfValid(c, browserCookie(c), form.csrf)) {
    return forbidden(c, langOf(c, loaded?.org));
  }
  if (!loaded) return c.redirect('/login', 303);
  const { org, lang } = loaded;
  const services = c.get('services');
  try {
    const done = await services.challenges.verify(org.row.id, {
      challengeId: loaded.view.id,
      backupCode: (form.backupCode ?? '').slice(0, 64),
    });
    clearPendingChallenge(c);
    await startSession(c, org.row.id, done.userId);
    if (form.trustDevice) setDeviceToken(c, done.deviceToken, done.deviceTokenExpiresAt);
    return c.redirect('/account', 303);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const view = await services.challenges.get(org.row.id, loaded.view.id);
    const message =
      error.code === 'invalid_code'
        ? lang.t.wrongBackupCode(view.attemptsRemaining)
        : error.code === 'method_not_allowed'
          ? lang.t.errMethodNotAllowed
          : apiErrorText(lang, error);
    if (!takesBackupCode(view)) return c.redirect('/login/code', 303);
    return render(
      c,
      <BackupCodePage lang={lang} csrf={csrfToken(c, browserId(c))} view={view} error={message} />,
      error.status,
    );
  }
});

// ---- the account: authenticator app and backup codes ---------------------------------

/** The account page's card: the app (set up or remove) and the backup codes (count, new set). */
export function SecondFactorsCard(props: {
  lang: PageLang;
  csrf: string;
  user: UserRow;
  org: CachedOrganization;
  notice?: string | undefined;
  offer?: boolean;
}) {
  const { lang, csrf, user, org, notice, offer } = props;
  const { t } = lang;
  const allowed = org.row.secondFactorMethods;
  return (
    <>
      {offer && user.backupCodesRemaining === 0 && allowed.includes('backup_code') ? (
        <div class="card" id="backup-offer">
          <h2>{t.backupOfferHeading}</h2>
          <p>{t.backupOfferText}</p>
          <form method="post" action="/account/backup-codes" class="row">
            <Csrf token={csrf} />
            <button type="submit">{t.backupCreate}</button>
            <a class="button secondary" href="/account">
              {t.backupOfferSkip}
            </a>
          </form>
        </div>
      ) : null}
      <div class="card">
        <h2>{t.factorsHeading}</h2>
        {notice ? <Notice kind="ok">{notice}</Notice> : null}
        <h3>{t.totpHeading}</h3>
        {user.totpEnabled ? (
          <>
            <p>{t.totpOn}</p>
            <form method="post" action="/account/totp/remove">
              <Csrf token={csrf} />
              <button class="secondary" type="submit">
                {t.totpRemove}
              </button>
            </form>
          </>
        ) : allowed.includes('totp') ? (
          <>
            <p>{t.totpOff}</p>
            <form method="post" action="/account/totp">
              <Csrf token={csrf} />
              <button type="submit">{t.totpSetUp}</button>
            </form>
          </>
        ) : (
          <p class="muted">{t.totpNotAllowed}</p>
        )}
        {allowed.includes('backup_code') ? (
          <>
            <h3>{t.backupHeading}</h3>
            <p data-testid="backup-remaining">
              {user.backupCodesRemaining > 0
                ? t.backupRemaining(user.backupCodesRemaining)
                : t.backupNone}
            </p>
            <form method="post" action="/account/backup-codes">
              <Csrf token={csrf} />
              <button class="secondary" type="submit">
                {t.backupCreate}
              </button>
            </form>
          </>
        ) : null}
      </div>
    </>
  );
}

/** The notice a redirect back to /account carries (`?done=`). */
export function accountNotice(lang: PageLang, done: string | undefined): string | undefined {
  if (done === 'totp-on') return lang.t.totpEnabled;
  if (done === 'totp-off') return lang.t.totpRemoved;
  return undefined;
}

async function accountContext(c: PageContext) {
  const session = await requireSession(c);
  if (session instanceof Response) return session;
  const services = c.get('services');
  const org = await services.organizations.get(session.organizationId);
  if (!org) return c.redirect('/login', 303);
  return { session, org, lang: langOf(c, org), services };
}

/** A logged-in POST: the session and its CSRF token, or the answer to give instead. */
async function accountPost(c: PageContext) {
  const form = await formFields(c);
  const ctx = await accountContext(c);
  if (ctx instanceof Response) return ctx;
  if (!csrfValid(c, ctx.session.token, form.csrf)) {
    return forbidden(c, ctx.lang);
  }
  return { ...ctx, form };
}

const userActor = (session: PageSession) => ({ actor: `user:${session.userId}` });

function TotpSetupPage(props: {
  lang: PageLang;
  csrf: string;
  session: PageSession;
  secret: string;
  qrSvg: string;
  error?: string | undefined;
}) {
  const { lang, csrf, session, secret, qrSvg, error } = props;
  const { t } = lang;
  // Groups of four, as apps show keys; spaces are ignored when typed in.
  const grouped = secret.match(/.{1,4}/g)?.join(' ') ?? secret;
  return (
    <Layout lang={lang} title={t.totpSetUpTitle} user={session}>
      <div class="card">
        <h1>{t.totpSetUpTitle}</h1>
        <p>{t.totpScan}</p>
        <div class="qr" role="img" aria-label={t.totpQrLabel}>
          {raw(qrSvg)}
        </div>
        <p>{t.totpManual}</p>
        <p>
          <code class="secret" data-testid="totp-secret" data-secret={secret}>
            {grouped}
          </code>
        </p>
        {error ? (
          <Notice kind="error" id="totp-error">
            {error}
          </Notice>
        ) : null}
        <form method="post" action="/account/totp/confirm">
          <Csrf token={csrf} />
          <div class="field">
            <label for="code">{t.totpConfirmLabel}</label>
            <CodeInput {...fieldAria(error, 'totp-error', 'totp-help')} />
            <p id="totp-help" class="muted">
              {t.totpConfirmHelp}
            </p>
          </div>
          <button class="primary" type="submit">
            {t.totpConfirm}
          </button>
        </form>
        <p>
          <a href="/account">{t.cancel}</a>
        </p>
      </div>
    </Layout>
  );
}

async function totpSetup(
  c: PageContext,
  ctx: { session: PageSession; lang: PageLang; org: CachedOrganization },
  secret: string,
  error?: string,
) {
  const user = await getUser(c.get('services').db.sql, ctx.org.row.id, ctx.session.userId);
  const uri = totpUri(secret, ctx.org.row.name, user?.email ?? ctx.session.email);
  // Drawn here as SVG: the secret never leaves for a QR service, and nothing loads from outside.
  const qrSvg = await QRCode.toString(uri, { type: 'svg', margin: 2, errorCorrectionLevel: 'M' });
  return render(
    c,
    <TotpSetupPage
      lang={ctx.lang}
      csrf={csrfToken(c, ctx.session.token)}
      session={ctx.session}
      secret={secret}
      qrSvg={qrSvg}
      error={error}
    />,
    error ? 422 : 200,
  );
}

factorPages.post('/account/totp', async (c) => {
  const ctx = await accountPost(c);
  if (ctx instanceof Response) return ctx;
  if (!ctx.org.row.secondFactorMethods.includes('totp')) return c.redirect('/account', 303);
  try {
    await enrollTotp(ctx.services, ctx.org, ctx.session.userId);
  } catch (error) {
    if (error instanceof ApiError && error.code === 'totp_already_enabled') {
      return c.redirect('/account', 303);
    }
    throw error;
  }
  return c.redirect('/account/totp', 303);
});

factorPages.get('/account/totp', async (c) => {
  const ctx = await accountContext(c);
  if (ctx instanceof Response) return ctx;
  const secret = await pendingTotpSecret(ctx.services, ctx.org.row.id, ctx.session.userId);
  if (!secret) return c.redirect('/account', 303);
  return totpSetup(c, ctx, secret);
});

factorPages.post('/account/totp/confirm', async (c) => {
  const ctx = await accountPost(c);
  if (ctx instanceof Response) return ctx;
  const code = (ctx.form.code ?? '').replace(/\s+/g, '').slice(0, 6);
  try {
    await confirmTotp(ctx.services, ctx.org.row.id, ctx.session.userId, code, {
      ...userActor(ctx.session),
      ip: endUserAddress(c).ip,
    });
    return c.redirect('/account?done=totp-on', 303);
  } catch (error) {
    if (!(error instanceof ApiError) || error.code !== 'invalid_code') {
      if (error instanceof ApiError) return c.redirect('/account', 303);
      throw error;
    }
    const secret = await pendingTotpSecret(ctx.services, ctx.org.row.id, ctx.session.userId);
    if (!secret) return c.redirect('/account', 303);
    return totpSetup(c, ctx, secret, ctx.lang.t.totpWrong);
  }
});

factorPages.post('/account/totp/remove', async (c) => {
  const ctx = await accountPost(c);
  if (ctx instanceof Response) return ctx;
  await disableTotp(ctx.services, ctx.org.row.id, ctx.session.userId, {
    ...userActor(ctx.session),
    ip: endUserAddress(c).ip,
  });
  return c.redirect('/account?done=totp-off', 303);
});

function BackupCodesShown(props: {
  lang: PageLang;
  session: PageSession;
  codes: string[];
  fileText: string;
}) {
  const { lang, session, codes, fileText } = props;
  const { t } = lang;
  return (
    <Layout lang={lang} title={t.backupNewHeading} user={session}>
      <div class="card">
        <h1>{t.backupNewHeading}</h1>
        <Notice kind="warn">{t.backupShownOnce}</Notice>
        <ol class="backup-codes" data-testid="backup-codes">
          {codes.map((code) => (
            <li>
              <code>{code}</code>
            </li>
          ))}
        </ol>
        <p class="row">
          <a
            class="button secondary"
            download="backup-codes.txt"
            href={`data:text/plain;charset=utf-8,${encodeURIComponent(fileText)}`}
          >
            {t.backupDownload}
          </a>
          <button class="secondary" type="button" data-print hidden>
            {t.backupPrint}
          </button>
        </p>
        <p>
          <a class="button" href="/account">
            {t.backupDone}
          </a>
        </p>
      </div>
      <script src={PRINT_SCRIPT_PATH} defer />
    </Layout>
  );
}

factorPages.post('/account/backup-codes', async (c) => {
  const ctx = await accountPost(c);
  if (ctx instanceof Response) return ctx;
  if (!ctx.org.row.secondFactorMethods.includes('backup_code')) {
    return c.redirect('/account', 303);
  }
  const codes = await newBackupCodes(ctx.services, ctx.org.row.id, ctx.session.userId, {
    ...userActor(ctx.session),
    ip: endUserAddress(c).ip,
  });
  const fileText = `${ctx.lang.t.backupFileIntro(ctx.org.row.name, ctx.session.email)}\n\n${codes.join('\n')}\n`;
  // Shown on this answer only (no-store, as every page): a reload does not show them again.
  return render(
    c,
    <BackupCodesShown lang={ctx.lang} session={ctx.session} codes={codes} fileText={fileText} />,
  );
});

// ---- settings: the allowed methods ----------------------------------------------------

/** Each method's checkbox name on /settings/password (a form posts one value a name). */
const METHOD_FIELDS = [
  ['sms', 'methodSms'],
  ['totp', 'methodTotp'],
  ['backup_code', 'methodBackupCode'],
] as const;

/**
 * The methods a submitted settings form checked, in the canonical order; undefined when the
 * form had no method checkboxes (a script posting only the contract's fields changes none).
 */
export function methodsFromForm(fields: Record<string, string>): SecondFactorMethod[] | undefined {
  if (fields.methodsShown !== '1') return undefined;
  return METHOD_FIELDS.filter(([, name]) => fields[name] === 'on').map(([method]) => method);
}

/** The allowed methods' checkboxes of /settings/password. */
export function MethodsFieldset(props: { lang: PageLang; methods: readonly string[] }) {
  const { lang, methods } = props;
  const { t } = lang;
  const label = { sms: t.methodSms, totp: t.methodTotp, backup_code: t.methodBackupCode };
  return (
    <fieldset class="field" aria-describedby="methods-help">
      <legend>
        <h2>{t.methodsHeading}</h2>
      </legend>
      <p id="methods-help" class="muted">
        {t.methodsHelp}
      </p>
      <input type="hidden" name="methodsShown" value="1" />
      {METHOD_FIELDS.map(([method, name]) => (
        <label class="check" for={name}>
          <input
            id={name}
            name={name}
            type="checkbox"
            value="on"
            checked={methods.includes(method)}
          />
          <span>{label[method]}</span>
        </label>
      ))}
    </fieldset>
  );
}

// ---- /openapi.json ------------------------------------------------------------------

documentPage(
  'get',
  '/login/backup-code',
  'backupCodePage',
  'The code step with a backup code instead',
  {
    200: html('The form'),
    303: redirect('No pending sign-in, or one that takes no backup code'),
  },
);
documentPage(
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
  formBody({
    backupCode: 'a backup code',
    trustDevice: '"on" to trust this device',
    csrf: csrfField,
  }),
);
documentPage(
  'post',
  '/account/totp',
  'accountTotpStart',
  'Start setting up an authenticator app',
  { 303: redirect('To /account/totp'), 403: html('Bad CSRF token') },
  formBody({ csrf: csrfField }),
);
documentPage(
  'get',
  '/account/totp',
  'accountTotpPage',
  'The QR code (inline SVG) and the key as text',
  {
    200: html('The setup page'),
    303: redirect('No enrollment pending: to /account'),
  },
);
documentPage(
  'post',
  '/account/totp/confirm',
  'accountTotpConfirm',
  'Confirm the app with a first code',
  {
    303: redirect('Confirmed: to /account'),
    403: html('Bad CSRF token'),
    422: html('Wrong code'),
  },
  formBody({ code: '6 digits from the app', csrf: csrfField }),
);
documentPage(
  'post',
  '/account/totp/remove',
  'accountTotpRemove',
  'Remove the authenticator app',
  { 303: redirect('To /account'), 403: html('Bad CSRF token') },
  formBody({ csrf: csrfField }),
);
documentPage(
  'post',
  '/account/backup-codes',
  'accountBackupCodes',
  'A new set of backup codes, shown once on this answer (with a text download and print)',
  { 200: html('The codes'), 403: html('Bad CSRF token') },
  formBody({ csrf: csrfField }),
);
documentPage(
  'post',
  '/settings/users/{userId}/second-factors/reset',
  'usersResetSecondFactorsSubmit',
  "Admin: reset a user's second factors (phone, authenticator app, backup codes, trusted devices; their sessions end)",
  adminPost,
  { params: userIdParams, ...formBody({ csrf: csrfField }) },
);
