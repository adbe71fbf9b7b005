/**
 * APP_SECRET rotated, the old one kept in APP_SECRET_PREVIOUS: a second API on
 * the same database and Redis, started with the new secret, as a rolling
 * deploy does. Organization keys and app secrets are stored only as keyed
 * hashes under the old secret; they keep working, and each moves to the new
 * secret's hash the first time it is used; trusted devices, codes sent by a
 * worker still on the old secret and the prompt's codes stay good. Without the
 * old secret kept, they are refused. `secrets:reseal` then moves the sealed
 * secrets (authenticator, webhook, signing keys) so the old secret can go.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { type App, closeServices, createApp, createServices, type Services } from '@twofa/api';
import { loadConfig } from '@twofa/config';
import { hashSecret, openSecret, type SealPurpose } from '@twofa/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Browser, csrfOf } from '../pages/support.ts';
import {
  ADMIN_KEY,
  APP_SECRET,
  browse,
  CookieJar,
  captureLogs,
  type Harness,
  promptClient,
  pushAuthorization,
  type RegisteredApp,
  readJson,
  redeemCode,
  registerPromptApp,
  requestInit,
  runCli,
  testEnv,
  withPromptHarness,
} from '../support/index.ts';

const PAGE_PASSWORD = 'correct horse battery staple';
const NEW_SECRET = 'rotated-app-secret-0123456789abcdef';
const IP = '198.51.100.7';

const h = withPromptHarness({ env: { WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true' } });

/** How openid-client reports `401 invalid_client`: the WWW-Authenticate challenge it came with. */
const INVALID_CLIENT = {
  status: 401,
  cause: [
    expect.objectContaining({ parameters: expect.objectContaining({ error: 'invalid_client' }) }),
  ],
};

interface Deployment {
  services: Services;
  app: App;
  server: Server;
  baseUrl: string;
}

/** An API on the harness's database and queue prefix, listening on a port of its own. */
async function deploy(env: Record<string, string>): Promise<Deployment> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig(
    testEnv(h.databaseUrl, h.queuePrefix, h.twilio.url, { PUBLIC_BASE_URL: baseUrl, ...env }),
  );
  const services = createServices(config, { logger: captureLogs('api').logger });
  const app = createApp(services);
  server.on('request', getRequestListener(app.fetch));
  return { services, app, server, baseUrl };
}

async function undeploy(d: Deployment | undefined): Promise<void> {
  if (!d) return;
  d.server.closeAllConnections();
  await new Promise<void>((resolve) => d.server.close(() => resolve()));
  await closeServices(d.services);
}

const request = async (d: Deployment, path: string, key: string) =>
  readJson(await d.app.request(path, requestInit('GET', { key })));

let rotated: Deployment;
let withoutOld: Deployment;
let org: { id: string; apiKey: string };
let promptApp: RegisteredApp;

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Rotating Clinic', country: 'FI' });
  promptApp = await registerPromptApp(h, org.apiKey, 'http://127.0.0.1:9/rotated');
  // The signing key exists before the rotation, sealed under the old secret.
  await promptClient(h.baseUrl, promptApp);
  rotated = await deploy({ APP_SECRET: NEW_SECRET, APP_SECRET_PREVIOUS: APP_SECRET });
  withoutOld = await deploy({ APP_SECRET: NEW_SECRET });
});

afterAll(async () => {
  await undeploy(rotated);
  await undeploy(withoutOld);
});

const storedKeyHash = async () =>
  (
    await h.sql<{ keyHash: string }[]>`
      select key_hash as "keyHash" from api_keys where organization_id = ${org.id}`
  )[0]?.keyHash;

const storedAppSecretHash = async () =>
  (
    await h.sql<{ hash: string }[]>`
      select client_secret_hash as hash from apps where client_id = ${promptApp.clientId}`
  )[0]?.hash;

