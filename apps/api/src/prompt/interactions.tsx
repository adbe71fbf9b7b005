import type { HttpBindings } from '@hono/node-server';
import type { ChallengeView } from '@twofa/core';
import {
  type AppClientRow,
  cancelPromptChallenge,
  createUser,
  findPromptAppByClientId,
  loadLoginContext,
  recordAudit,
} from '@twofa/db';
import { Hono } from 'hono';
import { type CodeStepFacts, codeStepFacts } from '../domain/code-step.ts';
import type { AppEnv } from '../lib/env.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import { renderErrorPage } from '../pages/error-pages.tsx';
import { BackupCodePage } from '../pages/factors.tsx';
import { apiErrorText, langOf } from '../pages/lang.ts';
import { CodePage, forbidden, PhonePage, type StepPaths } from '../pages/login.tsx';
import type { PageLang } from '../pages/messages.ts';
import { render } from '../pages/render.ts';
import {
  browserCookie,
  browserId,
  CONTENT_SECURITY_POLICY,
  csrfToken,
  csrfValid,
  deviceToken,
  endUserAddress,
  formFields,
  type PageContext,
  pageHeaders,
  setDeviceToken,
} from '../pages/session.ts';
import { DECISION_KIND, PAR_CLAIM_KIND, PROMPT_STATE_KIND, PromptUnavailable } from './adapter.ts';
import {
  isPromptLoginHint,
  PROMPT_PATH_PREFIX,
  type PromptDecision,
  type PromptServer,
} from './provider.ts';
import { ID_TOKEN_TTL_SECONDS } from './signing-keys.ts';

/** Our progress through one interaction: the challenge it started. */
interface PromptState {
  userId: string;
  challengeId: string;
}

/** How long our state outlives nothing: the provider's interaction lasts 15 minutes. */
const PROMPT_STATE_TTL_SECONDS = 15 * 60;

type Provider = Awaited<ReturnType<PromptServer['provider']>>['provider'];
type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

interface Loaded {
  provider: Provider;
  bindings: HttpBindings;
  interaction: Interaction;
  app: AppClientRow;
  org: CachedOrganization;
  lang: PageLang;
  loginHint: string;
  redirectUri: string;
  state: PromptState | null;
}

/** What ended a prompt that does not log anyone in. */
interface Denial {
  /** The audit's and the app's reason: `canceled`, `user_locked`, `challenge_expired`, ... */
  reason: string;
  description: string;
}

const CANCELED: Denial = { reason: 'canceled', description: 'the user canceled the sign-in' };

function stepPaths(uid: string): StepPaths {
  const base = `${PROMPT_PATH_PREFIX}/${uid}`;
  return {
    code: `${base}/code`,
    resend: `${base}/resend`,
    phone: `${base}/phone`,
    codePage: base,
    backupCodePage: `${base}/backup-code`,
  };
}

/**
 * The pages' policy, with one change: a form here may end in a redirect to
 * the app (after our own /oidc/authorize), and browsers hold such redirects
 * to `form-action` too, so the app's verified redirect URI's origin is allowed.
 */
function promptCsp(redirectUri: string): string {
  const origin = new URL(redirectUri).origin;
  return CONTENT_SECURITY_POLICY.replace("form-action 'self'", `form-action 'self' ${origin}`);
}

/** A request the prompt cannot trust: an error page, never a redirect. */
async function cannotContinue(c: PageContext, status: 400 | 404 = 400) {
  return c.html(await renderErrorPage(c.req.header('accept-language'), 'cannotContinue'), status);
}

/**
 * The interaction this browser holds (its cookie from our /oidc/authorize),
 * with its app and organization; null when it cannot be trusted: no or
 * another browser's cookie, another interaction's page, a deleted app.
 */
