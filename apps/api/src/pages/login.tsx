import { z } from '@hono/zod-openapi';
import type { ChallengeView } from '@twofa/core';
import { Hono } from 'hono';
import type { JSX } from 'hono/jsx/jsx-runtime';
import type { AppEnv } from '../lib/env.ts';
import { ApiError } from '../lib/errors.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import { Email, Password, PhoneInput, Uuid } from '../lib/schemas.ts';
import { csrf, documentPage, form, html, redirect } from './docs.ts';
import { codeIntro, OtherWays, offerBackupCodesAfter } from './factors.tsx';
import { apiErrorText, langOf } from './lang.ts';
import { Csrf, fieldAria, Layout, MessagePage, Notice } from './layout.tsx';
import type { Messages, PageLang } from './messages.ts';
import { render } from './render.ts';
import {
  browserCookie,
  browserId,
  clearPendingChallenge,
  csrfToken,
  csrfValid,
  currentSession,
  deviceToken,
  endSession,
  endUserIp,
  formFields,
  type PageContext,
  pendingChallenge,
  setDeviceToken,
  setPendingChallenge,
  startSession,
} from './session.ts';

async function loadOrganization(
  c: PageContext,
  id: string | undefined,
): Promise<CachedOrganization | null> {
  const parsed = Uuid.safeParse(id?.trim());
  if (!parsed.success) return null;
  return c.get('services').organizations.get(parsed.data);
}

/** 403 for a form without the right CSRF token, in the page's language when it is known. */
export function forbidden(c: PageContext, lang: PageLang = langOf(c)) {
  return render(
    c,
    <MessagePage lang={lang} title={lang.t.forbiddenTitle} message={lang.t.forbiddenCsrf} />,
    403,
  );
}

// ---- views -----------------------------------------------------------------

function LoginForm(props: {
  lang: PageLang;
  csrf: string;
  org: CachedOrganization | null;
  orgInput?: string;
  email?: string;
  error?: string | undefined;
  /** Which field the error is about, so it is tied to that field. */
  errorField?: 'org' | 'credentials' | undefined;
}) {
  const { lang, csrf, org, email, error, errorField } = props;
  const { t } = lang;
  const orgError = error !== undefined && errorField === 'org';
  const credentialsError = error !== undefined && errorField === 'credentials';
  return (
    <Layout lang={lang} title={t.signInTitle}>
      <div class="card">
        <h1>{org ? t.signInTo(org.row.name) : t.signInTitle}</h1>
        {error ? (
          <Notice kind="error" id="login-error">
            {error}
          </Notice>
        ) : null}
        <form method="post" action="/login">
          <Csrf token={csrf} />
          {org ? (
            <input type="hidden" name="org" value={org.row.id} />
          ) : (
            <div class="field">
              <label for="org">{t.organizationId}</label>
              <input
                id="org"
                name="org"
                type="text"
                required
                autocomplete="organization"
                spellcheck={false}
                value={props.orgInput ?? ''}
                {...fieldAria(orgError, 'login-error')}
              />
            </div>
          )}
          <div class="field">
            <label for="email">{t.email}</label>
            <input
              id="email"
              name="email"
              type="email"
              required
              autocomplete="username"
              autofocus
              value={email ?? ''}
              {...fieldAria(credentialsError, 'login-error')}
            />
          </div>
          <div class="field">
            <label for="password">{t.password}</label>
            <input
              id="password"
              name="password"
              type="password"
              required
              autocomplete="current-password"
              {...fieldAria(credentialsError, 'login-error')}
            />
          </div>
          <button class="primary" type="submit">
            {t.signInButton}
          </button>
        </form>
      </div>
    </Layout>
  );
}

function StartAgain({ lang, organizationId }: { lang: PageLang; organizationId: string }) {
  return (
    <p>
      <a class="button" href={`/login?org=${organizationId}`}>
        {lang.t.startAgain}
      </a>
    </p>
  );
}

/** What a challenge that takes no code says, and the way out. */
function closedMessage(t: Messages, view: ChallengeView): string {
  switch (view.status) {
    case 'expired':
      return t.closedExpired;
    case 'locked':
      return t.closedLocked;
    case 'canceled':
      return t.closedCanceled;
    case 'approved':
      return t.closedApproved;
    case 'failed':
      switch (view.failureReason) {
        case 'sms_balance_exhausted':
          return t.closedBalance;
        case 'sms_rejected':
          return t.closedRejected;
        case 'sms_paused':
          return t.closedPaused;
        default:
          return t.closedSendFailed;
      }
    default:
      return t.closedOther;
  }
}

