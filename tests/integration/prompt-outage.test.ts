/**
 * The hosted prompt while Redis (its short-lived state, the pushed-request
 * limit) or Postgres (the apps table) does not answer. The app and worker reach
 * both through relays this test cuts; the shared servers keep their data, so
 * what was under way carries on once the relay is back. Each refusal says what
 * it is (`temporarily_unavailable`, 503 with Retry-After, or the page that asks
 * to try again) and decides nothing: not `invalid_client`, not the page for a
 * link that is no good, not a used-up code.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  browse,
  browserRequest,
  CookieJar,
  createPromptHarness,
  csrfOf,
  formAction,
  type PromptHarness,
  promptClient,
  pushAuthorization,
  type RegisteredApp,
  redeemCode,
  registerPromptApp,
  startTcpProxy,
  type TcpProxy,
  TEST_PG_BASE,
  viaProxy,
} from '../support/index.ts';

let h: PromptHarness;
let pgProxy: TcpProxy;
let redisProxy: TcpProxy;
let org: { id: string; apiKey: string };
let app: RegisteredApp;
let openApp: RegisteredApp;

beforeAll(async () => {
  const pg = new URL(TEST_PG_BASE);
  pgProxy = await startTcpProxy({ host: pg.hostname, port: Number(pg.port || 5432) });
  const redis = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  redisProxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
  redis.hostname = '127.0.0.1';
  redis.port = String(redisProxy.port);
  h = await createPromptHarness({
    worker: true,
    databaseUrl: (url) => viaProxy(url, pgProxy.port),
    env: { REDIS_URL: redis.toString() },
  });
  org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
  await h.topUp(org.id, 100);
  await h.enableTwoFactor(org.apiKey);
  app = await registerPromptApp(h, org.apiKey, 'http://127.0.0.1:9/cb');
  const openOrg = await h.createOrganization({ name: 'Open Clinic', country: 'FI' });
  openApp = await registerPromptApp(h, openOrg.apiKey, 'http://127.0.0.1:9/open');
}, 60_000);

afterAll(async () => {
  await redisProxy?.restore();
  await pgProxy?.restore();
  await h?.close();
  await redisProxy?.close();
  await pgProxy?.close();
});

/** Cuts one relay for the duration of `during`, then waits until the prompt answers again. */
async function whileDown(proxy: TcpProxy, during: () => Promise<void>): Promise<void> {
  await proxy.cut();
  try {
    await during();
  } finally {
    await proxy.restore();
  }
  await h.waitFor(async () => {
    const ready = await h.request('GET', '/ready');
    return ready.status === 200;
  }, 20_000);
}

/** openid-client as the app, and the request it pushed for `loginHint`. */
async function pushed(target: RegisteredApp, loginHint: string) {
  const client = await promptClient(h.baseUrl, target);
  const started = await pushAuthorization(client, { redirectUri: target.redirectUri, loginHint });
  return { client, started };
}

/** A pushed request as an app makes it, by hand, to read the raw answer. */
async function rawPar(target: RegisteredApp, config: oidc.Configuration) {
  const endpoint = config.serverMetadata().pushed_authorization_request_endpoint ?? '';
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${target.clientId}:${target.clientSecret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      response_type: 'code',
      client_id: target.clientId,
      redirect_uri: target.redirectUri,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      login_hint: 'raw@example.com',
    }),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, any>,
  };
}

function expectUnavailable(res: { status: number; headers: Headers; body: Record<string, any> }) {
  expect(res.status).toBe(503);
  expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(res.body.error).toBe('temporarily_unavailable');
  expect(typeof res.body.error_description).toBe('string');
}

function expectUnavailablePage(page: {
  status: number;
  location: string | null;
  body: string;
  headers: Headers;
}) {
  expect(page.status).toBe(503);
  expect(page.location).toBeNull();
  expect(page.headers.get('retry-after')).toMatch(/^\d+$/);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(page.body).toContain('Temporarily unavailable');
  expect(page.body).not.toContain('cannot continue');
}

/** How openid-client reports a 503: not an OAuth error body (those are 4xx), the response itself. */
const UNAVAILABLE_TO_CLIENT = {
  code: 'OAUTH_RESPONSE_IS_NOT_CONFORM',
  cause: expect.objectContaining({ status: 503 }),
};

