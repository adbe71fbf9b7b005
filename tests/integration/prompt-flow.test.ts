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
  redeemCode,
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

  it('advertises only the code grant, answered in the query: no refresh_token, no form_post', async () => {
    const doc = (await (
      await fetch(`${h.baseUrl}/.well-known/openid-configuration`)
    ).json()) as Record<string, any>;
    expect(doc.grant_types_supported).toEqual(['authorization_code']);
    expect(doc.response_modes_supported).toEqual(['query']);
    // What an app's library reads of it.
    const metadata = (await promptClient(h.baseUrl, app)).serverMetadata();
    expect(metadata.grant_types_supported).toEqual(['authorization_code']);
    expect(metadata.response_modes_supported).toEqual(['query']);
  });
});

/** Runs the app's redirect and the prompt's pages up to the first page that is not a redirect on our origin. */
async function openPrompt(
  target: RegisteredApp,
  loginHint: string,
  jar = new CookieJar(),
  auth: 'basic' | 'post' = 'basic',
) {
  const config = await promptClient(h.baseUrl, target, auth);
  oidc.enableNonRepudiationChecks(config);
  const started = await pushAuthorization(config, { redirectUri: target.redirectUri, loginHint });
  const { final } = await browse(jar, started.url.href);
  return { config, started, jar, page: final };
}

async function promptAudits(orgId: string) {
  return h.sql<{ data: Record<string, unknown> }[]>`
    select data from audit_events where organization_id = ${orgId} and type = 'prompt_completed'
    order by id`;
}