function ClosedPage(props: {
  lang: PageLang;
  view: ChallengeView;
  organizationId: string;
  csrf: string;
}) {
  const { lang, view, organizationId } = props;
  return (
    <Layout lang={lang} title={lang.t.signInTitle}>
      <div class="card">
        <h1>{lang.t.signInStopped}</h1>
        <Notice kind="error">{closedMessage(lang.t, view)}</Notice>
        <StartAgain lang={lang} organizationId={organizationId} />
        <OtherWays lang={lang} csrf={props.csrf} view={view} current="closed" />
      </div>
    </Layout>
  );
}

function CodePage(props: {
  lang: PageLang;
  csrf: string;
  view: ChallengeView;
  error?: string | undefined;
  info?: string | undefined;
}) {
  const { lang, csrf, view, error, info } = props;
  const { t } = lang;
  return (
    <Layout lang={lang} title={t.codeTitle}>
      <div class="card">
        <h1>{t.codeTitle}</h1>
        <p>
          {codeIntro(lang, view) ??
            (view.maskedPhone ? t.codeSentTo(view.maskedPhone) : t.codeSentToYourPhone)}
        </p>
        {error ? (
          <Notice kind="error" id="code-error">
            {error}
          </Notice>
        ) : null}
        {info ? <Notice kind="ok">{info}</Notice> : null}
        <form method="post" action="/login/code">
          <Csrf token={csrf} />
          <div class="field">
            <label for="code">{t.codeLabel}</label>
            <input
              id="code"
              class="code"
              name="code"
              type="text"
              inputmode="numeric"
              autocomplete="one-time-code"
              pattern="[0-9]{6}"
              maxlength={6}
              required
              autofocus
              {...fieldAria(error, 'code-error', 'code-help')}
            />
            <p id="code-help" class="muted">
              {view.methods.includes('totp') && view.delivery !== null ? `${t.appAlsoWorks} ` : ''}
              {t.attemptsLeft(view.attemptsRemaining)}
            </p>
          </div>
          <div class="field">
            <label class="check" for="trustDevice">
              <input id="trustDevice" name="trustDevice" type="checkbox" value="on" />
              <span>{t.trustDevice}</span>
            </label>
          </div>
          <button class="primary" type="submit">
            {t.verify}
          </button>
        </form>
        {view.delivery === null ? null : (
          <form method="post" action="/login/resend" class="stack">
            <Csrf token={csrf} />
            <p class="muted" id="resend-help">
              {t.noCode}{' '}
              {view.sendsRemaining > 0 ? t.sendsLeft(view.sendsRemaining) : t.noMoreSends}
            </p>
            <button
              class="secondary"
              type="submit"
              disabled={view.sendsRemaining === 0}
              aria-describedby="resend-help"
            >
              {t.resend}
            </button>
          </form>
        )}
        <OtherWays lang={lang} csrf={csrf} view={view} current="code" />
      </div>
    </Layout>
  );
}

function PhonePage(props: {
  lang: PageLang;
  csrf: string;
  error?: string | undefined;
  phone?: string;
  view: ChallengeView;
}) {
  const { lang, error } = props;
  const { t } = lang;
  return (
    <Layout lang={lang} title={t.phoneTitle}>
      <div class="card">
        <h1>{t.phoneTitle}</h1>
        <p>{t.phoneIntro}</p>
        {error ? (
          <Notice kind="error" id="phone-error">
            {error}
          </Notice>
        ) : null}
        <form method="post" action="/login/phone">
          <Csrf token={props.csrf} />
          <div class="field">
            <label for="phone">{t.phoneLabel}</label>
            <input
              id="phone"
              name="phone"
              type="tel"
              autocomplete="tel"
              required
              autofocus
              value={props.phone ?? ''}
              {...fieldAria(error, 'phone-error', 'phone-help')}
            />
            <p id="phone-help" class="muted">
              {t.phoneHelp}
            </p>
          </div>
          <button class="primary" type="submit">
            {t.sendCode}
          </button>
        </form>
        <OtherWays lang={lang} csrf={props.csrf} view={props.view} current="phone" />
      </div>
    </Layout>
  );
}

// ---- routes ----------------------------------------------------------------

