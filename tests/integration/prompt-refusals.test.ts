import * as oidc from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  browse,
  browserRequest,
  CookieJar,
  promptClient,
  promptModelKeys,
  pushAuthorization,
  type RegisteredApp,
  redeemCode,
  registerPromptApp,
  withPromptHarness,
} from '../support/index.ts';

const h = withPromptHarness();
/** 2FA on, with credits: a prompt there would send an SMS. */
let org: { id: string; apiKey: string };
/** 2FA off: a prompt there answers a code at once. */
let openOrg: { id: string; apiKey: string };
let otherOrg: { id: string; apiKey: string };
let app: RegisteredApp;
let openApp: RegisteredApp;
let otherApp: RegisteredApp;

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
  await h.topUp(org.id, 100);
  await h.enableTwoFactor(org.apiKey);
  openOrg = await h.createOrganization({ name: 'Open Clinic', country: 'FI' });
  otherOrg = await h.createOrganization({ name: 'Other Clinic', country: 'FI' });
  app = await registerPromptApp(h, org.apiKey, 'http://127.0.0.1:9/cb');
  openApp = await registerPromptApp(h, openOrg.apiKey, 'http://localhost:9/open');
  otherApp = await registerPromptApp(h, otherOrg.apiKey, 'http://127.0.0.1:9/other');
});

const SECRET_PATTERN = /^tfa_cs_/;
/** openid-client's error for a 401 answered with a WWW-Authenticate challenge. */
const INVALID_CLIENT = { status: 401, cause: [{ parameters: { error: 'invalid_client' } }] };

/** A pushed request as a hand-built form, for the refusals openid-client would not send. */
async function rawPar(
  fields: Record<string, string>,
  auth: { clientId: string; clientSecret: string } | null,
) {
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
  };
  if (auth) {
    const basic = `${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`;
    headers.authorization = `Basic ${Buffer.from(basic).toString('base64')}`;
  }
  const res = await fetch(`${h.baseUrl}/oidc/par`, {
    method: 'POST',
    headers,
    body: new URLSearchParams(fields).toString(),
  });
  return {
    status: res.status,
    body: (await res.json()) as Record<string, any>,
    headers: res.headers,
  };
}

function parFields(target: RegisteredApp, extra: Record<string, string> = {}) {
  return {
    response_type: 'code',
    client_id: target.clientId,
    scope: 'openid email',
    redirect_uri: target.redirectUri,
    state: 'st',
    nonce: 'no',
    code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    code_challenge_method: 'S256',
    login_hint: 'someone@example.com',
    ...extra,
  };
}

async function storedRequests(): Promise<number> {
  return (await promptModelKeys(h, 'PushedAuthorizationRequest')).length;
}

/** Every key of the prompt's store and everything under it, as one text. */
async function promptStoreText(): Promise<string> {
  const redis = h.services.redis;
  const parts: string[] = [];
  for (const key of await promptModelKeys(h, '*')) {
    const type = await redis.type(key);
    const value =
      type === 'hash'
        ? await redis.hgetall(key)
        : type === 'set'
          ? await redis.smembers(key)
          : await redis.get(key);
    parts.push(key, JSON.stringify(value));
  }
  return parts.join('\n');
}

/** Runs the whole flow for an open-organization user and answers the callback URL. */
async function codeFor(target: RegisteredApp, loginHint: string, config?: oidc.Configuration) {
  const client = config ?? (await promptClient(h.baseUrl, target));
  const started = await pushAuthorization(client, { redirectUri: target.redirectUri, loginHint });
  const { final } = await browse(new CookieJar(), started.url.href);
  expect(final.status).toBe(303);
  return { client, started, callback: new URL(final.location ?? '') };
}

function expectOAuthError(
  res: { status: number; body: Record<string, any>; headers: Headers },
  status: number,
  error: string,
) {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body.error).toBe(error);
  expect(typeof res.body.error_description).toBe('string');
}

