/**
 * The hosted prompt over real HTTP: the in-process harness's app on a real
 * node server (oidc-provider needs node's request and response), a small
 * cookie jar standing in for a browser, and openid-client as the app.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import * as oidc from 'openid-client';
import { fileFixture } from './fixture.ts';
import { createHarness, type Harness, type HarnessOptions } from './harness.ts';

export interface PromptHarness extends Harness {
  /** The server's origin, also the issuer (PUBLIC_BASE_URL). */
  baseUrl: string;
  server: Server;
}

/**
 * A harness whose app also listens on 127.0.0.1: the port is taken first, so
 * PUBLIC_BASE_URL (the issuer) can name it.
 */
export async function createPromptHarness(options: HarnessOptions = {}): Promise<PromptHarness> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;
  const harness = await createHarness({
    ...options,
    env: { PUBLIC_BASE_URL: baseUrl, ...options.env },
  });
  server.on('request', getRequestListener(harness.app.fetch));
  const close = harness.close;
  return Object.assign(harness, {
    baseUrl,
    server,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await close();
    },
  });
}

/** The Redis keys of the prompt's stored models of one kind (`PushedAuthorizationRequest`, ...). */
export async function promptModelKeys(h: Harness, kind: string): Promise<string[]> {
  return h.services.redis.keys(h.services.promptStore.key(kind, '*'));
}

interface StoredCookie {
  value: string;
  path: string;
}

/** A browser's cookies for one origin, by name and path; enough for the prompt's redirects. */
export class CookieJar {
  readonly cookies = new Map<string, StoredCookie>();

  store(res: Response, requestPath: string): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = requestPath.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key = '', attrValue = ''] = attribute.split('=');
        if (key.toLowerCase() === 'path') path = attrValue;
        if (key.toLowerCase() === 'max-age' && Number(attrValue) <= 0) expired = true;
        if (key.toLowerCase() === 'expires' && Date.parse(attrValue) < Date.now()) expired = true;
      }
      const key = `${name}|${path}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { value, path });
    }
  }

  header(path: string): string {
    return [...this.cookies.entries()]
      .filter(
        ([, cookie]) => path === cookie.path || path.startsWith(cookie.path.replace(/\/?$/, '/')),
      )
      .map(([key, cookie]) => `${key.split('|')[0]}=${cookie.value}`)
      .join('; ');
  }

  has(name: string): boolean {
    return [...this.cookies.keys()].some((key) => key.startsWith(`${name}|`));
  }
}

export interface BrowserResponse {
  status: number;
  url: string;
  location: string | null;
  body: string;
  headers: Headers;
}

/** One request as a browser makes it on our origin: its cookies, no redirect followed. */
export async function browserRequest(
  jar: CookieJar,
  url: string,
  init: { method?: string; form?: Record<string, string> } = {},
): Promise<BrowserResponse> {
  const target = new URL(url);
  // What a browser sends for a page: errors it meets are shown as pages, not JSON.
  const headers: Record<string, string> = {
    accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'accept-language': 'en',
  };
  const cookie = jar.header(target.pathname);
  if (cookie) headers.cookie = cookie;
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  }
  const res = await fetch(target, {
    method: init.method ?? (init.form ? 'POST' : 'GET'),
    headers,
    body,
    redirect: 'manual',
  });
  jar.store(res, target.pathname);
  const location = res.headers.get('location');
  return {
    status: res.status,
    url: target.href,
    location: location ? new URL(location, target).href : null,
    body: await res.text(),
    headers: res.headers,
  };
}

/**
 * Follows redirects on `origin` as a browser does, stopping at the first
 * answer that is not a redirect or a redirect that leaves the origin (the
 * app's redirect URI): that last response is returned.
 */
export async function browse(
  jar: CookieJar,
  url: string,
  init: { form?: Record<string, string> } = {},
): Promise<{ final: BrowserResponse; hops: BrowserResponse[] }> {
  const hops: BrowserResponse[] = [];
  let res = await browserRequest(jar, url, init);
  hops.push(res);
  const origin = new URL(url).origin;
  while (res.location && res.status >= 300 && res.status < 400) {
    if (new URL(res.location).origin !== origin) break;
    res = await browserRequest(jar, res.location);
    hops.push(res);
  }
  return { final: res, hops };
}

/** A form's hidden CSRF field in a page. */
export function csrfOf(html: string): string {
  const match = /name="csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error(`no csrf field in page:\n${html.slice(0, 500)}`);
  return match[1];
}

/** The action of the page's first form posting to `suffix`. */
export function formAction(html: string, baseUrl: string, suffix: string): string {
  const actions = [...html.matchAll(/<form method="post" action="([^"]+)"/g)].map(
    (m) => m[1] ?? '',
  );
  const action = actions.find((a) => a.endsWith(suffix));
  if (!action) throw new Error(`no form posting to *${suffix}: ${actions.join(', ')}`);
  return new URL(action, baseUrl).href;
}

export interface RegisteredApp {
  id: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
}

export async function registerPromptApp(
  h: Harness,
  apiKey: string,
  redirectUri = 'http://127.0.0.1:9/callback',
): Promise<RegisteredApp> {
  const res = await h.request('POST', '/v1/apps', {
    key: apiKey,
    body: { name: 'Clinic app', redirectUris: [redirectUri] },
  });
  if (res.status !== 201)
    throw new Error(`register app: ${res.status} ${JSON.stringify(res.body)}`);
  return {
    id: res.body.id,
    clientId: res.body.clientId,
    clientSecret: res.body.clientSecret,
    redirectUri,
  };
}

/** openid-client's view of the service as one app: discovery, with http allowed on loopback. */
export async function promptClient(
  baseUrl: string,
  app: Pick<RegisteredApp, 'clientId' | 'clientSecret'>,
  auth: 'basic' | 'post' = 'basic',
): Promise<oidc.Configuration> {
  const method =
    auth === 'basic'
      ? oidc.ClientSecretBasic(app.clientSecret)
      : oidc.ClientSecretPost(app.clientSecret);
  return oidc.discovery(new URL(baseUrl), app.clientId, app.clientSecret, method, {
    execute: [oidc.allowInsecureRequests],
  });
}

export interface StartedAuthorization {
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

/** The app's side of step 2: a pushed request with PKCE, answered with the URL to send the browser to. */
export async function pushAuthorization(
  config: oidc.Configuration,
  params: { redirectUri: string; loginHint: string; scope?: string },
): Promise<StartedAuthorization> {
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = await oidc.buildAuthorizationUrlWithPAR(config, {
    redirect_uri: params.redirectUri,
    scope: params.scope ?? 'openid email',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    login_hint: params.loginHint,
  });
  return { url, verifier, state, nonce };
}

/** The app's last step: the code on `callback` redeemed with what `pushAuthorization` kept. */
export function redeemCode(
  config: oidc.Configuration,
  callback: URL,
  started: Pick<StartedAuthorization, 'verifier' | 'state' | 'nonce'>,
) {
  return oidc.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: started.verifier,
    expectedState: started.state,
    expectedNonce: started.nonce,
  });
}

/** A prompt harness for this file's tests: created before them, closed after them. */
export function withPromptHarness(options: HarnessOptions = {}): PromptHarness {
  return fileFixture(
    'withPromptHarness()',
    () => createPromptHarness(options),
    (h) => h.close(),
  );
}