/** An organization with 2FA on, credit and one user; `post` calls a deployment with its key. */
async function clinicWithUser(name: string, user: Record<string, string>) {
  const clinic = await h.createOrganization({ name, country: 'FI' });
  await h.topUp(clinic.id, 10);
  await h.enableTwoFactor(clinic.apiKey);
  const created = await h.createUser(clinic.apiKey, user);
  const post = async (d: Deployment, path: string, body: Record<string, unknown>) =>
    readJson(await d.app.request(path, requestInit('POST', { key: clinic.apiKey, body })));
  return { clinic, user: created, post };
}

describe('after APP_SECRET rotates', () => {
  it('refuses a key hashed under a secret it does not keep, and moves nothing', async () => {
    expect((await request(withoutOld, '/v1/sms-balance', org.apiKey)).status).toBe(401);
    // Nothing moved: the old hash is still there for a deployment that keeps the old secret.
    expect(await storedKeyHash()).toBe(hashSecret(APP_SECRET, 'api-key', org.apiKey));
  });

  it('takes an organization key under the old hash and moves it to the new one', async () => {
    expect((await request(rotated, '/v1/sms-balance', org.apiKey)).status).toBe(200);
    expect(await storedKeyHash()).toBe(hashSecret(NEW_SECRET, 'api-key', org.apiKey));
    // The platform key is configured, not stored: it works under any APP_SECRET.
    expect((await request(rotated, `/v1/organizations/${org.id}`, ADMIN_KEY)).status).toBe(200);
    // Moved: a deployment with only the new secret takes it now.
    expect((await request(withoutOld, '/v1/sms-balance', org.apiKey)).status).toBe(200);
  });

  it('keeps a device trusted before the rotation trusted, on both ways to start a login', async () => {
    const { clinic, user, post } = await clinicWithUser('Trusting Clinic', {
      email: 'trusted@example.com',
      password: 'correct horse battery',
      phone: '040 777 8899',
    });
    const login = { email: 'trusted@example.com', password: 'correct horse battery', ip: IP };
    const started = await h.request('POST', '/v1/logins', { key: clinic.apiKey, body: login });
    const challengeId = started.body.challenge.id as string;
    const code = await h.waitFor(async () => h.lastCodeFor('+358407778899'));
    const verified = await h.request('POST', `/v1/challenges/${challengeId}/verify`, {
      key: clinic.apiKey,
      body: { code },
    });
    const deviceToken = verified.body.deviceToken as string;
    expect(deviceToken).toEqual(expect.any(String));

    const trusted = { result: 'authenticated', userId: user.id, reason: 'trusted_device' };
    const start = (d: Deployment, path: string, body: Record<string, unknown>) =>
      post(d, path, { ...body, deviceToken });
    expect((await start(rotated, '/v1/logins', login)).body).toEqual(trusted);
    expect((await start(rotated, '/v1/challenges', { userId: user.id, ip: IP })).body).toEqual(
      trusted,
    );
    // Without the old secret the device is not recognised: a code is asked for.
    const untrusted = await start(withoutOld, '/v1/challenges', { userId: user.id, ip: IP });
    expect(untrusted.body.result).toBe('challenge_required');
  });

  it('takes a code sent by a worker still on the old secret (APIs first, then workers)', async () => {
    const { user, post: call } = await clinicWithUser('Deploying Clinic', {
      email: 'deploy@example.com',
      phone: '040 666 1122',
    });
    // The rotated API starts the login; the harness's worker, on the old secret, sends the code.
    const started = await call(rotated, '/v1/challenges', { userId: user.id, ip: IP });
    const challengeId = started.body.challenge.id as string;
    const code = await h.waitFor(async () => h.lastCodeFor('+358406661122'));
    const verifyPath = `/v1/challenges/${challengeId}/verify`;
    const refused = await call(withoutOld, verifyPath, { code });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('invalid_code');
    const verified = await call(rotated, verifyPath, { code });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ result: 'authenticated', userId: user.id });
  });

  it('redeems a code issued just before the rotation, at the same address after it', async () => {
    // The rotated API takes over the harness's own address (and issuer), as a rolling deploy does.
    const successor = await deploy({
      APP_SECRET: NEW_SECRET,
      APP_SECRET_PREVIOUS: APP_SECRET,
      PUBLIC_BASE_URL: h.baseUrl,
    });
    const openOrg = await h.createOrganization({ name: 'Open Clinic', country: 'FI' });
    const openApp = await registerPromptApp(h, openOrg.apiKey, 'http://127.0.0.1:9/open');
    const client = await promptClient(h.baseUrl, openApp);
    const started = await pushAuthorization(client, {
      redirectUri: openApp.redirectUri,
      loginHint: 'just-before@example.com',
    });
    const { final } = await browse(new CookieJar(), started.url.href);
    const callback = new URL(final.location ?? '');
    const listeners = h.server.listeners('request');
    h.server.removeAllListeners('request');
    h.server.on('request', getRequestListener(successor.app.fetch));
    try {
      const redeem = () => redeemCode(client, callback, started);
      expect((await redeem()).claims()?.email).toBe('just-before@example.com');
      // Still once only.
      await expect(redeem()).rejects.toMatchObject({ error: 'invalid_grant' });
    } finally {
      h.server.removeAllListeners('request');
      for (const listener of listeners) h.server.on('request', listener as never);
      await undeploy(successor);
    }
  });

  it('keeps a page sign-in, and a form rendered before the rotation, good after it', async () => {
    const clinic = await h.createOrganization({ name: 'Page Clinic', country: 'FI' });
    await h.createUser(clinic.apiKey, { email: 'pages@example.com', password: PAGE_PASSWORD });
    const before = new Browser(h);
    const login = await before.submit(`/login?org=${clinic.id}`, '/login', {
      org: clinic.id,
      email: 'pages@example.com',
      password: PAGE_PASSWORD,
    });
    expect(login.location).toBe('/account');
    const account = await before.get('/account');
    expect(account.status).toBe(200);
    // The same browser, its cookies as they are, on another deployment.
    const on = (d: Deployment) => {
      const browser = new Browser({ app: d.app } as unknown as Harness);
      for (const [name, value] of before.cookies) browser.cookies.set(name, value);
      return browser;
    };
    expect((await on(withoutOld).get('/account')).status).not.toBe(200);
    const after = on(rotated);
    expect((await after.get('/account')).status).toBe(200);
    // The log-out form's CSRF token was made under the old secret.
    const out = await after.post('/logout', { csrf: csrfOf(account.html) });
    expect(out.status).toBe(303);
    expect((await after.get('/account')).status).not.toBe(200);
    expect((await before.get('/account')).status).not.toBe(200);
  });

  it('still refuses a wrong app secret', async () => {
    const client = await promptClient(rotated.baseUrl, {
      ...promptApp,
      clientSecret: `${promptApp.clientSecret}x`,
    });
    await expect(
      pushAuthorization(client, { redirectUri: promptApp.redirectUri, loginHint: 'c@example.com' }),
    ).rejects.toMatchObject(INVALID_CLIENT);
  });
});

