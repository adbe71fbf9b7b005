import { createPublicKey, type JsonWebKey, verify } from 'node:crypto';
import { getRequestListener } from '@hono/node-server';
import { closeServices, createApp, createServices, type Services } from '@twofa/api';
import { loadSigningKeys } from '@twofa/api/signing-keys';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browse,
  CookieJar,
  promptClient,
  pushAuthorization,
  type RegisteredApp,
  registerPromptApp,
  runCli,
  testEnv,
  withPromptHarness,
} from '../support/index.ts';

const h = withPromptHarness({ worker: false });
let app: RegisteredApp;
const started: Services[] = [];

beforeAll(async () => {
  const org = await h.createOrganization({ name: 'Open Clinic', country: 'FI' });
  app = await registerPromptApp(h, org.apiKey);
});

afterAll(async () => {
  for (const services of started) await closeServices(services);
});

/**
 * A restart: new services and a new app over the same database and URL.
 * The listening socket stays; every request from now on reaches the new app.
 */
function restartApi(): Services {
  const services = createServices(h.config, { logger: h.logs.logger });
  started.push(services);
  h.server.removeAllListeners('request');
  h.server.on('request', getRequestListener(createApp(services).fetch));
  return services;
}

async function idToken(): Promise<string> {
  const config = await promptClient(h.baseUrl, app);
  oidc.enableNonRepudiationChecks(config);
  const auth = await pushAuthorization(config, {
    redirectUri: app.redirectUri,
    loginHint: 'keys@example.com',
  });
  const { final } = await browse(new CookieJar(), auth.url.href);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(final.location ?? ''), {
    pkceCodeVerifier: auth.verifier,
    expectedState: auth.state,
    expectedNonce: auth.nonce,
  });
  if (!tokens.id_token) throw new Error('no id_token');
  return tokens.id_token;
}

function kidOf(jws: string): string {
  const header = JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString());
  expect(header.alg).toBe('RS256');
  return header.kid;
}

async function publishedKids(): Promise<string[]> {
  const res = await fetch(`${h.baseUrl}/oidc/jwks`);
  const { keys } = (await res.json()) as { keys: Record<string, string>[] };
  for (const key of keys) expect(key.d).toBeUndefined();
  return keys.map((key) => key.kid ?? '');
}

/** Checks an ID token's RS256 signature against the JWKS the API publishes now. */
async function verifiesAgainstJwks(jws: string): Promise<boolean> {
  const res = await fetch(`${h.baseUrl}/oidc/jwks`);
  const { keys } = (await res.json()) as { keys: (JsonWebKey & { kid: string })[] };
  const jwk = keys.find((key) => key.kid === kidOf(jws));
  if (!jwk) return false;
  const [header, payload, signature] = jws.split('.');
  return verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    createPublicKey({ key: jwk, format: 'jwk' }),
    Buffer.from(signature ?? '', 'base64url'),
  );
}

const cli = (...args: string[]) =>
  runCli(testEnv(h.databaseUrl, h.queuePrefix, h.twilio.url, { DB_POOL_SIZE: '2' }), ...args);

describe('signing keys in Postgres', { timeout: 120_000 }, () => {
  it('keeps one key across a restart, then rotates with the old key still published', async () => {
    const before = await idToken();
    const firstKid = kidOf(before);
    const rows = await h.sql`select kid, public_jwk, sealed_private_jwk from oidc_signing_keys`;
    expect(rows).toHaveLength(1);
    expect(rows[0]?.kid).toBe(firstKid);
    expect(rows[0]?.sealed_private_jwk).toMatch(/^v1\./);
    expect(JSON.stringify(rows[0]?.public_jwk)).not.toContain('"d"');

    restartApi();
    expect(await publishedKids()).toEqual([firstKid]);
    expect(await verifiesAgainstJwks(before)).toBe(true);
    expect(kidOf(await idToken())).toBe(firstKid);

    const rotated = await cli('keys:rotate');
    expect(rotated.code).toBe(0);
    expect(rotated.json).toMatchObject({ retired: [firstKid] });
    const newKid = rotated.json.kid as string;
    expect(newKid).not.toBe(firstKid);

    restartApi();
    // The active key first, the retired one still there: tokens it signed verify until they expire.
    expect(await publishedKids()).toEqual([newKid, firstKid]);
    expect(await verifiesAgainstJwks(before)).toBe(true);
    const after = await idToken();
    expect(kidOf(after)).toBe(newKid);
    expect(await verifiesAgainstJwks(after)).toBe(true);

    // Once everything it signed has expired, the old key is no longer published.
    await h.sql`update oidc_signing_keys set retired_at = now() - interval '1 hour' where kid = ${firstKid}`;
    restartApi();
    expect(await publishedKids()).toEqual([newKid]);
    expect(await verifiesAgainstJwks(before)).toBe(false);
  });

  it('creates one key when replicas start at once on an empty table', async () => {
    await h.sql`delete from oidc_signing_keys`;
    const replicas = [restartApi(), restartApi(), restartApi()];
    const loaded = await Promise.all(
      replicas.map((services) => loadSigningKeys(services.db, services.config.appSecrets)),
    );
    const kids = loaded.map((keys) => keys.map((key) => key.kid));
    expect(new Set(kids.map((k) => k.join()))).toEqual(new Set([kids[0]?.join()]));
    expect(kids[0]).toHaveLength(1);
    const [row] = await h.sql<{ n: number }[]>`select count(*)::int as n from oidc_signing_keys`;
    expect(row?.n).toBe(1);
  });
});