describe('the SMS second step', () => {
  it('makes the user (JIT), asks the phone, then the code; the same browser then skips it', async () => {
    const sentBefore = h.twilio.messages.length;
    const { config, started, jar, page } = await openPrompt(app, 'newvet@example.com');
    expect(page.status).toBe(200);
    expect(page.body).toContain('name="phone"');
    expect(page.body).toContain('name="cancel"');
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("frame-ancestors 'none'");
    // The form's redirect chain ends on the app: its origin is allowed as a form target.
    expect(csp).toContain("form-action 'self' http://127.0.0.1:9");
    // Nothing is sent before the phone is known.
    expect(h.twilio.messages.length).toBe(sentBefore);
    const [jit] = await h.sql`
      select id, phone, password_hash, role from users
      where organization_id = ${org.id} and email = 'newvet@example.com'`;
    expect(jit).toMatchObject({ phone: null, password_hash: null, role: 'member' });

    const codeStep = await browse(jar, formAction(page.body, h.baseUrl, '/phone'), {
      form: { csrf: csrfOf(page.body), phone: '040 765 4321' },
    });
    expect(codeStep.final.status).toBe(200);
    expect(codeStep.final.body).toContain('name="code"');
    expect(codeStep.final.body).toContain('name="trustDevice"');
    expect(codeStep.final.body).toContain('name="cancel"');
    expect(formAction(codeStep.final.body, h.baseUrl, '/resend')).toMatch(
      /\/prompt\/[\w-]+\/resend$/,
    );
    const code = await h.waitFor(async () => h.lastCodeFor('+358407654321'));

    const wrong = await browse(jar, formAction(codeStep.final.body, h.baseUrl, '/code'), {
      form: { csrf: csrfOf(codeStep.final.body), code: code === '000000' ? '111111' : '000000' },
    });
    expect(wrong.final.status).toBe(422);
    expect(wrong.final.body).toContain('4');

    const back = await browse(jar, formAction(wrong.final.body, h.baseUrl, '/code'), {
      form: { csrf: csrfOf(wrong.final.body), code, trustDevice: 'on' },
    });
    expect(back.final.status).toBe(303);
    const callback = new URL(back.final.location ?? '');
    expect(`${callback.origin}${callback.pathname}`).toBe(app.redirectUri);
    expect(callback.searchParams.get('iss')).toBe(h.baseUrl);
    expect(callback.searchParams.get('state')).toBe(started.state);
    expect(jar.has('twofa_device')).toBe(true);

    const tokens = await redeemCode(config, callback, started);
    expect(tokens.token_type).toBe('bearer');
    expect(typeof tokens.access_token).toBe('string');
    const claims = tokens.claims();
    expect(claims).toMatchObject({
      iss: h.baseUrl,
      aud: app.clientId,
      sub: jit?.id,
      email: 'newvet@example.com',
      amr: ['sms'],
      twofa: { result: 'verified', reason: null },
      nonce: started.nonce,
    });
    expect(typeof claims?.auth_time).toBe('number');
    expect((claims?.exp ?? 0) - (claims?.iat ?? 0)).toBeLessThanOrEqual(600);
    const [user] = await h.sql`select phone from users where id = ${jit?.id}`;
    expect(user?.phone).toBe('+358407654321');

    // The same browser, its device now trusted: straight back, no code, no amr.
    const sent = h.twilio.messages.length;
    const again = await openPrompt(app, 'newvet@example.com', jar);
    expect(again.page.status).toBe(303);
    const againTokens = await redeemCode(
      again.config,
      new URL(again.page.location ?? ''),
      again.started,
    );
    const againClaims = againTokens.claims();
    expect(againClaims?.twofa).toEqual({ result: 'skipped', reason: 'trusted_device' });
    expect(againClaims?.amr).toBeUndefined();
    expect(againClaims?.sub).toBe(jit?.id);
    expect(h.twilio.messages.length).toBe(sent);

    const audits = await promptAudits(org.id);
    expect(audits.map((a) => a.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          appId: app.id,
          userId: jit?.id,
          result: 'verified',
          reason: null,
        }),
        expect.objectContaining({
          appId: app.id,
          userId: jit?.id,
          result: 'skipped',
          reason: 'trusted_device',
        }),
      ]),
    );
  });

  it('a known user with a phone goes to the code step at once', async () => {
    const known = await h.createUser(org.apiKey, {
      email: 'known@example.com',
      phone: '040 222 3344',
    });
    const { config, started, jar, page } = await openPrompt(app, 'Known@Example.com');
    expect(page.status).toBe(200);
    expect(page.body).toContain('name="code"');
    const code = await h.waitFor(async () => h.lastCodeFor('+358402223344'));
    const back = await browse(jar, formAction(page.body, h.baseUrl, '/code'), {
      form: { csrf: csrfOf(page.body), code },
    });
    expect(back.final.status).toBe(303);
    // No trust asked for: no device cookie.
    expect(jar.has('twofa_device')).toBe(false);
    const claims = (await redeemCode(config, new URL(back.final.location ?? ''), started)).claims();
    expect(claims?.sub).toBe(known.id);
    expect(claims?.amr).toEqual(['sms']);
  });
});