describe('client authentication at the pushed request', () => {
  it('refuses a wrong secret with 401 invalid_client and stores nothing', async () => {
    const before = await storedRequests();
    const res = await rawPar(parFields(app), {
      clientId: app.clientId,
      clientSecret: 'tfa_cs_wrong',
    });
    expectOAuthError(res, 401, 'invalid_client');
    expect(await storedRequests()).toBe(before);
  });

  it('refuses a pushed request without client authentication', async () => {
    const res = await rawPar(parFields(app), null);
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
  });

  it('refuses the old secret after a rotation and takes the new one', async () => {
    const rotating = await registerPromptApp(h, openOrg.apiKey, 'http://127.0.0.1:9/rot');
    const rotated = await h.request('POST', `/v1/apps/${rotating.id}/secret`, {
      key: openOrg.apiKey,
    });
    expect(rotated.body.clientSecret).toMatch(SECRET_PATTERN);
    const old = await rawPar(parFields(rotating), rotating);
    expectOAuthError(old, 401, 'invalid_client');
    const fresh = { ...rotating, clientSecret: rotated.body.clientSecret as string };
    const { client, started, callback } = await codeFor(fresh, 'rotated@example.com');
    const tokens = await redeemCode(client, callback, started);
    expect(tokens.claims()?.email).toBe('rotated@example.com');
  });

  it('refuses a deleted app: its pending request shows the error page and its code is refused', async () => {
    const doomed = await registerPromptApp(h, openOrg.apiKey, 'http://127.0.0.1:9/doomed');
    const client = await promptClient(h.baseUrl, doomed);
    const pending = await pushAuthorization(client, {
      redirectUri: doomed.redirectUri,
      loginHint: 'doomed@example.com',
    });
    const { client: c2, started, callback } = await codeFor(doomed, 'doomed2@example.com', client);
    expect(
      (await h.request('DELETE', `/v1/apps/${doomed.id}`, { key: openOrg.apiKey })).status,
    ).toBe(204);

    const page = await browserRequest(new CookieJar(), pending.url.href);
    expect(page.status).toBe(400);
    expect(page.location).toBeNull();
    expect(page.body).toContain('cannot continue');

    await expect(redeemCode(c2, callback, started)).rejects.toMatchObject(INVALID_CLIENT);
    expectOAuthError(await rawPar(parFields(doomed), doomed), 401, 'invalid_client');
  });
});

describe('the pushed request itself', () => {
  it('refuses an unregistered redirect URI without redirecting to it', async () => {
    const before = await storedRequests();
    const res = await rawPar(parFields(app, { redirect_uri: 'https://evil.example/cb' }), app);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(/^invalid_(request|redirect_uri)$/);
    expect(res.headers.get('location')).toBeNull();
    // One character off is another URI: registered URIs match exactly.
    const near = await rawPar(parFields(app, { redirect_uri: `${app.redirectUri}/` }), app);
    expect(near.status).toBe(400);
    const absent = await rawPar(parFields(app, { redirect_uri: '' }), app);
    expect(absent.status).toBe(400);
    expect(await storedRequests()).toBe(before);
  });

  it('refuses a request without PKCE, or with the plain method', async () => {
    const before = await storedRequests();
    const { code_challenge: _c, code_challenge_method: _m, ...noPkce } = parFields(app);
    const missing = await rawPar(noPkce, app);
    expectOAuthError(missing, 400, 'invalid_request');
    expect(missing.body.error_description).toMatch(/PKCE/);
    const plain = await rawPar(parFields(app, { code_challenge_method: 'plain' }), app);
    expectOAuthError(plain, 400, 'invalid_request');
    expect(await storedRequests()).toBe(before);
  });

  it('refuses a login_hint that is not an ASCII email, or none', async () => {
    for (const hint of ['not-an-email', 'üser@exämple.com', 'a@b', '']) {
      const res = await rawPar(parFields(app, { login_hint: hint }), app);
      expectOAuthError(res, 400, 'invalid_request');
    }
    const { login_hint: _h, ...noHint } = parFields(app);
    expectOAuthError(await rawPar(noHint, app), 400, 'invalid_request');
  });

  it('refuses another response type and the implicit flow', async () => {
    for (const responseType of ['token', 'id_token', 'code id_token']) {
      const res = await rawPar(parFields(app, { response_type: responseType }), app);
      expect(res.status).toBe(400);
    }
  });

  it('refuses the response modes it does not offer (form_post, fragment) and takes query', async () => {
    const client = await promptClient(h.baseUrl, app);
    const push = (responseMode: string) =>
      oidc.buildAuthorizationUrlWithPAR(client, {
        ...parFields(app),
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        response_mode: responseMode,
      });
    const before = await storedRequests();
    for (const mode of ['form_post', 'fragment']) {
      await expect(push(mode)).rejects.toMatchObject({ status: 400, error: 'invalid_request' });
    }
    expect(await storedRequests()).toBe(before);
    await expect(push('query')).resolves.toBeInstanceOf(URL);
  });

  it('refuses authorization requests that were not pushed: an error to the registered URI, no code', async () => {
    const sent = h.twilio.messages.length;
    const url = new URL(`${h.baseUrl}/oidc/authorize`);
    for (const [key, value] of Object.entries(parFields(app))) url.searchParams.set(key, value);
    const res = await browserRequest(new CookieJar(), url.href);
    expect(res.status).toBe(303);
    const back = new URL(res.location ?? '');
    expect(`${back.origin}${back.pathname}`).toBe(app.redirectUri);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('iss')).toBe(h.baseUrl);
    expect(back.searchParams.get('code')).toBeNull();
    // With a redirect URI that is not registered, not even an error goes there.
    url.searchParams.set('redirect_uri', 'https://evil.example/cb');
    const evil = await browserRequest(new CookieJar(), url.href);
    expect(evil.status).toBe(400);
    expect(evil.location).toBeNull();
    expect(h.twilio.messages.length).toBe(sent);
  });

  it("refuses a pushed request for another organization's app with this app's secret", async () => {
    const res = await rawPar(parFields(otherApp), {
      clientId: otherApp.clientId,
      clientSecret: app.clientSecret,
    });
    expectOAuthError(res, 401, 'invalid_client');
  });
});

