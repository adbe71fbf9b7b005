import type { ChallengeView } from '@twofa/core';
import { Hono } from 'hono';
import type { JSX } from 'hono/jsx/jsx-runtime';
import type { AppEnv } from '../lib/env.ts';
import { ApiError } from '../lib/errors.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import { Csrf, Layout, MessagePage, Notice } from './layout.tsx';
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

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function loadOrganization(
  c: PageContext,
  id: string | undefined,
): Promise<CachedOrganization | null> {
  if (!id || !UUID.test(id.trim())) return null;
  return c.get('services').organizations.get(id.trim().toLowerCase());
}

export function forbidden(c: PageContext) {
  return render(
    c,
    <MessagePage
      title="Forbidden"
      message="This form was not sent from this site's page, or the page is too old. Go back, reload it and try again."
    />,
    403,
  );
}

// ---- views -----------------------------------------------------------------

function LoginForm(props: {
  csrf: string;
  org: CachedOrganization | null;
  orgInput?: string;
  email?: string;
  error?: string | undefined;
}) {
  const { csrf, org, email, error } = props;
  return (
    <Layout title="Sign in">
      <div class="card">
        <h1>Sign in{org ? ` to ${org.row.name}` : ''}</h1>
        {error ? <Notice kind="error">{error}</Notice> : null}
        <form method="post" action="/login">
          <Csrf token={csrf} />
          {org ? (
            <input type="hidden" name="org" value={org.row.id} />
          ) : (
            <div class="field">
              <label for="org">Organization ID</label>
              <input
                id="org"
                name="org"
                type="text"
                required
                autocomplete="organization"
                spellcheck={false}
                value={props.orgInput ?? ''}
              />
            </div>
          )}
          <div class="field">
            <label for="email">Email</label>
            <input
              id="email"
              name="email"
              type="email"
              required
              autocomplete="username"
              autofocus
              value={email ?? ''}
            />
          </div>
          <div class="field">
            <label for="password">Password</label>
            <input
              id="password"
              name="password"
              type="password"
              required
              autocomplete="current-password"
            />
          </div>
          <button class="primary" type="submit">
            Sign in
          </button>
        </form>
      </div>
    </Layout>
  );
}

function StartAgain({ organizationId }: { organizationId: string }) {
  return (
    <p>
      <a class="button" href={`/login?org=${organizationId}`}>
        Start again
      </a>
    </p>
  );
}

/** What a challenge that takes no code says, and the way out. */
function closedMessage(view: ChallengeView): string {
  switch (view.status) {
    case 'expired':
      return 'The code has expired. Sign in again to get a new one.';
    case 'locked':
      return 'Too many wrong codes: this sign-in is locked. Sign in again to get a new code.';
    case 'canceled':
      return 'This sign-in was canceled (the phone number or password changed). Sign in again.';
    case 'approved':
      return 'This code was already used. Sign in again.';
    case 'failed':
      switch (view.failureReason) {
        case 'sms_balance_exhausted':
          return "We could not send the code: the organization's SMS credit has run out. Contact your administrator.";
        case 'sms_rejected':
          return 'We could not send the code: the phone number was refused. Contact your administrator.';
        case 'sms_paused':
          return 'We could not send the code right now. Try again later.';
        default:
          return 'We could not send the code. Try again later.';
      }
    default:
      return 'This sign-in cannot continue. Sign in again.';
  }
}

function ClosedPage({ view, organizationId }: { view: ChallengeView; organizationId: string }) {
  return (
    <Layout title="Sign in">
      <div class="card">
        <h1>Sign-in stopped</h1>
        <Notice kind="error">{closedMessage(view)}</Notice>
        <StartAgain organizationId={organizationId} />
      </div>
    </Layout>
  );
}

function CodePage(props: {
  csrf: string;
  view: ChallengeView;
  error?: string | undefined;
  info?: string | undefined;
}) {
  const { csrf, view, error, info } = props;
  const where = view.maskedPhone ? `to ${view.maskedPhone}` : 'to your phone';
  return (
    <Layout title="Enter your code">
      <div class="card">
        <h1>Enter your code</h1>
        <p>Enter the 6-digit code we sent {where}.</p>
        {error ? <Notice kind="error">{error}</Notice> : null}
        {info ? <Notice kind="ok">{info}</Notice> : null}
        <form method="post" action="/login/code">
          <Csrf token={csrf} />
          <div class="field">
            <label for="code">6-digit code</label>
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
              aria-invalid={error ? 'true' : undefined}
              aria-describedby="code-help"
            />
            <p id="code-help" class="muted">
              {`${view.attemptsRemaining} ${view.attemptsRemaining === 1 ? 'attempt' : 'attempts'} left.`}
            </p>
          </div>
          <div class="field">
            <label class="check" for="trustDevice">
              <input id="trustDevice" name="trustDevice" type="checkbox" value="on" />
              <span>Trust this device for 30 days</span>
            </label>
          </div>
          <button class="primary" type="submit">
            Verify
          </button>
        </form>
        <form method="post" action="/login/resend" class="stack">
          <Csrf token={csrf} />
          <p class="muted">
            No code?{' '}
            {view.sendsRemaining > 0
              ? `You can ask for ${view.sendsRemaining} more.`
              : 'No more codes can be sent for this sign-in.'}
          </p>
          <button class="secondary" type="submit" disabled={view.sendsRemaining === 0}>
            Resend code
          </button>
        </form>
      </div>
    </Layout>
  );
}

