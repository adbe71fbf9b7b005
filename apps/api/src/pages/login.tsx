import { z } from '@hono/zod-openapi';
import { type ChallengeView, SLUG_MAX_LENGTH, SLUG_PATTERN } from '@twofa/core';
import { administratorsOf } from '@twofa/db';
import { Hono } from 'hono';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { type CodeStepFacts, codeStepFacts, isReplacedCode } from '../domain/code-step.ts';
import type { AppEnv } from '../lib/env.ts';
import { ApiError } from '../lib/errors.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import { Password, PhoneInput, Uuid } from '../lib/schemas.ts';
import { COUNTDOWN_SCRIPT_PATH } from './countdown.ts';
import { csrf, documentPage, form, html, redirect } from './docs.ts';
import { codeIntro, OtherWays, offerBackupCodesAfter } from './factors.tsx';
import { apiErrorText, langOf } from './lang.ts';
import {
  CancelButton,
  CodeInput,
  Csrf,
  fieldAria,
  Layout,
  MessagePage,
  Notice,
  VerifyActions,
} from './layout.tsx';
import type { Messages, PageLang } from './messages.ts';
import { setPageOrganization } from './page-organization.ts';
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
  endUserAddress,
  formFields,
  type PageContext,
  pendingChallenge,
  renewBrowserId,
  setDeviceToken,
  setPendingChallenge,
  startSession,
} from './session.ts';

/**
 * The organization a login link names, by its id or its slug (`?org=happy-paws`).
 * Its pages then carry its name (see setPageOrganization).
 */
export async function loadOrganization(
  c: PageContext,
  idOrSlug: string | undefined,
): Promise<CachedOrganization | null> {
  const given = (idOrSlug ?? '').trim().toLowerCase();
  const organizations = c.get('services').organizations;
  let org: CachedOrganization | null = null;
  const id = Uuid.safeParse(given);
  if (id.success) org = await organizations.get(id.data);
  else if (given.length <= SLUG_MAX_LENGTH && SLUG_PATTERN.test(given)) {
    org = await organizations.getBySlug(given);
  }
  if (org) setPageOrganization(c, { row: org.row, admin: false });
  return org;
}

/** The login page of an organization, by the short name people can read. */
export const loginHref = (org: CachedOrganization) => `/login?org=${org.row.slug}`;

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
  // After a wrong password the email is filled in: the password is what to type again.
  const focusPassword = credentialsError && Boolean(email);
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
                {...fieldAria(orgError, 'login-error', 'org-help')}
              />
              <p id="org-help" class="muted">
                {t.organizationHelp}
              </p>
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
              autofocus={!focusPassword}
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
              autofocus={focusPassword}
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

function StartAgain({ lang, org }: { lang: PageLang; org: CachedOrganization }) {
  return (
    <p>
      <a class="button" href={loginHref(org)}>
        {lang.t.startAgain}
      </a>
    </p>
  );
}

/** The way back from the code and phone steps: another account, another number. */
function StepLinks(props: {
  lang: PageLang;
  org: CachedOrganization;
  /** On the code step: where a wrong number is corrected. */
  phone?: 'submitted' | 'profile';
}) {
  const { t } = props.lang;
  return (
    <ul class="step-links">
      {props.phone ? (
        <li>
          {t.wrongNumber}{' '}
          {props.phone === 'submitted' ? (
            <a href={loginHref(props.org)}>{t.wrongNumberStartAgain}</a>
          ) : (
            t.wrongNumberAdmin
          )}
        </li>
      ) : null}
      <li>
        <a href={loginHref(props.org)}>{t.useAnotherAccount}</a>
      </li>
    </ul>
  );
}

/**
 * What the person stopped for want of SMS credit can do: who to call. An
 * admin is told that they are the one, and what still signs them in.
 */
