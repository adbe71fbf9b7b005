import * as oidc from 'openid-client';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  browse,
  CookieJar,
  csrfOf,
  formAction,
  promptClient,
  pushAuthorization,
  type RegisteredApp,
  registerPromptApp,
  withPromptHarness,
} from '../support/index.ts';

const h = withPromptHarness();
let org: { id: string; apiKey: string };
let app: RegisteredApp;

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
  await h.topUp(org.id, 100);
  await h.enableTwoFactor(org.apiKey);
  app = await registerPromptApp(h, org.apiKey);
});

describe('discovery', () => {
  it('names what the contract names', async () => {
    const res = await fetch(`${h.baseUrl}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, any>;
    expect(doc).toMatchObject({
      issuer: h.baseUrl,
      pushed_authorization_request_endpoint: `${h.baseUrl}/oidc/par`,
      authorization_endpoint: `${h.baseUrl}/oidc/authorize`,
      token_endpoint: `${h.baseUrl}/oidc/token`,
      jwks_uri: `${h.baseUrl}/oidc/jwks`,
      require_pushed_authorization_requests: true,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(doc.token_endpoint_auth_methods_supported.sort()).toEqual([
      'client_secret_basic',
      'client_secret_post',
    ]);
    expect(doc.id_token_signing_alg_values_supported).toEqual(['RS256']);
  });
});

describe('the SMS second step', () => {
  it('makes the user (JIT), asks the phone, then the code, and answers a signed ID token', async () => {
    const config = await promptClient(h.baseUrl, app);
    oidc.enableNonRepudiationChecks(config);
    const started = await pushAuthorization(config, {
      redirectUri: app.redirectUri,
      loginHint: 'newvet@example.com',
    });
    const jar = new CookieJar();
    const phoneStep = await browse(jar, started.url.href);
    expect(phoneStep.final.status).toBe(200);
    expect(phoneStep.final.body).toContain('name="phone"');
    expect(phoneStep.final.body).toContain('name="cancel"');
    expect(phoneStep.final.headers.get('content-security-policy')).toContain(
      "frame-ancestors 'none'",
    );

    const codeStep = await browse(jar, formAction(phoneStep.final.body, h.baseUrl, '/phone'), {
      form: { csrf: csrfOf(phoneStep.final.body), phone: '040 765 4321' },
    });
    expect(codeStep.final.status).toBe(200);
    expect(codeStep.final.body).toContain('name="code"');
    const code = await h.waitFor(async () => h.lastCodeFor('+358407654321'));

    const back = await browse(jar, formAction(codeStep.final.body, h.baseUrl, '/code'), {
      form: { csrf: csrfOf(codeStep.final.body), code, trustDevice: 'on' },
    });
    expect(back.final.status).toBe(303);
    const callback = new URL(back.final.location ?? '');
    expect(`${callback.origin}${callback.pathname}`).toBe(app.redirectUri);
    expect(callback.searchParams.get('iss')).toBe(h.baseUrl);
    expect(callback.searchParams.get('state')).toBe(started.state);

    const tokens = await oidc.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: started.verifier,
      expectedState: started.state,
      expectedNonce: started.nonce,
    });
    expect(tokens.token_type).toBe('bearer');
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: h.baseUrl,
      aud: app.clientId,
      email: 'newvet@example.com',
      amr: ['sms'],
      twofa: { result: 'verified', reason: null },
      nonce: started.nonce,
    });
  });
});
