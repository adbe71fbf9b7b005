/**
 * A clinic's web app with its own password login, and twofa's hosted prompt as the second
 * step: after the password, a pushed authorization request (PAR) with PKCE, the browser to
 * twofa, and back with a code that the server redeems for an ID token it verifies.
 * Everything OpenID Connect is openid-client's; this file only decides what to do with it.
 */
import { randomBytes } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { csrf } from 'hono/csrf';
import { html } from 'hono/html';
import * as oidc from 'openid-client';
import type { Users } from './users.ts';

export interface ClinicOptions {
  /** This app's own origin, e.g. `http://localhost:3001`; the callback is `<baseUrl>/callback`. */
  baseUrl: string;
  /** twofa's OpenID Connect issuer: its `PUBLIC_BASE_URL`, e.g. `http://localhost:3000`. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /**
   * When twofa does not answer before the redirect: `closed` refuses the login (a stolen
   * password is never enough), `open` lets the password alone in and says so on the session.
   */
  failMode: 'closed' | 'open';
  users: Users;
}

interface Session {
  /** Between a right password and the callback: what ties the callback to this browser. */
  pending?: { email: string; state: string; nonce: string; codeVerifier: string };
  user?: { email: string; secondStep: string; claims: Record<string, unknown> | null };
}

const COOKIE = 'clinic_session';

export function createClinicApp(options: ClinicOptions) {
  const { baseUrl, issuer, users } = options;
  const redirectUri = `${baseUrl}/callback`;
  const sessions = new Map<string, Session>();

  // Discovery once, retried after a failure (twofa may be down when the clinic starts).
  let configuration: Promise<oidc.Configuration> | null = null;
  const twofa = () => {
    configuration ??= oidc
      .discovery(new URL(issuer), options.clientId, options.clientSecret, undefined, {
        execute: [
          // Verify the ID token's signature with a key from jwks_uri, even over a direct call.
          oidc.enableNonRepudiationChecks,
          // Plain http only to a twofa on this machine (development).
          ...(/^http:\/\/(localhost|127\.0\.0\.1|\[::1\])(:|$)/.test(issuer)
            ? [oidc.allowInsecureRequests]
            : []),
        ],
      })
      .catch((error) => {
        configuration = null;
        throw error;
      });
    return configuration;
  };

  const twofaAnswers = async () => {
    try {
      return (await fetch(`${issuer}/health`, { signal: AbortSignal.timeout(2_000) })).ok;
    } catch {
      return false;
    }
  };

  const sessionOf = (c: Context) => sessions.get(getCookie(c, COOKIE) ?? '');
  /** A fresh session id at each step, so an id seen before the login is worth nothing after. */
  const startSession = (c: Context, session: Session) => {
    sessions.delete(getCookie(c, COOKIE) ?? '');
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, session);
    setCookie(c, COOKIE, id, {
      httpOnly: true,
      sameSite: 'Lax',
      secure: baseUrl.startsWith('https:'),
      path: '/',
    });
  };

  const app = new Hono();
  // Form posts only from our own pages (the Origin header), so no other site can log anyone in.
  app.use(csrf({ origin: new URL(baseUrl).origin }));

  app.get('/', (c) => {
    const user = sessionOf(c)?.user;
    if (!user) return c.redirect('/login', 303);
    return c.html(
      page(
        'Clinic',
        html`<p>Signed in as <strong data-testid="email">${user.email}</strong>.</p>
          <p>Second step: <span data-testid="second-step">${user.secondStep}</span></p>
          <details><summary>ID token claims</summary>
            <pre data-testid="claims">${JSON.stringify(user.claims, null, 2)}</pre></details>
          <form method="post" action="/logout"><button type="submit">Log out</button></form>`,
      ),
    );
  });

  app.get('/login', (c) => c.html(loginPage()));

  app.post('/login', async (c) => {
    const form = await c.req.parseBody();
    const email = await users.check(String(form.email ?? ''), String(form.password ?? ''));
    if (!email) return c.html(loginPage('Wrong email or password.'), 401);

    if (!(await twofaAnswers())) {
      if (options.failMode === 'closed') {
        return c.html(
          loginPage('Sign-in is unavailable right now. Try again in a few minutes.'),
          503,
        );
      }
      startSession(c, {
        user: { email, secondStep: 'skipped: twofa unreachable (fail open)', claims: null },
      });
      return c.redirect('/', 303);
    }

    const pending = {
      email,
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      codeVerifier: oidc.randomPKCECodeVerifier(),
    };
    const prompt = await oidc.buildAuthorizationUrlWithPAR(await twofa(), {
      redirect_uri: redirectUri,
      scope: 'openid email',
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
      login_hint: email,
    });
    startSession(c, { pending });
    return c.redirect(prompt.href, 303);
  });

  app.get('/callback', async (c) => {
    const pending = sessionOf(c)?.pending;
    if (!pending) return c.html(loginPage('No sign-in in progress: start again.'), 400);
    // The answer as twofa sent it, on the redirect URI we registered (whatever Host said).
    const callback = new URL(redirectUri);
    callback.search = new URL(c.req.url).search;
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      // Checks iss, state, PKCE, and the ID token's signature, iss, aud, exp and nonce.
      tokens = await oidc.authorizationCodeGrant(await twofa(), callback, {
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        pkceCodeVerifier: pending.codeVerifier,
        idTokenExpected: true,
      });
    } catch (error) {
      startSession(c, {});
      if (error instanceof oidc.AuthorizationResponseError) {
        // access_denied: the user canceled, or was locked, or the code step ended badly.
        return c.html(
          loginPage(`Sign-in stopped: ${error.error_description ?? error.error}.`),
          401,
        );
      }
      throw error;
    }
    const claims = tokens.claims();
    // The token must be about the person whose password we checked.
    if (!claims || String(claims.email).toLowerCase() !== pending.email) {
      startSession(c, {});
      return c.html(loginPage('The second step was for someone else: start again.'), 401);
    }
    const result = claims.twofa as { result: 'verified' | 'skipped'; reason: string | null };
    const secondStep =
      result.result === 'verified'
        ? `verified (${(claims.amr as string[] | undefined)?.join(', ')})`
        : `skipped (${result.reason})`;
    startSession(c, { user: { email: pending.email, secondStep, claims: { ...claims } } });
    return c.redirect('/', 303);
  });

  app.post('/logout', (c) => {
    startSession(c, {});
    return c.redirect('/login', 303);
  });

  app.onError((error, c) => {
    console.error('clinic-app:', error);
    return c.html(loginPage('Sign-in could not be completed. Try again.'), 502);
  });
  return app;
}

function page(title: string, body: unknown) {
  return html`<!doctype html>
<html lang="en">
  <head><meta charset="utf-8" /><meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>${title}</title></head>
  <body><main><h1>${title}</h1>${body}</main></body>
</html>`;
}

function loginPage(error?: string) {
  return page(
    'Clinic sign-in',
    html`${error ? html`<p role="alert">${error}</p>` : ''}
      <form method="post" action="/login">
        <p><label for="email">Email</label><br />
          <input id="email" name="email" type="email" autocomplete="username" required /></p>
        <p><label for="password">Password</label><br />
          <input id="password" name="password" type="password" autocomplete="current-password" required /></p>
        <button type="submit">Sign in</button>
      </form>`,
  );
}
