import { hkdfSync } from 'node:crypto';
import { matchesUnderAny, safeEqual } from '@twofa/core';
import { rehashPromptAppSecret } from '@twofa/db';
import Provider, {
  type Configuration,
  errors,
  type FindAccount,
  interactionPolicy,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import { hashClientSecret } from '../domain/apps.ts';
import { ApiError } from '../lib/errors.ts';
import type { Services } from '../lib/services.ts';
import { renderErrorPage, UNAVAILABLE_RETRY_AFTER_SECONDS } from '../pages/error-pages.tsx';
import {
  answered,
  DECISION_KIND,
  PromptUnavailable,
  promptAdapter,
  RESPONSE_MODES,
} from './adapter.ts';
import {
  ID_TOKEN_TTL_SECONDS,
  KEY_REFRESH_MS,
  loadSigningKeys,
  type SigningJwk,
} from './signing-keys.ts';

/** The provider's own endpoints, all under one prefix beside the API's. */
export const OIDC_ROUTES = {
  authorization: '/oidc/authorize',
  pushed_authorization_request: '/oidc/par',
  token: '/oidc/token',
  jwks: '/oidc/jwks',
  // Turned off below; named so no default path like /me or /reg is ever routed.
  userinfo: '/oidc/userinfo',
  end_session: '/oidc/session/end',
  introspection: '/oidc/token/introspection',
  revocation: '/oidc/token/revocation',
  registration: '/oidc/reg',
  code_verification: '/oidc/device',
  device_authorization: '/oidc/device/auth',
  backchannel_authentication: '/oidc/backchannel',
} as const;

export const DISCOVERY_PATH = '/.well-known/openid-configuration';

/** Our page for an interaction: the prompt. */
export const PROMPT_PATH_PREFIX = '/prompt';

/** Whether a path is the provider's to answer. */
export function isProviderPath(path: string): boolean {
  return path === DISCOVERY_PATH || path.startsWith('/oidc/');
}

/** The contract's `login_hint`: an email address, in ASCII. */
const ASCII_EMAIL =
  /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export function isPromptLoginHint(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 254 && ASCII_EMAIL.test(value);
}

/** What the prompt decided, stored by grant for the ID token's claims. */
export interface PromptDecision {
  organizationId: string;
  appId: string;
  userId: string;
  email: string;
  result: 'verified' | 'skipped';
  reason: string | null;
}

/**
 * The issuer: PUBLIC_BASE_URL without a trailing slash; in development and
 * test `http://localhost:<PORT>` when it is unset; null elsewhere (the prompt
 * stays off rather than name a guessed issuer in signed tokens).
 */
export function promptIssuer(services: Services): string | null {
  const { PUBLIC_BASE_URL, NODE_ENV, PORT } = services.config.env;
  if (PUBLIC_BASE_URL) return PUBLIC_BASE_URL.replace(/\/+$/, '');
  if (NODE_ENV === 'development' || NODE_ENV === 'test') return `http://localhost:${PORT}`;
  return null;
}

/** Cookie signing keys for the provider, derived from APP_SECRET (then the previous ones). */
function cookieKeys(appSecrets: readonly string[]): string[] {
  return appSecrets.map((secret) =>
    Buffer.from(hkdfSync('sha256', secret, 'twofa-oidc', 'cookie-keys', 32)).toString('base64url'),
  );
}

class RateLimitedPar extends errors.OIDCProviderError {
  override error_description: string;
  constructor(retryAfter: number) {
    super(429, 'rate_limited');
    this.error_description = `too many pushed authorization requests from this app; retry in ${retryAfter} s`;
  }
}

/**
 * The login prompt's checks, plus one in front: every authorization request
 * comes to our page, which decides as /v1/logins does (a provider session
 * from an earlier prompt must never stand in for that decision). Once our page
 * has answered, its result is the login.
 */
function interactions() {
  const policy = interactionPolicy.base();
  const login = policy.get('login');
  if (!login) throw new Error('oidc-provider has no login prompt');
  login.checks.add(
    new interactionPolicy.Check(
      'prompt_decides',
      'the hosted prompt decides every authorization request',
      (ctx) =>
        ctx.oidc.result?.login
          ? interactionPolicy.Check.NO_NEED_TO_PROMPT
          : interactionPolicy.Check.REQUEST_PROMPT,
    ),
    0,
  );
  return {
    policy,
    url: (_ctx: KoaContextWithOIDC, interaction: { uid: string }) =>
      `${PROMPT_PATH_PREFIX}/${interaction.uid}`,
  };
}

function buildProvider(services: Services, issuer: string, keys: SigningJwk[]): Provider {
  const { db, config, rateLimits, promptStore } = services;
  const appSecret = config.appSecret;

  const findAccount: FindAccount = async (_ctx, sub, token) => {
    // At the token endpoint `token` is the authorization code: its grant names what our page decided.
    if (token === undefined) return { accountId: sub, claims: () => ({ sub }) };
    const grantId = (token as { grantId?: string }).grantId;
    const row = grantId
      ? await answered(promptStore.find(DECISION_KIND, grantId), services.logger, DECISION_KIND)
      : null;
    if (!row) return undefined;
    const decision = row.payload as unknown as PromptDecision;
    if (decision.userId !== sub) return undefined;
    return {
      accountId: sub,
      claims: () => ({
        sub,
        email: decision.email,
        twofa: { result: decision.result, reason: decision.reason },
      }),
    };
  };

  const configuration: Configuration = {
    adapter: promptAdapter(db, promptStore, config.appSecrets, services.logger),
    clients: [],
    findAccount,
    jwks: { keys: keys as never },
    cookies: {
      keys: cookieKeys(config.appSecrets),
      long: { httpOnly: true, sameSite: 'lax', signed: true },
      short: { httpOnly: true, sameSite: 'lax', signed: true },
    },
    routes: OIDC_ROUTES,
    interactions: interactions(),
    scopes: ['openid', 'email'],
    // auth_time and amr reach the ID token only through a scope's claims.
    claims: { openid: ['sub', 'auth_time', 'amr', 'twofa'], email: ['email'] },
    // The email claim goes in the ID token itself (there is no userinfo endpoint).
    conformIdTokenClaims: false,
    responseTypes: ['code'],
    pkce: { methods: ['S256'], required: () => true },
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    // A redirect_uri is always named, and must match a registered one exactly.
    allowOmittingSingleRegisteredRedirectUri: false,
    enabledJWA: {
      idTokenSigningAlgValues: ['RS256'],
      requestObjectSigningAlgValues: [],
      authorizationSigningAlgValues: ['RS256'],
      clientAuthSigningAlgValues: [],
    },
    ttl: {
      AuthorizationCode: 60,
      IdToken: ID_TOKEN_TTL_SECONDS,
      AccessToken: ID_TOKEN_TTL_SECONDS,
      Grant: ID_TOKEN_TTL_SECONDS,
      Interaction: 15 * 60,
      Session: 60 * 60,
    },
    // No issueRefreshToken here: any function other than the default makes the provider register
    // the refresh_token grant (and advertise it). Its default issues one only to a client allowed
    // that grant with `offline_access`, and ours are allowed neither (adapter.ts, `scopes`).
    features: {
      devInteractions: { enabled: false },
      pushedAuthorizationRequests: {
        enabled: true,
        requirePushedAuthorizationRequests: true,
        allowUnregisteredRedirectUris: false,
      },
      userinfo: { enabled: false },
      rpInitiatedLogout: { enabled: false },
      introspection: { enabled: false },
      revocation: { enabled: false },
      registration: { enabled: false },
      claimsParameter: { enabled: false },
      requestObjects: { request: false, requestUri: false },
      deviceFlow: { enabled: false },
      clientCredentials: { enabled: false },
      backchannelLogout: { enabled: false },
      encryption: { enabled: false },
      jwtResponseModes: { enabled: false },
      webMessageResponseMode: { enabled: false },
      resourceIndicators: { enabled: false },
    },
    extraParams: {
      /**
       * Runs on every pushed request after the client authenticated and before
       * the request is stored: the per-app limit, then the contract's
       * login_hint (the user's email) is required. At the authorization endpoint
       * the parameters come from the stored request, already checked.
       */
      async login_hint(
        ctx: KoaContextWithOIDC,
        value: string | undefined,
        client: { clientId: string },
      ) {
        if (ctx.oidc.route !== 'pushed_authorization_request') return;
        try {
          await answered(
            rateLimits.admit({ take: [['app_pars', client.clientId]] }),
            services.logger,
            'app_pars',
          );
        } catch (error) {
          if (error instanceof ApiError && error.code === 'rate_limited') {
            const retryAfter = Number(error.headers['retry-after'] ?? 60);
            ctx.set('retry-after', String(retryAfter));
            throw new RateLimitedPar(retryAfter);
          }
          throw error;
        }
        if (!isPromptLoginHint(value)) {
          throw new errors.InvalidRequest("login_hint must be the user's email address");
        }
      },
    },
    async renderError(ctx, out, error) {
      ctx.type = 'html';
      ctx.set(
        'content-security-policy',
        "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
      );
      ctx.set('x-frame-options', 'DENY');
      ctx.set('cache-control', 'no-store');
      if (error instanceof PromptUnavailable) {
        // Logged where the store failed; the page asks for another try, which may succeed.
        ctx.body = await renderErrorPage(ctx.get('accept-language'), 'unavailable');
        return;
      }
      services.logger.info(
        { error: out.error, description: out.error_description, status: ctx.status },
        'prompt refused a request it cannot trust',
      );
      ctx.body = await renderErrorPage(ctx.get('accept-language'), 'cannotContinue');
    },
  };

  const provider = new Provider(issuer, configuration);
  // Koa's proxy mode: X-Forwarded-Proto/Host count, and the mount strips them from any peer
  // that is not a TRUST_PROXY proxy.
  provider.proxy = true;
  // Secrets are stored as keyed hashes only: compare the presented one's hash, in constant time.
  // A hash under an APP_SECRET_PREVIOUS matches too, and is moved to the current APP_SECRET.
  const previousSecrets = config.appSecrets.slice(1);
  provider.Client.prototype.compareClientSecret = function compare(
    this: { clientId: string; clientSecret?: string },
    actual: string,
  ) {
    const stored = this.clientSecret ?? '';
    const current = hashClientSecret(appSecret, actual ?? '');
    if (safeEqual(current, stored)) return true;
    if (!matchesUnderAny(previousSecrets, 'client-secret', actual ?? '', stored)) return false;
    rehashPromptAppSecret(db.sql, {
      clientId: this.clientId,
      oldHash: stored,
      newHash: current,
    }).catch((error: Error) =>
      services.logger.warn({ err: error.message }, 'moving an app secret to APP_SECRET failed'),
    );
    return true;
  } as never;
  // Discovery lists every response mode the provider registered; name only those a client takes.
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status === 503) ctx.set('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    if (ctx.oidc?.route === 'discovery' && ctx.body && typeof ctx.body === 'object') {
      (ctx.body as Record<string, unknown>).response_modes_supported = [...RESPONSE_MODES];
    }
  });
  provider.on('server_error', (_ctx: unknown, error: Error) => {
    services.logger.error({ err: error }, 'oidc provider error');
  });
  return provider;
}