async function loadInteraction(c: PageContext, prompt: PromptServer): Promise<Loaded | null> {
  const bindings = c.env as Partial<HttpBindings> | undefined;
  if (!bindings?.incoming || !bindings.outgoing || !prompt.issuer) return null;
  const { provider } = await prompt.provider();
  let interaction: Interaction;
  try {
    interaction = await provider.interactionDetails(bindings.incoming, bindings.outgoing);
  } catch (error) {
    // Not found or not this browser's: untrusted. Not answered: the error page asks to try again.
    if (error instanceof PromptUnavailable) throw error;
    return null;
  }
  if (interaction.uid !== c.req.param('uid')) return null;
  const {
    client_id: clientId,
    login_hint: loginHint,
    redirect_uri: redirectUri,
  } = interaction.params;
  if (typeof clientId !== 'string' || typeof redirectUri !== 'string') return null;
  if (!isPromptLoginHint(loginHint)) return null;
  const services = c.get('services');
  const app = await findPromptAppByClientId(services.db.sql, clientId);
  if (!app) return null;
  const org = await services.organizations.get(app.organizationId);
  if (!org) return null;
  const stored = await services.promptStore.find(PROMPT_STATE_KIND, interaction.uid);
  c.header('content-security-policy', promptCsp(redirectUri));
  return {
    provider,
    bindings: bindings as HttpBindings,
    interaction,
    app,
    org,
    lang: langOf(c, org),
    loginHint,
    redirectUri,
    state: stored ? (stored.payload as unknown as PromptState) : null,
  };
}

async function auditCompleted(
  c: PageContext,
  loaded: Loaded,
  data: { userId: string | null; result: 'verified' | 'skipped' | 'denied'; reason: string | null },
) {
  await recordAudit(c.get('services').db.sql, {
    organizationId: loaded.org.row.id,
    type: 'prompt_completed',
    actor: 'prompt',
    ip: endUserAddress(c).ip,
    data: { appId: loaded.app.id, clientId: loaded.app.clientId, ...data },
  });
}

/** Logs the user in to the app: a grant for what it asked, our decision for the ID token's claims. */
async function finishLogin(
  c: PageContext,
  loaded: Loaded,
  userId: string,
  outcome: { result: 'verified'; amr: string[] } | { result: 'skipped'; reason: string },
) {
  const { provider, interaction, app, bindings } = loaded;
  const { promptStore } = c.get('services');
  const grant = new provider.Grant({ accountId: userId, clientId: app.clientId });
  const requested = String(interaction.params.scope ?? '').split(' ');
  grant.addOIDCScope(
    requested.filter((scope) => scope === 'openid' || scope === 'email').join(' '),
  );
  const grantId = await grant.save();
  const decision: PromptDecision = {
    organizationId: loaded.org.row.id,
    appId: app.id,
    userId,
    email: loaded.loginHint,
    result: outcome.result,
    reason: outcome.result === 'skipped' ? outcome.reason : null,
  };
  await promptStore.upsert(
    DECISION_KIND,
    grantId,
    decision as unknown as Record<string, unknown>,
    ID_TOKEN_TTL_SECONDS,
    { grantId },
  );
  const returnTo = await provider.interactionResult(
    bindings.incoming,
    bindings.outgoing,
    {
      login: {
        accountId: userId,
        // Never remembered: every authorization request comes back to this page.
        remember: false,
        ...(outcome.result === 'verified' ? { amr: outcome.amr } : {}),
      },
      consent: { grantId },
    },
    { mergeWithLastSubmission: false },
  );
  await promptStore.destroy(PROMPT_STATE_KIND, interaction.uid);
  await auditCompleted(c, loaded, {
    userId,
    result: outcome.result,
    reason: outcome.result === 'skipped' ? outcome.reason : null,
  });
  return c.redirect(returnTo, 303);
}

/** Ends the prompt with `access_denied`; the provider redirects with it, `state` and `iss`. */
async function finishDenied(c: PageContext, loaded: Loaded, userId: string | null, denial: Denial) {
  const returnTo = await deniedResult(c, loaded, denial);
  await auditCompleted(c, loaded, { userId, result: 'denied', reason: denial.reason });
  return c.redirect(returnTo, 303);
}

