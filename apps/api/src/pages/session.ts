import {
  generateToken,
  hashesUnder,
  hashSecret,
  matchesUnderAny,
  TRUSTED_DEVICE_TTL_MS,
} from '@twofa/core';
import { createWebSession, findWebSession, revokeWebSession, type WebSession } from '@twofa/db';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { CookieOptions } from 'hono/utils/cookie';
import type { AppEnv } from '../lib/env.ts';
import { endUser } from '../lib/http.ts';
import { DeviceToken } from '../lib/schemas.ts';

/** The logged-in session: a random token; the database holds only its hash. */
export const SESSION_COOKIE = 'twofa_session';
/** A trusted device's token, from a verify with "trust this device" checked. */
export const DEVICE_COOKIE = 'twofa_device';
/** A random value naming this browser before it logs in: CSRF tokens of the login forms bind to it. */
export const BROWSER_COOKIE = 'twofa_browser';
/** The challenge this browser is finishing, signed and bound to BROWSER_COOKIE. */
export const CHALLENGE_COOKIE = 'twofa_challenge';

export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const CHALLENGE_COOKIE_TTL_S = 30 * 60;
const BROWSER_COOKIE_TTL_S = 24 * 60 * 60;

export type PageContext = Context<AppEnv>;

function secure(c: PageContext): boolean {
  const env = c.get('services').config.env.NODE_ENV;
  return env !== 'development' && env !== 'test';
}

/**
 * Outside development and test every page cookie carries the `__Host-` prefix
 * (Secure, Path=/, no Domain): a browser then takes it only from this very host
 * over https, so a sibling subdomain cannot plant a session, browser or
 * challenge cookie. Development over plain http keeps the bare names.
 */
function prefix(c: PageContext): 'host' | undefined {
  return secure(c) ? 'host' : undefined;
}

/** A page cookie by its bare name: only the prefixed one where the prefix applies. */
function readCookie(c: PageContext, name: string): string | undefined {
  return getCookie(c, name, prefix(c));
}

function cookieOptions(c: PageContext, maxAgeSeconds?: number): CookieOptions {
  const hostOnly = prefix(c);
  return {
    httpOnly: true,
    sameSite: 'Lax',
    secure: secure(c),
    path: '/',
    ...(hostOnly ? { prefix: hostOnly } : {}),
    ...(maxAgeSeconds !== undefined ? { maxAge: maxAgeSeconds } : {}),
  };
}

function appSecret(c: PageContext): string {
  return c.get('services').config.appSecret;
}

/**
 * APP_SECRET, then each APP_SECRET_PREVIOUS: what a cookie or form token the
 * pages made before a rotation was keyed with, so it still holds after it.
 */
function appSecrets(c: PageContext): readonly string[] {
  return c.get('services').config.appSecrets;
}

/**
 * The end user's address: the socket, or X-Forwarded-For from a TRUST_PROXY
 * proxy (`ip`, for the per-address limit and the records), and the address the
 * skip networks may match (`networkIp`): null when X-Forwarded-For came from a
 * peer nobody listed, whose own address is then a proxy's, not the browser's.
 */
export function endUserAddress(c: PageContext): { ip: string; networkIp: string | null } {
  const found = endUser(c);
  // app.request() in tests has no socket; the unspecified address stands in.
  const ip = found.ip ?? '0.0.0.0';
  return { ip, networkIp: found.vouched ? ip : null };
}

// ---- the browser cookie and CSRF -------------------------------------------

/** The browser cookie the request carries, if it is well formed. */
export function browserCookie(c: PageContext): string | undefined {
  const existing = readCookie(c, BROWSER_COOKIE);
  return existing && /^tfb_[\w-]{43}$/.test(existing) ? existing : undefined;
}

/** This browser's pre-login id, set on the first page that needs it. */
export function browserId(c: PageContext): string {
  const existing = browserCookie(c);
  if (existing) return existing;
  return renewBrowserId(c);
}

/**
 * A new pre-login id for this browser, replacing the one it sent: done when the
 * password is accepted and when a session starts, so an id planted before the
 * login (session fixation) is worth nothing after it.
 */
export function renewBrowserId(c: PageContext): string {
  const fresh = generateToken('tfb');
  setCookie(c, BROWSER_COOKIE, fresh, cookieOptions(c, BROWSER_COOKIE_TTL_S));
  return fresh;
}

/** A CSRF token: an HMAC of a cookie the browser holds (double submit, keyed by APP_SECRET). */
export function csrfToken(c: PageContext, subject: string): string {
  return hashSecret(appSecret(c), 'csrf', subject);
}

/** Form fields of a urlencoded or multipart POST; files are ignored. */
export async function formFields(c: PageContext): Promise<Record<string, string>> {
  const body = await c.req.parseBody({ all: false }).catch(() => ({}));
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) {
    if (typeof value === 'string') fields[key] = value;
  }
  return fields;
}