function WhoToCall(props: {
  lang: PageLang;
  administrators: { id: string; email: string }[];
  userId: string;
}) {
  const { t } = props.lang;
  if (props.administrators.some((admin) => admin.id === props.userId)) {
    return <p>{t.stoppedYouAdminister}</p>;
  }
  if (props.administrators.length === 0) return <p>{t.stoppedNoAdmins}</p>;
  return (
    <>
      <p>{t.stoppedWhoToCall}</p>
      <ul>
        {props.administrators.map((admin) => (
          <li>
            <a href={`mailto:${admin.email}`}>{admin.email}</a>
          </li>
        ))}
      </ul>
    </>
  );
}

/** What a challenge that takes no code says, and the way out. */
export function closedMessage(t: Messages, view: ChallengeView): string {
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
  org: CachedOrganization;
  administrators: { id: string; email: string }[] | null;
  csrf: string;
}) {
  const { lang, view, org } = props;
  return (
    <Layout lang={lang} title={lang.t.signInTitle}>
      <div class="card">
        <h1>{lang.t.signInStopped}</h1>
        <Notice kind="error">{closedMessage(lang.t, view)}</Notice>
        {view.failureReason === 'sms_balance_exhausted' ? (
          <WhoToCall lang={lang} administrators={props.administrators ?? []} userId={view.userId} />
        ) : null}
        <StartAgain lang={lang} org={org} />
        <OtherWays lang={lang} csrf={props.csrf} view={view} current="closed" />
      </div>
    </Layout>
  );
}

/** Where the code and phone steps' forms post: the /login pages', or a hosted prompt's own. */
export interface StepPaths {
  code: string;
  resend: string;
  phone: string;
  /** The code step's own page, and the backup code step's: the "other ways" links. */
  codePage: string;
  backupCodePage: string;
}

export const LOGIN_STEP_PATHS: StepPaths = {
  code: '/login/code',
  resend: '/login/resend',
  phone: '/login/phone',
  codePage: '/login/code',
  backupCodePage: '/login/backup-code',
};

/**
 * Another code: the wait is shown before a click, as text that a small script
 * counts down; an early click without the script is answered with the wait.
 */
function ResendForm(props: { lang: PageLang; csrf: string; facts: CodeStepFacts; action: string }) {
  const { t } = props.lang;
  const { view, resendWaitSeconds: wait } = props.facts;
  const canSend = view.sendsRemaining > 0;
  return (
    <form method="post" action={props.action} class="stack">
      <Csrf token={props.csrf} />
      <p class="muted" id="resend-help">
        {t.noCode} {canSend ? t.sendsLeft(view.sendsRemaining) : t.noMoreSends}
      </p>
      {canSend ? (
        <p
          class="muted"
          id="resend-wait"
          data-testid="resend-wait"
          data-countdown={String(wait)}
          data-one={t.resendWait(1)}
          data-other={t.resendWait(7777).replace('7777', '{n}')}
          data-done={t.resendReady}
          data-button="resend"
          data-live="resend-live"
        >
          {wait > 0 ? t.resendWait(wait) : t.resendReady}
        </p>
      ) : null}
      <p class="sr-only" id="resend-live" role="status" />
      <button
        id="resend"
        class="secondary"
        type="submit"
        disabled={!canSend}
        aria-describedby={canSend ? 'resend-help resend-wait' : 'resend-help'}
      >
        {t.resend}
      </button>
    </form>
  );
}