export const loginPages = new Hono<AppEnv>();

function loginForm(
  c: PageContext,
  org: CachedOrganization | null,
  extra: {
    orgInput?: string;
    email?: string;
    error?: string;
    errorField?: 'org' | 'credentials';
  } = {},
): JSX.Element {
  return <LoginForm lang={langOf(c, org)} csrf={csrfToken(c, browserId(c))} org={org} {...extra} />;
}

loginPages.get('/login', async (c) => {
  const org = await loadOrganization(c, c.req.query('org'));
  return render(c, loginForm(c, org, { orgInput: c.req.query('org') ?? '' }));
});

loginPages.post('/login', async (c) => {
  const form = await formFields(c);
  if (!csrfValid(c, browserCookie(c), form.csrf)) {
    return forbidden(c, langOf(c, await loadOrganization(c, form.org)));
  }
  const org = await loadOrganization(c, form.org);
  const email = (form.email ?? '').trim();
  const password = form.password ?? '';
  if (!org) {
    return render(
      c,
      loginForm(c, null, {
        orgInput: form.org ?? '',
        email,
        error: langOf(c).t.noSuchOrganization,
        errorField: 'org',
      }),
      404,
    );
  }
  const lang = langOf(c, org);
  if (!Email.safeParse(email).success || !Password.safeParse(password).success) {
    return render(
      c,
      loginForm(c, org, { email, error: lang.t.enterEmailAndPassword, errorField: 'credentials' }),
      400,
    );
  }
  const services = c.get('services');
  let outcome: Awaited<ReturnType<typeof services.challenges.login>>;
  try {
    outcome = await services.challenges.login(
      org,
      { email, password, ip: endUserIp(c), deviceToken: deviceToken(c) },
      { logger: c.get('logger') },
    );
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    if (error.headers['retry-after']) c.header('retry-after', error.headers['retry-after']);
    return render(
      c,
      loginForm(c, org, {
        email,
        error: apiErrorText(lang, error),
        ...(error.code === 'invalid_credentials' ? { errorField: 'credentials' as const } : {}),
      }),
      error.status as 400,
    );
  }
  if (outcome.result === 'authenticated') {
    clearPendingChallenge(c);
    await startSession(c, org.row.id, outcome.userId);
    return c.redirect('/account', 303);
  }
  setPendingChallenge(c, { organizationId: org.row.id, challengeId: outcome.challenge.id });
  const next = outcome.challenge.status === 'phone_required' ? '/login/phone' : '/login/code';
  return c.redirect(next, 303);
});

/** The pending challenge of this browser and its organization, or a page saying to start over. */
async function loadPending(c: PageContext) {
  const pending = pendingChallenge(c);
  if (!pending) return null;
  const org = await loadOrganization(c, pending.organizationId);
  if (!org) return null;
  try {
    const view = await c.get('services').challenges.get(org.row.id, pending.challengeId);
    return { org, view, lang: langOf(c, org) };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_found') return null;
    throw error;
  }
}

/** The organization of this browser's pending sign-in, for the language of a refusal. */
async function pendingOrganization(c: PageContext): Promise<CachedOrganization | null> {
  return loadOrganization(c, pendingChallenge(c)?.organizationId);
}

const noPending = (c: PageContext) => c.redirect('/login', 303);

function codeStep(
  c: PageContext,
  org: CachedOrganization,
  view: ChallengeView,
  notes: { error?: string; info?: string } = {},
  status = 200,
) {
  if (view.status === 'phone_required') return c.redirect('/login/phone', 303);
  // A challenge that takes no 6-digit code at all (backup codes only): straight to that step.
  if (view.status === 'pending' && !view.methods.some((m) => m === 'sms' || m === 'totp')) {
    return c.redirect('/login/backup-code', 303);
  }
  const lang = langOf(c, org);
  if (view.status !== 'pending') {
    return render(
      c,
      <ClosedPage
        lang={lang}
        view={view}
        organizationId={org.row.id}
        csrf={csrfToken(c, browserId(c))}
      />,
      status === 200 ? 409 : status,
    );
  }
  return render(
    c,
    <CodePage lang={lang} csrf={csrfToken(c, browserId(c))} view={view} {...notes} />,
    status,
  );
}

loginPages.get('/login/code', async (c) => {
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  const notes = c.req.query('resent') !== undefined ? { info: loaded.lang.t.resent } : {};
  return codeStep(c, loaded.org, loaded.view, notes);
});