describe('the browser leg', () => {
  it('uses a request_uri once: a replay shows the error page, no redirect', async () => {
    const client = await promptClient(h.baseUrl, openApp);
    const started = await pushAuthorization(client, {
      redirectUri: openApp.redirectUri,
      loginHint: 'once@example.com',
    });
    const first = await browse(new CookieJar(), started.url.href);
    expect(first.final.status).toBe(303);
    const replay = await browserRequest(new CookieJar(), started.url.href);
    expect(replay.status).toBe(400);
    expect(replay.location).toBeNull();
    expect(replay.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('gives a request_uri opened in two browsers at once to the first only', async () => {
    const client = await promptClient(h.baseUrl, app);
    const started = await pushAuthorization(client, {
      redirectUri: app.redirectUri,
      loginHint: 'race@example.com',
    });
    const first = await browse(new CookieJar(), started.url.href);
    expect(first.final.status).toBe(200);
    const sent = h.twilio.messages.length;
    const second = await browse(new CookieJar(), started.url.href);
    expect(second.final.status).toBe(400);
    expect(second.final.location).toBeNull();
    expect(second.final.body).toContain('cannot continue');
    expect(h.twilio.messages.length).toBe(sent);
    // The first browser's page still works.
    const again = await browse(new CookieJar(), started.url.href);
    expect(again.final.status).toBe(400);
  });

  it('refuses an unknown request_uri or client with the error page', async () => {
    const unknown = new URL(`${h.baseUrl}/oidc/authorize`);
    unknown.searchParams.set('client_id', openApp.clientId);
    unknown.searchParams.set('request_uri', 'urn:ietf:params:oauth:request_uri:nope');
    const res = await browserRequest(new CookieJar(), unknown.href);
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
    unknown.searchParams.set('client_id', 'app_unknown');
    const noClient = await browserRequest(new CookieJar(), unknown.href);
    expect(noClient.status).toBe(400);
    expect(noClient.location).toBeNull();
  });

  it('refuses an expired pushed request', async () => {
    const client = await promptClient(h.baseUrl, openApp);
    const started = await pushAuthorization(client, {
      redirectUri: openApp.redirectUri,
      loginHint: 'late@example.com',
    });
    const id = started.url.searchParams.get('request_uri')?.split(':').pop();
    // Its TTL runs out: Redis drops it by itself.
    const key = h.services.promptStore.key('PushedAuthorizationRequest', id ?? '');
    expect(await h.services.redis.pexpire(key, 1)).toBe(1);
    await h.waitFor(async () => (await h.services.redis.exists(key)) === 0 || undefined);
    const res = await browserRequest(new CookieJar(), started.url.href);
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
  });

  it('shows the error page to a second browser opening the prompt, and sends nothing', async () => {
    const client = await promptClient(h.baseUrl, app);
    const started = await pushAuthorization(client, {
      redirectUri: app.redirectUri,
      loginHint: 'twobrowsers@example.com',
    });
    const first = await browserRequest(new CookieJar(), started.url.href);
    expect(first.status).toBe(303);
    const promptUrl = first.location ?? '';
    expect(new URL(promptUrl).pathname).toMatch(/^\/prompt\/[\w-]+$/);
    const sent = h.twilio.messages.length;
    const other = await browserRequest(new CookieJar(), promptUrl);
    expect(other.status).toBe(400);
    expect(other.location).toBeNull();
    expect(other.body).toContain('cannot continue');
    const post = await browserRequest(new CookieJar(), `${promptUrl}/code`, {
      form: { code: '123456', csrf: 'x' },
    });
    expect(post.status).toBe(400);
    expect(post.location).toBeNull();
    expect(h.twilio.messages.length).toBe(sent);
    const users = await h.sql`select 1 from users where email = 'twobrowsers@example.com'`;
    expect(users).toHaveLength(0);
  });

  it("never reaches another organization's user: login_hint names a user of the app's own organization", async () => {
    const theirs = await h.createUser(otherOrg.apiKey, {
      email: 'shared@example.com',
      phone: '040 111 2233',
    });
    const { client, started, callback } = await codeFor(openApp, 'shared@example.com');
    const tokens = await redeemCode(client, callback, started);
    const sub = tokens.claims()?.sub;
    expect(sub).not.toBe(theirs.id);
    const [row] = await h.sql`select organization_id from users where id = ${sub ?? ''}`;
    expect(row?.organization_id).toBe(openOrg.id);
  });
});

describe('redeeming the code', () => {
  it('redeems a code once: a replay is invalid_grant', async () => {
    const { client, started, callback } = await codeFor(openApp, 'replay@example.com');
    const tokens = await redeemCode(client, callback, started);
    expect(tokens.id_token).toBeTruthy();
    // Neither the code nor the access token is held in clear, in any key or value.
    const code = callback.searchParams.get('code') ?? '';
    expect(code.length).toBeGreaterThan(20);
    const held = await promptStoreText();
    expect(held).toContain('AuthorizationCode');
    expect(held).not.toContain(code);
    expect(held).not.toContain(tokens.access_token);
    const grantsBefore = await promptModelKeys(h, 'Grant');
    const decisionsBefore = await promptModelKeys(h, 'PromptDecision');
    await expect(redeemCode(client, callback, started)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    // The replay revokes what the code's grant issued: the grant and our decision go with it.
    expect(await promptModelKeys(h, 'Grant')).toHaveLength(grantsBefore.length - 1);
    expect(await promptModelKeys(h, 'PromptDecision')).toHaveLength(decisionsBefore.length - 1);
  });

  it("after Redis lost the prompt's state: a prompt under way shows the error page, a code is refused", async () => {
    const client = await promptClient(h.baseUrl, openApp);
    const pending = await pushAuthorization(client, {
      redirectUri: openApp.redirectUri,
      loginHint: 'lost-page@example.com',
    });
    const { started, callback } = await codeFor(openApp, 'lost-code@example.com', client);
    const keys = await promptModelKeys(h, '*');
    expect(keys.length).toBeGreaterThan(0);
    await h.services.redis.del(...keys);

    const page = await browserRequest(new CookieJar(), pending.url.href);
    expect(page.status).toBe(400);
    expect(page.location).toBeNull();
    await expect(redeemCode(client, callback, started)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('lets one of two redemptions racing for one code through', async () => {
    const { client, started, callback } = await codeFor(openApp, 'race-code@example.com');
    const redeem = () =>
      redeemCode(client, callback, started).then(
        () => 'ok',
        (error: { error?: string }) => error.error,
      );
    const outcomes = await Promise.all([redeem(), redeem(), redeem()]);
    expect(outcomes.sort()).toEqual(['invalid_grant', 'invalid_grant', 'ok']);
  });

  it('refuses a wrong verifier', async () => {
    const { client, started, callback } = await codeFor(openApp, 'verifier@example.com');
    await expect(
      oidc.authorizationCodeGrant(client, callback, {
        pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
        expectedState: started.state,
        expectedNonce: started.nonce,
      }),
    ).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('leaves the code to the right verifier after a wrong one (docs/integrate.md), once', async () => {
    const { client, started, callback } = await codeFor(openApp, 'verifier-after@example.com');
    const redeem = (verifier: string) =>
      oidc.authorizationCodeGrant(client, callback, {
        pkceCodeVerifier: verifier,
        expectedState: started.state,
        expectedNonce: started.nonce,
      });
    await expect(redeem(oidc.randomPKCECodeVerifier())).rejects.toMatchObject({
      error: 'invalid_grant',
    });
    expect((await redeem(started.verifier)).id_token).toBeTruthy();
    await expect(redeem(started.verifier)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it("refuses a code redeemed by another organization's app", async () => {
    const { started, callback } = await codeFor(openApp, 'stolen@example.com');
    const thief = await promptClient(h.baseUrl, otherApp);
    await expect(redeemCode(thief, callback, started)).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('refuses a code with another redirect URI', async () => {
    const { started, callback } = await codeFor(openApp, 'redirect@example.com');
    const res = await fetch(`${h.baseUrl}/oidc/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${openApp.clientId}:${openApp.clientSecret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code: callback.searchParams.get('code') ?? '',
        redirect_uri: 'http://localhost:9/elsewhere',
        code_verifier: started.verifier,
      }).toString(),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('refuses the refresh_token grant: unsupported_grant_type', async () => {
    const client = await promptClient(h.baseUrl, openApp);
    await expect(oidc.refreshTokenGrant(client, 'not-a-refresh-token')).rejects.toMatchObject({
      status: 400,
      error: 'unsupported_grant_type',
    });
  });

  it('refuses a wrong secret at the token endpoint with 401 invalid_client', async () => {
    const { started, callback } = await codeFor(openApp, 'tokensecret@example.com');
    const wrong = await promptClient(h.baseUrl, {
      clientId: openApp.clientId,
      clientSecret: 'tfa_cs_wrong',
    });
    await expect(redeemCode(wrong, callback, started)).rejects.toMatchObject(INVALID_CLIENT);
  });
});