export function CodePage(props: {
  lang: PageLang;
  csrf: string;
  facts: CodeStepFacts;
  org: CachedOrganization;
  error?: string | undefined;
  info?: string | undefined;
  paths?: StepPaths;
  cancelable?: boolean;
}) {
  const { lang, csrf, facts, error, info, paths = LOGIN_STEP_PATHS } = props;
  const { view } = facts;
  const { t } = lang;
  return (
    <Layout lang={lang} title={t.codeTitle} scripts={[COUNTDOWN_SCRIPT_PATH]}>
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
        <form method="post" action={paths.code}>
          <Csrf token={csrf} />
          <div class="field">
            <label for="code">{t.codeLabel}</label>
            <CodeInput
              autofocus
              {...fieldAria(error, 'code-error', error ? undefined : 'code-help')}
            />
            <p id="code-help" class="muted">
              {view.methods.includes('totp') && view.delivery !== null ? `${t.appAlsoWorks} ` : ''}
              {/* The error above says the attempts left; said once. */}
              {error ? null : t.attemptsLeft(view.attemptsRemaining)}
            </p>
          </div>
          <VerifyActions lang={lang} cancelable={props.cancelable} />
        </form>
        {view.delivery === null ? null : (
          <ResendForm lang={lang} csrf={csrf} facts={facts} action={paths.resend} />
        )}
        <OtherWays lang={lang} csrf={csrf} view={view} current="code" paths={paths} />
        {/* The hosted prompt's way out is its Cancel button, back to the app. */}
        {props.cancelable ? null : (
          <>
            <StepLinks
              lang={lang}
              org={props.org}
              phone={facts.phoneSubmitted ? 'submitted' : 'profile'}
            />
          </>
        )}
      </div>
    </Layout>
  );
}

export function PhonePage(props: {
  lang: PageLang;
  csrf: string;
  org: CachedOrganization;
  error?: string | undefined;
  phone?: string;
  paths?: StepPaths;
  cancelable?: boolean;
  view: ChallengeView;
}) {
  const { lang, error, paths = LOGIN_STEP_PATHS } = props;
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
        <form method="post" action={paths.phone}>
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
          {props.cancelable ? <CancelButton lang={lang} /> : null}
        </form>
        <OtherWays lang={lang} csrf={props.csrf} view={props.view} current="phone" paths={paths} />
        {props.cancelable ? null : <StepLinks lang={lang} org={props.org} />}
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
  // An email the API's schema refuses (non-ASCII, say) is not a form error: login() answers it
  // as a wrong password, after the same hash and the same limit, so it tells nothing.
  if (!email || email.length > 254 || !Password.safeParse(password).success) {
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
      { email, password, ...endUserAddress(c), deviceToken: deviceToken(c) },
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
  // The password is accepted: the code step runs under a fresh browser id, not one planted before.
  const browser = renewBrowserId(c);
  setPendingChallenge(
    c,
    { organizationId: org.row.id, challengeId: outcome.challenge.id },
    browser,
  );
  const next = outcome.challenge.status === 'phone_required' ? '/login/phone' : '/login/code';
  return c.redirect(next, 303);
});

/** The pending challenge of this browser and its organization, or a page saying to start over. */
async function loadPending(c: PageContext) {
  const pending = pendingChallenge(c);
  if (!pending) return null;
  const org = await loadOrganization(c, pending.organizationId);
  if (!org) return null;
  const facts = await codeStepFacts(c.get('services').db, org.row.id, pending.challengeId);
  if (!facts) return null;
  return { org, view: facts.view, facts, lang: langOf(c, org) };
}

/** The organization of this browser's pending sign-in, for the language of a refusal. */
async function pendingOrganization(c: PageContext): Promise<CachedOrganization | null> {
  return loadOrganization(c, pendingChallenge(c)?.organizationId);
}

const noPending = (c: PageContext) => c.redirect('/login', 303);

async function codeStep(
  c: PageContext,
  org: CachedOrganization,
  facts: CodeStepFacts,
  notes: { error?: string; info?: string } = {},
  status = 200,
) {
  const { view } = facts;
  if (view.status === 'phone_required') return c.redirect('/login/phone', 303);
  // A challenge that takes no 6-digit code at all (backup codes only): straight to that step.
  if (view.status === 'pending' && !view.methods.some((m) => m === 'sms' || m === 'totp')) {
    return c.redirect('/login/backup-code', 303);
  }
  const lang = langOf(c, org);
  if (view.status !== 'pending') {
    const administrators =
      view.failureReason === 'sms_balance_exhausted'
        ? await administratorsOf(c.get('services').db.sql, org.row.id, 3)
        : null;
    return render(
      c,
      <ClosedPage
        lang={lang}
        view={view}
        org={org}
        administrators={administrators}
        csrf={csrfToken(c, browserId(c))}
      />,
      status === 200 ? 409 : status,
    );
  }
  return render(
    c,
    <CodePage lang={lang} csrf={csrfToken(c, browserId(c))} facts={facts} org={org} {...notes} />,
    status,
  );
}