loginPages.post('/login/code', async (c) => {
  const form = await formFields(c);
  if (!csrfValid(c, browserCookie(c), form.csrf)) {
    return forbidden(c, langOf(c, await pendingOrganization(c)));
  }
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  const { org, lang } = loaded;
  const code = (form.code ?? '').replace(/\s+/g, '');
  const services = c.get('services');
  try {
    const done = await services.challenges.verify(org.row.id, {
      challengeId: loaded.view.id,
      code: code.slice(0, 64),
    });
    clearPendingChallenge(c);
    await startSession(c, org.row.id, done.userId);
    if (form.trustDevice) setDeviceToken(c, done.deviceToken, done.deviceTokenExpiresAt);
    await offerBackupCodesAfter(c, org.row.id, done.userId, done.method);
    return c.redirect('/account', 303);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const view = await services.challenges.get(org.row.id, loaded.view.id);
    if (error.code === 'invalid_code') {
      return codeStep(c, org, view, { error: lang.t.wrongCode(view.attemptsRemaining) }, 422);
    }
    return codeStep(c, org, view, { error: apiErrorText(lang, error) }, error.status);
  }
});

loginPages.post('/login/resend', async (c) => {
  const form = await formFields(c);
  if (!csrfValid(c, browserCookie(c), form.csrf)) {
    return forbidden(c, langOf(c, await pendingOrganization(c)));
  }
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  const services = c.get('services');
  try {
    await services.challenges.resend(
      loaded.org,
      { challengeId: loaded.view.id },
      { logger: c.get('logger') },
    );
    return c.redirect('/login/code?resent', 303);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const view = await services.challenges.get(loaded.org.row.id, loaded.view.id);
    const retryAfter = error.headers['retry-after'];
    if (retryAfter) c.header('retry-after', retryAfter);
    return codeStep(c, loaded.org, view, { error: apiErrorText(loaded.lang, error) }, error.status);
  }
});

loginPages.get('/login/phone', async (c) => {
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  if (loaded.view.status !== 'phone_required') return codeStep(c, loaded.org, loaded.view);
  return render(
    c,
    <PhonePage lang={loaded.lang} csrf={csrfToken(c, browserId(c))} view={loaded.view} />,
  );
});

loginPages.post('/login/phone', async (c) => {
  const form = await formFields(c);
  if (!csrfValid(c, browserCookie(c), form.csrf)) {
    return forbidden(c, langOf(c, await pendingOrganization(c)));
  }
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  if (loaded.view.status !== 'phone_required') return codeStep(c, loaded.org, loaded.view);
  const phone = (form.phone ?? '').trim();
  try {
    // As the API's schema refuses it: an over-long number is not cut down to some other number.
    if (!PhoneInput.safeParse(phone).success) {
      throw new ApiError('invalid_phone', 'The phone number is too long.');
    }
    await c
      .get('services')
      .challenges.setPhone(
        loaded.org,
        { challengeId: loaded.view.id, phone },
        { logger: c.get('logger') },
      );
    return c.redirect('/login/code', 303);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return render(
      c,
      <PhonePage
        lang={loaded.lang}
        csrf={csrfToken(c, browserId(c))}
        error={apiErrorText(loaded.lang, error)}
        phone={phone}
        view={loaded.view}
      />,
      error.status as 422,
    );
  }
});

loginPages.post('/logout', async (c) => {
  const form = await formFields(c);
  const session = await currentSession(c);
  if (!session) return c.redirect('/login', 303);
  if (!csrfValid(c, session.token, form.csrf)) {
    return forbidden(
      c,
      langOf(c, await c.get('services').organizations.get(session.organizationId)),
    );
  }
  await endSession(c, session.token);
  return c.redirect(`/login?org=${session.organizationId}`, 303);
});

// ---- documented in /openapi.json -----------------------------------------

documentPage(
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
documentPage(
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
documentPage('get', '/login/code', 'codePage', 'The code step: enter the 6-digit code', {
  200: html('The code form'),
  303: redirect('No pending sign-in: to /login'),
  409: html('The challenge is closed (expired, locked, canceled): start again'),
});
documentPage(
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
documentPage(
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
documentPage('get', '/login/phone', 'phonePage', 'The phone step, for a user with no phone', {
  200: html('The phone form'),
  303: redirect('No pending sign-in: to /login'),
});
documentPage(
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
documentPage(
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