/** True when the form's `csrf` field is the token of the cookie it must be bound to. */
export function csrfValid(c: PageContext, subject: string | undefined, given: string | undefined) {
  if (!subject || !given) return false;
  return matchesUnderAny(appSecrets(c), 'csrf', subject, given);
}

// ---- the pending challenge -------------------------------------------------

export interface PendingChallenge {
  organizationId: string;
  challengeId: string;
}

const challengeValue = (p: PendingChallenge) => `${p.organizationId}.${p.challengeId}`;

function challengeMac(c: PageContext, browser: string, p: PendingChallenge): string {
  return hashSecret(appSecret(c), 'pending-challenge', challengeValue(p), browser);
}

/** `browser`: the id the cookie is bound to, when this answer renews it. */
export function setPendingChallenge(
  c: PageContext,
  pending: PendingChallenge,
  browser: string = browserId(c),
): void {
  const mac = challengeMac(c, browser, pending);
  setCookie(
    c,
    CHALLENGE_COOKIE,
    `${pending.organizationId}.${pending.challengeId}.${mac}`,
    cookieOptions(c, CHALLENGE_COOKIE_TTL_S),
  );
}

/** The challenge this browser started, or null: a cookie copied from another browser fails its MAC. */
export function pendingChallenge(c: PageContext): PendingChallenge | null {
  const value = readCookie(c, CHALLENGE_COOKIE);
  const browser = browserCookie(c);
  if (!value || !browser) return null;
  const [organizationId, challengeId, mac] = value.split('.');
  if (!organizationId || !challengeId || !mac) return null;
  const pending = { organizationId, challengeId };
  const valid = matchesUnderAny(
    appSecrets(c),
    'pending-challenge',
    challengeValue(pending),
    mac,
    browser,
  );
  return valid ? pending : null;
}

export function clearPendingChallenge(c: PageContext): void {
  deleteCookie(c, CHALLENGE_COOKIE, cookieOptions(c));
}

// ---- sessions and trusted devices ------------------------------------------

function sessionHash(c: PageContext, token: string): string {
  return hashSecret(appSecret(c), 'session', token);
}

/** A session token's hashes under each secret: a session started before a rotation still holds. */
function sessionHashes(c: PageContext, token: string): string[] {
  return hashesUnder(appSecrets(c), 'session', token);
}

/**
 * Logs the browser in: a fresh token in the cookie, its hash in web_sessions.
 * The session this browser held before ends with it.
 */
export async function startSession(
  c: PageContext,
  organizationId: string,
  userId: string,
): Promise<void> {
  const { db, clock } = c.get('services');
  const token = generateToken('tfs');
  const previous = readCookie(c, SESSION_COOKIE);
  await createWebSession(db.sql, {
    organizationId,
    userId,
    tokenHash: sessionHash(c, token),
    expiresAt: new Date(clock.now().getTime() + SESSION_TTL_MS),
    replacesTokenHashes: previous && previous.length <= 100 ? sessionHashes(c, previous) : [],
  });
  setCookie(c, SESSION_COOKIE, token, cookieOptions(c, SESSION_TTL_MS / 1000));
  renewBrowserId(c);
}

export interface PageSession extends WebSession {
  /** The cookie's token: the logged-in forms' CSRF tokens bind to it. */
  token: string;
}

/** The logged-in session, or null. */
export async function currentSession(c: PageContext): Promise<PageSession | null> {
  const token = readCookie(c, SESSION_COOKIE);
  if (!token || token.length > 100) return null;
  const { db, clock } = c.get('services');
  const session = await findWebSession(db.sql, sessionHashes(c, token), clock.now());
  return session ? { ...session, token } : null;
}

export async function endSession(c: PageContext, token: string): Promise<void> {
  const { db, clock } = c.get('services');
  await revokeWebSession(db.sql, sessionHashes(c, token), clock.now());
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c));
}

export function deviceToken(c: PageContext): string | undefined {
  const token = readCookie(c, DEVICE_COOKIE);
  return DeviceToken.safeParse(token).success ? token : undefined;
}

export function setDeviceToken(c: PageContext, token: string, expiresAt: string): void {
  const seconds = Math.floor((Date.parse(expiresAt) - Date.now()) / 1000);
  setCookie(c, DEVICE_COOKIE, token, {
    ...cookieOptions(c, Math.min(seconds, TRUSTED_DEVICE_TTL_MS / 1000)),
    expires: new Date(expiresAt),
  });
}

// ---- headers ---------------------------------------------------------------

/** No inline script anywhere; no framing; no referrer leaving the site. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

export const pageHeaders: MiddlewareHandler<AppEnv> = async (c, next) => {
  c.header('content-security-policy', CONTENT_SECURITY_POLICY);
  c.header('x-frame-options', 'DENY');
  c.header('referrer-policy', 'same-origin');
  c.header('x-content-type-options', 'nosniff');
  c.header('cache-control', 'no-store');
  await next();
};