/** `npm run cli -- <args>` on the harness's database, with `env` on top (the secrets). */
const cli = (env: Record<string, string>, ...args: string[]) =>
  runCli(
    testEnv(h.databaseUrl, h.queuePrefix, h.twilio.url, { DB_POOL_SIZE: '2', ...env }),
    ...args,
  );

/** After `secrets:reseal`: an API with the new secret alone, as after the old one was dropped. */
let alone: Deployment;

describe('secrets:reseal, then without the old secret', { timeout: 120_000 }, () => {
  afterAll(() => undeploy(alone));

  it('moves every sealed secret to the new APP_SECRET, so the old one can go', async () => {
    const clinic = await h.createOrganization({ name: 'Sealing Clinic', country: 'FI' });
    const user = await h.createUser(clinic.apiKey, { email: 'sealed@example.com' });
    const enrolled = await h.request('POST', `/v1/users/${user.id}/totp`, { key: clinic.apiKey });
    expect(enrolled.status).toBe(201);
    const webhook = await h.request('POST', '/v1/webhooks', {
      key: clinic.apiKey,
      body: { url: 'http://127.0.0.1:9/twofa-hook' },
    });
    expect(webhook.status).toBe(201);
    const sealed = async () => [
      ...(
        await h.sql<{ key: string; sealed: string }[]>`
          select user_id::text as key, secret_sealed as sealed from authenticators`
      ).map((row) => ({ ...row, purpose: 'totp-secret' as SealPurpose })),
      ...(
        await h.sql<{ key: string; sealed: string }[]>`
          select id::text as key, secret_sealed as sealed from webhooks`
      ).map((row) => ({ ...row, purpose: 'webhook-secret' as SealPurpose })),
      ...(
        await h.sql<{ key: string; sealed: string }[]>`
          select kid as key, sealed_private_jwk as sealed from oidc_signing_keys`
      ).map((row) => ({ ...row, purpose: 'oidc-signing-key' as SealPurpose })),
    ];
    const opensWith = async (secrets: string[]) =>
      (await sealed()).every(({ key, sealed: value, purpose }) => {
        try {
          openSecret(secrets, purpose, value, key);
          return true;
        } catch {
          return false;
        }
      });
    const plaintexts = async () =>
      (await sealed()).map(({ key, sealed: value, purpose }) =>
        openSecret([NEW_SECRET, APP_SECRET], purpose, value, key),
      );
    const before = await plaintexts();
    expect(await opensWith([NEW_SECRET])).toBe(false);

    const rotatedEnv = { APP_SECRET: NEW_SECRET, APP_SECRET_PREVIOUS: APP_SECRET };
    const first = await cli(rotatedEnv, 'secrets:reseal');
    expect(first.code).toBe(0);
    expect(first.json).toMatchObject({
      authenticators: { resealed: 1, unreadable: 0 },
      webhooks: { resealed: 1, unreadable: 0 },
      oidc_signing_keys: { resealed: expect.any(Number), unreadable: 0 },
    });
    expect(first.json.oidc_signing_keys.resealed).toBeGreaterThanOrEqual(1);
    // The same secrets, now under the new APP_SECRET alone.
    expect(await opensWith([NEW_SECRET])).toBe(true);
    expect(await plaintexts()).toEqual(before);
    const again = await cli(rotatedEnv, 'secrets:reseal');
    expect(again.json.authenticators).toEqual({ resealed: 0, unreadable: 0 });

    // A deployment without the old secret signs ID tokens with the re-sealed key.
    alone = await deploy({ APP_SECRET: NEW_SECRET });
    expect((await fetch(`${alone.baseUrl}/oidc/jwks`)).status).toBe(200);
    // Without the secret a value was sealed under, it is counted, not changed.
    const stranger = await cli(
      { APP_SECRET: 'another-app-secret-0123456789abcd' },
      'secrets:reseal',
    );
    expect(stranger.code).toBe(0);
    expect(stranger.json.authenticators).toEqual({ resealed: 0, unreadable: 1 });
  });

  it("takes an app's secret under the old hash for a whole prompt round, and moves it", async () => {
    // Without the old secret the app's secret, still under the old hash, is refused.
    const early = await promptClient(alone.baseUrl, promptApp);
    await expect(
      pushAuthorization(early, { redirectUri: promptApp.redirectUri, loginHint: 'a@example.com' }),
    ).rejects.toMatchObject(INVALID_CLIENT);
    const client = await promptClient(rotated.baseUrl, promptApp);
    const started = await pushAuthorization(client, {
      redirectUri: promptApp.redirectUri,
      loginHint: 'rotated@example.com',
    });
    const { final } = await browse(new CookieJar(), started.url.href);
    expect(final.status).toBe(303);
    const tokens = await redeemCode(client, new URL(final.location ?? ''), started);
    expect(tokens.claims()?.email).toBe('rotated@example.com');
    const moved = hashSecret(NEW_SECRET, 'client-secret', promptApp.clientSecret);
    await h.waitFor(async () => (await storedAppSecretHash()) === moved);
    const fresh = await promptClient(alone.baseUrl, promptApp);
    await expect(
      pushAuthorization(fresh, { redirectUri: promptApp.redirectUri, loginHint: 'b@example.com' }),
    ).resolves.toMatchObject({ state: expect.any(String) });
  });
});