interface Built {
  provider: Provider;
  callback: ReturnType<Provider['callback']>;
  kids: string;
  checkedAt: number;
}

/**
 * The authorization server of one API process: built on first use (the
 * signing keys come from Postgres), rebuilt when the published keys change,
 * which every replica notices within KEY_REFRESH_MS. Sessions, interactions
 * and codes live in Redis (store.ts), so a rebuilt provider, or another
 * replica, carries on any flow.
 */
export class PromptServer {
  readonly issuer: string | null;
  #built: Built | null = null;
  #loading: Promise<Built> | null = null;

  constructor(private readonly services: Services) {
    this.issuer = promptIssuer(services);
  }

  async provider(): Promise<Built> {
    const built = this.#built;
    if (built && Date.now() - built.checkedAt < KEY_REFRESH_MS) return built;
    this.#loading ??= this.#load().finally(() => {
      this.#loading = null;
    });
    return this.#loading;
  }

  /** Reads the keys now (after a rotation, in tests and the CLI's own process). */
  async refresh(): Promise<void> {
    if (this.#built) this.#built.checkedAt = 0;
    await this.provider();
  }

  async #load(): Promise<Built> {
    const issuer = this.issuer;
    if (!issuer) throw new Error('the hosted prompt is off: PUBLIC_BASE_URL is not set');
    const keys = await loadSigningKeys(this.services.db, this.services.config.appSecrets);
    const kids = keys.map((key) => key.kid).join(',');
    const current = this.#built;
    if (current && current.kids === kids) {
      current.checkedAt = Date.now();
      return current;
    }
    const provider = buildProvider(this.services, issuer, keys);
    this.#built = { provider, callback: provider.callback(), kids, checkedAt: Date.now() };
    return this.#built;
  }
}
