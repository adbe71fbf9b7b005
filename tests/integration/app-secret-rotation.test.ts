/**
 * APP_SECRET rotated, the old one kept in APP_SECRET_PREVIOUS: a second API on
 * the same database and Redis, started with the new secret, as a rolling
 * deploy does. Organization keys and app secrets are stored only as keyed
 * hashes under the old secret; they keep working, and each moves to the new
 * secret's hash the first time it is used. Without the old secret kept, they
 * are refused.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { type App, closeServices, createApp, createServices, type Services } from '@twofa/api';
import { loadConfig } from '@twofa/config';
import { hashSecret } from '@twofa/core';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  APP_SECRET,
  browse,
  CookieJar,
  captureLogs,
  promptClient,
  pushAuthorization,
  type RegisteredApp,
  readJson,
  registerPromptApp,
  requestInit,
  testEnv,
  withPromptHarness,
} from '../support/index.ts';

const NEW_SECRET = 'rotated-app-secret-0123456789abcdef';
const IP = '198.51.100.7';

const h = withPromptHarness();

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
  it('refuses keys and app secrets hashed under a secret it does not keep', async () => {
    expect((await request(withoutOld, '/v1/sms-balance', org.apiKey)).status).toBe(401);
    const client = await promptClient(withoutOld.baseUrl, promptApp);
    await expect(
      pushAuthorization(client, { redirectUri: promptApp.redirectUri, loginHint: 'a@example.com' }),
    ).rejects.toMatchObject(INVALID_CLIENT);
    // Nothing moved: the old hashes are still there for a deployment that keeps the old secret.
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

  it("takes an app's secret under the old hash for a whole prompt round, and moves it", async () => {
    const client = await promptClient(rotated.baseUrl, promptApp);
    const started = await pushAuthorization(client, {
      redirectUri: promptApp.redirectUri,
      loginHint: 'rotated@example.com',
    });
    const { final } = await browse(new CookieJar(), started.url.href);
    expect(final.status).toBe(303);
    // The ID token is signed with the key sealed under the old secret, opened with it.
    const tokens = await oidc.authorizationCodeGrant(client, new URL(final.location ?? ''), {
      pkceCodeVerifier: started.verifier,
      expectedState: started.state,
      expectedNonce: started.nonce,
    });
    expect(tokens.claims()?.email).toBe('rotated@example.com');
    const moved = hashSecret(NEW_SECRET, 'client-secret', promptApp.clientSecret);
    await h.waitFor(async () => (await storedAppSecretHash()) === moved);
    const fresh = await promptClient(withoutOld.baseUrl, promptApp);
    await expect(
      pushAuthorization(fresh, { redirectUri: promptApp.redirectUri, loginHint: 'b@example.com' }),
    ).resolves.toMatchObject({ state: expect.any(String) });
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