/** The interaction's `access_denied` result (where the provider sends the browser), our state gone. */
async function deniedResult(c: PageContext, loaded: Loaded, denial: Denial): Promise<string> {
  const { provider, interaction, bindings } = loaded;
  const returnTo = await provider.interactionResult(
    bindings.incoming,
    bindings.outgoing,
    { error: 'access_denied', error_description: denial.description },
    { mergeWithLastSubmission: false },
  );
  await c.get('services').promptStore.destroy(PROMPT_STATE_KIND, interaction.uid);
  return returnTo;
}

/**
 * Cancel: the challenge ends with the prompt (`canceled`, so a code sent for
 * it no longer verifies and it no longer counts as open), recorded in the
 * same statement as the prompt's audit event; the app gets `access_denied`.
 */
async function finishCanceled(c: PageContext, loaded: Loaded, state: PromptState) {
  await cancelPromptChallenge(c.get('services').db.sql, {
    organizationId: loaded.org.row.id,
    challengeId: state.challengeId,
    actor: 'prompt',
    ip: endUserAddress(c).ip,
    data: {
      appId: loaded.app.id,
      clientId: loaded.app.clientId,
      userId: state.userId,
      result: 'denied',
      reason: CANCELED.reason,
    },
  });
  return c.redirect(await deniedResult(c, loaded, CANCELED), 303);
}

function closedDenial(view: ChallengeView): Denial {
  const reason = view.failureReason
    ? `challenge_${view.status}:${view.failureReason}`
    : `challenge_${view.status}`;
  return { reason, description: `the second step ended: the challenge is ${view.status}` };
}

function errorDenial(error: ApiError): Denial {
  return { reason: error.code, description: `the second step was refused: ${error.code}` };
}

/** The app's user for this email, made on first sight (JIT): a member with no phone, no password. */
async function promptUser(c: PageContext, loaded: Loaded): Promise<string> {
  const services = c.get('services');
  const organizationId = loaded.org.row.id;
  const found = await loadLoginContext(
    services.db.sql,
    organizationId,
    { email: loaded.loginHint },
    null,
  );
  if (found) return found.user.id;
  const created = await createUser(services.db.sql, {
    organizationId,
    email: loaded.loginHint,
    passwordHash: null,
    phone: null,
  });
  if (created) {
    await recordAudit(services.db.sql, {
      organizationId,
      type: 'user_created',
      actor: 'prompt',
      ip: endUserAddress(c).ip,
      data: { userId: created.id, hasPhone: false, appId: loaded.app.id },
    });
    return created.id;
  }
  // Another request made the same user first.
  const raced = await loadLoginContext(
    services.db.sql,
    organizationId,
    { email: loaded.loginHint },
    null,
  );
  if (!raced) throw new Error('prompt user vanished after a conflicting insert');
  return raced.user.id;
}

/**
 * A pushed request is good for one prompt. oidc-provider marks it used only
 * when the authorization answers, so the same request_uri opened in a second
 * browser meanwhile would get a prompt of its own: the first interaction to
 * reach our page claims the request, any other gets the error page.
 */
async function claimPushedRequest(c: PageContext, loaded: Loaded): Promise<boolean> {
  const parJti = (loaded.interaction as { parJti?: string }).parJti;
  if (!parJti) return false;
  const { promptStore } = c.get('services');
  const uid = loaded.interaction.uid;
  if (await promptStore.insertOnce(PAR_CLAIM_KIND, parJti, { uid }, PROMPT_STATE_TTL_SECONDS)) {
    return true;
  }
  const existing = await promptStore.find(PAR_CLAIM_KIND, parJti);
  return existing?.payload.uid === uid;
}