/**
 * Refusals of a resend that the code step names after its redirect
 * (`/login/code?refused=...`), so the address stays the code step's own.
 */
const RESEND_REFUSALS = new Set([
  'resend_too_soon',
  'too_many_sends',
  'rate_limited',
  'sms_paused',
  'phone_country_not_allowed',
  'database_unavailable',
  'queue_unavailable',
]);

/** The words for a resend refused before the redirect; a wait is said as it stands now. */
function resendRefusalText(
  lang: PageLang,
  facts: CodeStepFacts,
  refused: string | undefined,
  waitSeconds: number | null,
): string | undefined {
  if (!refused || !RESEND_REFUSALS.has(refused)) return undefined;
  // The countdown beside the button says the wait; once it is over, there is nothing to add.
  if (refused === 'resend_too_soon') {
    return facts.resendWaitSeconds > 0
      ? lang.t.errResendTooSoon(facts.resendWaitSeconds)
      : undefined;
  }
  const retryAfter = waitSeconds !== null ? { 'retry-after': String(waitSeconds) } : undefined;
  return apiErrorText(lang, new ApiError(refused as 'rate_limited', '', {}, retryAfter));
}

loginPages.get('/login/code', async (c) => {
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  const wait = Number(c.req.query('wait'));
  const error = resendRefusalText(
    loaded.lang,
    loaded.facts,
    c.req.query('refused'),
    Number.isInteger(wait) && wait > 0 && wait < 100_000 ? wait : null,
  );
  const notes = {
    ...(c.req.query('resent') !== undefined && !error ? { info: loaded.lang.t.resent } : {}),
    ...(error ? { error } : {}),
  };
  return codeStep(c, loaded.org, loaded.facts, notes);
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
    const facts = await codeStepFacts(services.db, org.row.id, loaded.view.id);
    if (!facts) return noPending(c);
    if (error.code === 'invalid_code') {
      const attempts = facts.view.attemptsRemaining;
      // A code a resend replaced is not wrong: say so (the attempt counts all the same).
      const replaced = await isReplacedCode(
        services.db,
        services.config.appSecret,
        org.row.id,
        loaded.view.id,
        code,
      );
      const text = replaced ? lang.t.codeReplaced(attempts) : lang.t.wrongCode(attempts);
      return codeStep(c, org, facts, { error: text }, 422);
    }
    return codeStep(c, org, facts, { error: apiErrorText(lang, error) }, error.status);
  }
});

/** Post, redirect, get: the address bar ends on the code step, never on /login/resend. */
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
    const params = new URLSearchParams({ refused: error.code });
    const retryAfter = Number(error.headers['retry-after']);
    if (Number.isInteger(retryAfter) && retryAfter > 0) params.set('wait', String(retryAfter));
    return c.redirect(`/login/code?${params}`, 303);
  }
});

loginPages.get('/login/phone', async (c) => {
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  if (loaded.view.status !== 'phone_required') return codeStep(c, loaded.org, loaded.facts);
  return render(
    c,
    <PhonePage
      lang={loaded.lang}
      csrf={csrfToken(c, browserId(c))}
      org={loaded.org}
      view={loaded.view}
    />,
  );
});

loginPages.post('/login/phone', async (c) => {
  const form = await formFields(c);
  if (!csrfValid(c, browserCookie(c), form.csrf)) {
    return forbidden(c, langOf(c, await pendingOrganization(c)));
  }
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  if (loaded.view.status !== 'phone_required') return codeStep(c, loaded.org, loaded.facts);
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
        org={loaded.org}
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
  const org = await c.get('services').organizations.get(session.organizationId);
  if (!csrfValid(c, session.token, form.csrf)) return forbidden(c, langOf(c, org));
  await endSession(c, session.token);
  return c.redirect(org ? loginHref(org) : `/login?org=${session.organizationId}`, 303);
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