const stored = async (kind: string) =>
  (await h.services.redis.keys(h.services.promptStore.key(kind, '*'))).length;

describe('Redis down', () => {
  it('answers a pushed request 503 temporarily_unavailable, and takes it once Redis is back', async () => {
    const client = await promptClient(h.baseUrl, openApp);
    const before = await stored('PushedAuthorizationRequest');
    await whileDown(redisProxy, async () => {
      expectUnavailable(await rawPar(openApp, client));
      // openid-client reads error bodies of 4xx answers only: a 5xx is a failure to retry.
      await expect(
        pushAuthorization(client, { redirectUri: openApp.redirectUri, loginHint: 'x@example.com' }),
      ).rejects.toMatchObject(UNAVAILABLE_TO_CLIENT);
    });
    expect(await stored('PushedAuthorizationRequest')).toBe(before);
    const after = await rawPar(openApp, client);
    expect(after.status).toBe(201);
  });

  it('shows the try-again page for a link opened meanwhile, and the same link works after', async () => {
    const { client, started } = await pushed(openApp, 'later@example.com');
    const jar = new CookieJar();
    await whileDown(redisProxy, async () => {
      expectUnavailablePage(await browserRequest(jar, started.url.href));
    });
    const { final } = await browse(jar, started.url.href);
    expect(final.status).toBe(303);
    const tokens = await redeemCode(client, new URL(final.location ?? ''), started);
    expect(tokens.claims()?.email).toBe('later@example.com');
  });

  it('keeps the code step: a code posted meanwhile gets the try-again page, and counts after', async () => {
    await h.createUser(org.apiKey, { email: 'midway@example.com', phone: '040 555 6677' });
    const { client, started } = await pushed(app, 'midway@example.com');
    const jar = new CookieJar();
    const { final: page } = await browse(jar, started.url.href);
    expect(page.status).toBe(200);
    const code = await h.waitFor(async () => h.lastCodeFor('+358405556677'));
    const post = () =>
      browse(jar, formAction(page.body, h.baseUrl, '/code'), {
        form: { csrf: csrfOf(page.body), code },
      });
    await whileDown(redisProxy, async () => {
      expectUnavailablePage((await post()).final);
    });
    const back = await post();
    expect(back.final.status).toBe(303);
    const callback = new URL(back.final.location ?? '');
    expect(callback.searchParams.get('code')).toBeTruthy();
    const tokens = await redeemCode(client, callback, started);
    expect(tokens.claims()?.amr).toEqual(['sms']);
  });

  it('answers a code redeemed meanwhile 503 and leaves it to redeem once after', async () => {
    const { client, started } = await pushed(openApp, 'redeem@example.com');
    const { final } = await browse(new CookieJar(), started.url.href);
    const callback = new URL(final.location ?? '');
    const redeem = () => redeemCode(client, callback, started);
    await whileDown(redisProxy, async () => {
      await expect(redeem()).rejects.toMatchObject(UNAVAILABLE_TO_CLIENT);
    });
    expect((await redeem()).id_token).toBeTruthy();
    await expect(redeem()).rejects.toMatchObject({ error: 'invalid_grant' });
  });
});

describe('Postgres down', () => {
  it('answers 503 temporarily_unavailable, not invalid_client, and the try-again page', async () => {
    const { client, started } = await pushed(openApp, 'pg@example.com');
    const jar = new CookieJar();
    await whileDown(pgProxy, async () => {
      expectUnavailable(await rawPar(openApp, client));
      expectUnavailablePage(await browserRequest(jar, started.url.href));
    });
    const { final } = await browse(jar, started.url.href);
    expect(final.status).toBe(303);
    expect(new URL(final.location ?? '').searchParams.get('code')).toBeTruthy();
  });
});

it('logs no code, token or secret while refusing', () => {
  const logged = JSON.stringify(h.logs.lines);
  expect(logged).not.toContain(app.clientSecret);
  expect(logged).not.toContain(openApp.clientSecret);
  expect(logged).toContain('prompt state unavailable');
});