/** Renders the step the challenge is at, or ends the prompt when it is closed. */
async function showStep(
  c: PageContext,
  loaded: Loaded,
  step: ChallengeView | CodeStepFacts,
  notes: { error?: string; info?: string; phone?: string } = {},
  status = 200,
) {
  // Read by `currentStep` with what the code step shows, or a view alone (a start's answer).
  const read = 'view' in step ? step : null;
  const view = 'view' in step ? step.view : step;
  const { lang, interaction } = loaded;
  const csrf = csrfToken(c, browserId(c));
  const paths = stepPaths(interaction.uid);
  if (view.status === 'phone_required') {
    return render(
      c,
      <PhonePage
        lang={lang}
        csrf={csrf}
        org={loaded.org}
        view={view}
        paths={paths}
        cancelable
        error={notes.error}
        {...(notes.phone !== undefined ? { phone: notes.phone } : {})}
      />,
      status,
    );
  }
  if (view.status !== 'pending') {
    return finishDenied(c, loaded, view.userId, closedDenial(view));
  }
  const facts = read ?? (await codeStepFacts(c.get('services').db, loaded.org.row.id, view.id));
  if (!facts) return finishDenied(c, loaded, view.userId, closedDenial(view));
  return render(
    c,
    <CodePage
      lang={lang}
      csrf={csrf}
      facts={facts}
      org={loaded.org}
      paths={paths}
      cancelable
      error={notes.error}
      info={notes.info}
    />,
    status,
  );
}

/** The challenge as the API would show it, with what the code step shows, in one read. */
async function currentStep(c: PageContext, loaded: Loaded, state: PromptState) {
  const step = await codeStepFacts(c.get('services').db, loaded.org.row.id, state.challengeId);
  if (!step) throw notFound('Challenge');
  return step;
}