describe('ending without a login', () => {
  it('Cancel sends access_denied with state and iss back to the app, and no code', async () => {
    await h.createUser(org.apiKey, { email: 'cancel@example.com', phone: '040 333 4455' });
    const { started, jar, page } = await openPrompt(app, 'cancel@example.com');
    expect(page.body).toContain('name="code"');
    const back = await browse(jar, formAction(page.body, h.baseUrl, '/code'), {
      form: { csrf: csrfOf(page.body), cancel: '1' },
    });
    expect(back.final.status).toBe(303);
    const callback = new URL(back.final.location ?? '');
    expect(`${callback.origin}${callback.pathname}`).toBe(app.redirectUri);
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('error_description')).toBeTruthy();
    expect(callback.searchParams.get('state')).toBe(started.state);
    expect(callback.searchParams.get('iss')).toBe(h.baseUrl);
    expect(callback.searchParams.get('code')).toBeNull();
    const audits = await promptAudits(org.id);
    expect(audits.at(-1)?.data).toMatchObject({
      appId: app.id,
      result: 'denied',
      reason: 'canceled',
    });
  });

  it('Cancel ends the challenge too: canceled, its code no longer verifies, audited with it', async () => {
    const user = await h.createUser(org.apiKey, {
      email: 'cancel-ends@example.com',
      phone: '040 333 5566',
    });
    const { jar, page } = await openPrompt(app, 'cancel-ends@example.com');
    expect(page.body).toContain('name="code"');
    const code = await h.waitFor(async () => h.lastCodeFor('+358403335566'));
    const [open] = await h.sql<{ id: string }[]>`
      select id from challenges where user_id = ${user.id} and status = 'pending'`;
    expect(open).toBeDefined();
    const back = await browse(jar, formAction(page.body, h.baseUrl, '/code'), {
      form: { csrf: csrfOf(page.body), cancel: '1' },
    });
    expect(new URL(back.final.location ?? '').searchParams.get('error')).toBe('access_denied');

    const challenge = await h.request('GET', `/v1/challenges/${open?.id}`, { key: org.apiKey });
    expect(challenge.body.status).toBe('canceled');
    const verify = await h.request('POST', `/v1/challenges/${open?.id}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(verify.status).toBe(409);
    expect(verify.body.code).toBe('challenge_not_pending');
    const [still] = await h.sql`
      select count(*)::int as n from challenges
      where user_id = ${user.id} and status in ('phone_required', 'pending')`;
    expect(still?.n).toBe(0);
    const audits = await promptAudits(org.id);
    expect(audits.at(-1)?.data).toMatchObject({
      appId: app.id,
      userId: user.id,
      result: 'denied',
      reason: 'canceled',
      challengeId: open?.id,
      challengeCanceled: true,
    });
  });

  it('Cancel on the phone step ends its phone_required challenge', async () => {
    const { jar, page } = await openPrompt(app, 'cancel-phone@example.com');
    expect(page.body).toContain('name="phone"');
    const back = await browse(jar, formAction(page.body, h.baseUrl, '/phone'), {
      form: { csrf: csrfOf(page.body), cancel: '1' },
    });
    expect(new URL(back.final.location ?? '').searchParams.get('error')).toBe('access_denied');
    const rows = await h.sql<{ status: string }[]>`
      select c.status from challenges c join users u on u.id = c.user_id
      where u.organization_id = ${org.id} and u.email = 'cancel-phone@example.com'`;
    expect(rows.map((r) => r.status)).toEqual(['canceled']);
  });

  it('a locked user is denied at once and sent nothing', async () => {
    const locked = await h.createUser(org.apiKey, {
      email: 'locked@example.com',
      phone: '040 444 5566',
    });
    await h.sql`update users set locked_until = now() + interval '1 hour' where id = ${locked.id}`;
    const sent = h.twilio.messages.length;
    const { started, page } = await openPrompt(app, 'locked@example.com');
    expect(page.status).toBe(303);
    const callback = new URL(page.location ?? '');
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('state')).toBe(started.state);
    expect(callback.searchParams.get('code')).toBeNull();
    expect(h.twilio.messages.length).toBe(sent);
    const audits = await promptAudits(org.id);
    expect(audits.at(-1)?.data).toMatchObject({
      userId: locked.id,
      result: 'denied',
      reason: 'user_locked',
    });
  });

  it('a challenge that expired while the page was open ends in access_denied', async () => {
    await h.createUser(org.apiKey, { email: 'slow@example.com', phone: '040 555 6677' });
    const { jar, page } = await openPrompt(app, 'slow@example.com');
    expect(page.body).toContain('name="code"');
    await h.sql`
      update challenges set expires_at = now() - interval '1 second'
      where user_id = (select id from users where email = 'slow@example.com')`;
    const back = await browse(jar, formAction(page.body, h.baseUrl, '/code'), {
      form: { csrf: csrfOf(page.body), code: '123456' },
    });
    expect(back.final.status).toBe(303);
    expect(new URL(back.final.location ?? '').searchParams.get('error')).toBe('access_denied');
  });
});

describe('no second factor needed', () => {
  it('answers at once from a trusted network, with client_secret_post', async () => {
    const trusting = await h.createOrganization({ name: 'Office Clinic', country: 'FI' });
    await h.topUp(trusting.id, 10);
    const settings = await h.request('PATCH', '/v1/settings/password', {
      key: trusting.apiKey,
      body: { twoFactorEnabled: true, skipTwoFactorCidrs: ['127.0.0.0/8'] },
    });
    expect(settings.status).toBe(200);
    const officeApp = await registerPromptApp(h, trusting.apiKey, 'https://office.example/cb');
    const sent = h.twilio.messages.length;
    const { config, started, page } = await openPrompt(
      officeApp,
      'desk@office.example',
      undefined,
      'post',
    );
    expect(page.status).toBe(303);
    const callback = new URL(page.location ?? '');
    expect(`${callback.origin}${callback.pathname}`).toBe('https://office.example/cb');
    const claims = (await redeemCode(config, callback, started)).claims();
    expect(claims?.twofa).toEqual({ result: 'skipped', reason: 'trusted_network' });
    expect(claims?.amr).toBeUndefined();
    expect(claims?.email).toBe('desk@office.example');
    expect(h.twilio.messages.length).toBe(sent);
  });

  it('leaves out the email claim without the email scope', async () => {
    const open = await h.createOrganization({ name: 'Open Clinic', country: 'FI' });
    const openApp = await registerPromptApp(h, open.apiKey);
    const config = await promptClient(h.baseUrl, openApp);
    const started = await pushAuthorization(config, {
      redirectUri: openApp.redirectUri,
      loginHint: 'scope@example.com',
      scope: 'openid',
    });
    const { final } = await browse(new CookieJar(), started.url.href);
    const claims = (await redeemCode(config, new URL(final.location ?? ''), started)).claims();
    expect(claims?.twofa).toEqual({ result: 'skipped', reason: 'two_factor_disabled' });
    expect(claims?.email).toBeUndefined();
  });
});

describe('the other ways in the prompt', () => {
  it('offers a backup code, takes it on the code step, and says amr otp', async () => {
    const user = await h.createUser(org.apiKey, {
      email: 'backup-vet@example.com',
      phone: '+358401230077',
    });
    const codes = await h.request('POST', `/v1/users/${user.id}/backup-codes`, {
      key: org.apiKey,
    });
    expect(codes.status).toBe(201);
    const backupCode = (codes.body.codes as string[])[0] ?? '';

    const { config, started, jar, page } = await openPrompt(app, 'backup-vet@example.com');
    expect(page.status).toBe(200);
    expect(page.body).toContain('name="code"');
    const link = /href="(\/prompt\/[\w-]+\/backup-code)"/.exec(page.body)?.[1];
    expect(link).toBeDefined();

    const form = await browse(jar, `${h.baseUrl}${link}`);
    expect(form.final.status).toBe(200);
    expect(form.final.body).toContain('name="backupCode"');
    expect(form.final.body).toContain('name="cancel"');
    const back = await browse(jar, formAction(form.final.body, h.baseUrl, '/code'), {
      form: { csrf: csrfOf(form.final.body), backupCode: backupCode.toUpperCase() },
    });
    expect(back.final.status).toBe(303);
    const tokens = await redeemCode(config, new URL(back.final.location ?? ''), started);
    expect(tokens.claims()).toMatchObject({
      sub: user.id,
      amr: ['otp'],
      twofa: { result: 'verified', reason: null },
    });
    const [left] = await h.sql`
      select count(*)::int as n from backup_codes where user_id = ${user.id} and used_at is null`;
    expect(left?.n).toBe(9);
  });
});