function PhonePage(props: { csrf: string; error?: string | undefined; phone?: string }) {
  return (
    <Layout title="Your phone number">
      <div class="card">
        <h1>Your phone number</h1>
        <p>We send a 6-digit code to your phone each time you sign in from a new device.</p>
        {props.error ? <Notice kind="error">{props.error}</Notice> : null}
        <form method="post" action="/login/phone">
          <Csrf token={props.csrf} />
          <div class="field">
            <label for="phone">Mobile phone number</label>
            <input
              id="phone"
              name="phone"
              type="tel"
              autocomplete="tel"
              required
              autofocus
              value={props.phone ?? ''}
              aria-invalid={props.error ? 'true' : undefined}
              aria-describedby="phone-help"
            />
            <p id="phone-help" class="muted">
              With the country code, e.g. +358 40 123 4567.
            </p>
          </div>
          <button class="primary" type="submit">
            Send code
          </button>
        </form>
      </div>
    </Layout>
  );
}

// ---- routes ----------------------------------------------------------------

export const loginPages = new Hono<AppEnv>();

function loginForm(
  c: PageContext,
  org: CachedOrganization | null,
  extra: { orgInput?: string; email?: string; error?: string } = {},
): JSX.Element {
  return <LoginForm csrf={csrfToken(c, browserId(c))} org={org} {...extra} />;
}

loginPages.get('/login', async (c) => {
  const org = await loadOrganization(c, c.req.query('org'));
  return render(c, loginForm(c, org, { orgInput: c.req.query('org') ?? '' }));
});

loginPages.post('/login', async (c) => {
  const form = await formFields(c);
  if (!csrfValid(c, browserCookie(c), form.csrf)) {
    return forbidden(c);
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
        error: 'No organization has that ID. Check the sign-in link you were given.',
      }),
      404,
    );
  }
  if (!email || !password || email.length > 254 || password.length > 1024) {
    return render(c, loginForm(c, org, { email, error: 'Enter your email and password.' }), 400);
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
    const message =
      error.code === 'invalid_credentials' ? 'The email or password is wrong.' : error.detail;
    if (error.headers['retry-after']) c.header('retry-after', error.headers['retry-after']);
    return render(c, loginForm(c, org, { email, error: message }), error.status as 400);
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
    return { org, view };
  } catch (error) {
    if (error instanceof ApiError && error.code === 'not_found') return null;
    throw error;
  }
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
  if (view.status !== 'pending') {
    return render(
      c,
      <ClosedPage view={view} organizationId={org.row.id} />,
      status === 200 ? 409 : status,
    );
  }
  return render(c, <CodePage csrf={csrfToken(c, browserId(c))} view={view} {...notes} />, status);
}

loginPages.get('/login/code', async (c) => {
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  const info = c.req.query('resent') !== undefined ? 'We sent you a new code.' : undefined;
  return codeStep(c, loaded.org, loaded.view, info ? { info } : {});
});

loginPages.post('/login/code', async (c) => {
  const form = await formFields(c);
  if (!csrfValid(c, browserCookie(c), form.csrf)) {
    return forbidden(c);
  }
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  const { org } = loaded;
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
    return c.redirect('/account', 303);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const view = await services.challenges.get(org.row.id, loaded.view.id);
    if (error.code === 'invalid_code') {
      return codeStep(c, org, view, { error: `That code is wrong. ${attemptsLeft(view)}` }, 422);
    }
    return codeStep(c, org, view, { error: error.detail }, error.status);
  }
});

function attemptsLeft(view: ChallengeView): string {
  const n = view.attemptsRemaining;
  return `${n} ${n === 1 ? 'attempt' : 'attempts'} left.`;
}

loginPages.post('/login/resend', async (c) => {
  const form = await formFields(c);
  if (!csrfValid(c, browserCookie(c), form.csrf)) {
    return forbidden(c);
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
    const message =
      error.code === 'resend_too_soon'
        ? `Please wait ${retryAfter ?? 30} seconds before asking for another code.`
        : error.detail;
    return codeStep(c, loaded.org, view, { error: message }, error.status);
  }
});

loginPages.get('/login/phone', async (c) => {
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  if (loaded.view.status !== 'phone_required') return codeStep(c, loaded.org, loaded.view);
  return render(c, <PhonePage csrf={csrfToken(c, browserId(c))} />);
});

loginPages.post('/login/phone', async (c) => {
  const form = await formFields(c);
  if (!csrfValid(c, browserCookie(c), form.csrf)) {
    return forbidden(c);
  }
  const loaded = await loadPending(c);
  if (!loaded) return noPending(c);
  if (loaded.view.status !== 'phone_required') return codeStep(c, loaded.org, loaded.view);
  const phone = (form.phone ?? '').trim().slice(0, 64);
  try {
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
    const message =
      error.code === 'invalid_phone'
        ? `That does not look like a mobile number: ${error.detail}`
        : error.detail;
    return render(
      c,
      <PhonePage csrf={csrfToken(c, browserId(c))} error={message} phone={phone} />,
      error.status as 422,
    );
  }
});

loginPages.post('/logout', async (c) => {
  const form = await formFields(c);
  const session = await currentSession(c);
  if (!session) return c.redirect('/login', 303);
  if (!csrfValid(c, session.token, form.csrf)) return forbidden(c);
  await endSession(c, session.token);
  return c.redirect(`/login?org=${session.organizationId}`, 303);
});