/** The pages of the hosted prompt: the provider sends the browser to GET /prompt/{uid}. */
export function promptPages(prompt: PromptServer) {
  const pages = new Hono<AppEnv>();
  pages.use(`${PROMPT_PATH_PREFIX}/*`, pageHeaders);

  pages.get(`${PROMPT_PATH_PREFIX}/:uid`, async (c) => {
    const loaded = await loadInteraction(c, prompt);
    if (!loaded) return cannotContinue(c);
    if (loaded.state) {
      const step = await currentStep(c, loaded, loaded.state);
      const notes = c.req.query('resent') !== undefined ? { info: loaded.lang.t.resent } : {};
      return showStep(c, loaded, step, notes);
    }
    if (!(await claimPushedRequest(c, loaded))) return cannotContinue(c);
    const services = c.get('services');
    const userId = await promptUser(c, loaded);
    let outcome: Awaited<ReturnType<typeof services.challenges.startForUser>>;
    try {
      // Exactly what /v1/logins does after a right password: the same policy, limits, breaker and
      // balance, with this browser's own address and our origin's device cookie.
      outcome = await services.challenges.startForUser(
        loaded.org,
        { userId, ...endUserAddress(c), deviceToken: deviceToken(c) },
        { logger: c.get('logger') },
      );
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500) throw error;
      return finishDenied(c, loaded, userId, errorDenial(error));
    }
    if (outcome.result === 'authenticated') {
      return finishLogin(c, loaded, userId, { result: 'skipped', reason: outcome.reason });
    }
    await services.promptStore.upsert(
      PROMPT_STATE_KIND,
      loaded.interaction.uid,
      { userId, challengeId: outcome.challenge.id },
      PROMPT_STATE_TTL_SECONDS,
    );
    return showStep(c, loaded, outcome.challenge);
  });

  // "Use a backup code": its form posts to the code step, which takes `backupCode` too.
  pages.get(`${PROMPT_PATH_PREFIX}/:uid/backup-code`, async (c) => {
    const loaded = await loadInteraction(c, prompt);
    if (!loaded) return cannotContinue(c);
    if (!loaded.state) return c.redirect(`${PROMPT_PATH_PREFIX}/${loaded.interaction.uid}`, 303);
    const step = await currentStep(c, loaded, loaded.state);
    const { view } = step;
    if (
      !view.methods.includes('backup_code') ||
      !['pending', 'phone_required'].includes(view.status)
    ) {
      return showStep(c, loaded, step);
    }
    return render(
      c,
      <BackupCodePage
        lang={loaded.lang}
        csrf={csrfToken(c, browserId(c))}
        view={view}
        paths={stepPaths(loaded.interaction.uid)}
        cancelable
      />,
    );
  });

  /** The common start of every form post: CSRF, the interaction, its challenge, and Cancel. */
  async function posted(c: PageContext) {
    const form = await formFields(c);
    const loaded = await loadInteraction(c, prompt);
    if (!loaded) return { response: await cannotContinue(c) };
    if (!csrfValid(c, browserCookie(c), form.csrf)) return { response: forbidden(c, loaded.lang) };
    if (!loaded.state)
      return { response: c.redirect(`${PROMPT_PATH_PREFIX}/${loaded.interaction.uid}`, 303) };
    if (form.cancel !== undefined) {
      return { response: finishCanceled(c, loaded, loaded.state) };
    }
    return { form, loaded, state: loaded.state };
  }

  pages.post(`${PROMPT_PATH_PREFIX}/:uid/code`, async (c) => {
    const step = await posted(c);
    if ('response' in step) return step.response;
    const { form, loaded, state } = step;
    const services = c.get('services');
    const code = (form.code ?? '').replace(/\s+/g, '').slice(0, 64);
    try {
      const backupCode = (form.backupCode ?? '').trim().slice(0, 64);
      const done = await services.challenges.verify(
        loaded.org.row.id,
        backupCode
          ? { challengeId: state.challengeId, backupCode }
          : { challengeId: state.challengeId, code },
      );
      if (form.trustDevice) setDeviceToken(c, done.deviceToken, done.deviceTokenExpiresAt);
      // RFC 8176: an SMS code is `sms`; an authenticator or backup code is a one-time password.
      const amr = done.method === 'sms' ? ['sms'] : ['otp'];
      return finishLogin(c, loaded, state.userId, { result: 'verified', amr });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500) throw error;
      const step = await currentStep(c, loaded, state);
      const { view } = step;
      if (error.code === 'invalid_code') {
        return showStep(
          c,
          loaded,
          step,
          { error: loaded.lang.t.wrongCode(view.attemptsRemaining) },
          422,
        );
      }
      return showStep(c, loaded, step, { error: apiErrorText(loaded.lang, error) }, error.status);
    }
  });

  pages.post(`${PROMPT_PATH_PREFIX}/:uid/resend`, async (c) => {
    const step = await posted(c);
    if ('response' in step) return step.response;
    const { loaded, state } = step;
    const services = c.get('services');
    try {
      await services.challenges.resend(
        loaded.org,
        { challengeId: state.challengeId },
        { logger: c.get('logger') },
      );
      return c.redirect(`${PROMPT_PATH_PREFIX}/${loaded.interaction.uid}?resent`, 303);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500) throw error;
      const retryAfter = error.headers['retry-after'];
      if (retryAfter) c.header('retry-after', retryAfter);
      const step = await currentStep(c, loaded, state);
      return showStep(c, loaded, step, { error: apiErrorText(loaded.lang, error) }, error.status);
    }
  });

  pages.post(`${PROMPT_PATH_PREFIX}/:uid/phone`, async (c) => {
    const step = await posted(c);
    if ('response' in step) return step.response;
    const { form, loaded, state } = step;
    const services = c.get('services');
    const phone = (form.phone ?? '').trim().slice(0, 64);
    try {
      await services.challenges.setPhone(
        loaded.org,
        { challengeId: state.challengeId, phone },
        { logger: c.get('logger') },
      );
      return c.redirect(`${PROMPT_PATH_PREFIX}/${loaded.interaction.uid}`, 303);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status >= 500) throw error;
      const step = await currentStep(c, loaded, state);
      return showStep(
        c,
        loaded,
        step,
        { error: apiErrorText(loaded.lang, error), phone },
        error.status,
      );
    }
  });

  return pages;
}
