import {
  createHmac,
  randomBytes,
  randomInt,
  type ScryptOptions,
  scrypt,
  timingSafeEqual,
} from 'node:crypto';
import { CODE_LENGTH } from './constants.ts';

/** A fresh one-time code: uniform over 000000-999999. */
export function generateCode(): string {
  return randomInt(0, 10 ** CODE_LENGTH)
    .toString()
    .padStart(CODE_LENGTH, '0');
}

export type SecretPurpose =
  | 'code'
  | 'device-token'
  | 'api-key'
  /** A pages login session's cookie token. */
  | 'session'
  /** The pages' CSRF tokens, bound to a browser's cookie. */
  | 'csrf'
  /** The pages' pending-challenge cookie, bound to the browser that started it. */
  | 'pending-challenge'
  /** A hosted-prompt app's OpenID Connect client secret. */
  | 'client-secret'
  /** A user's single-use backup codes, with the user's id as context. */
  | 'backup-code'
  /** The hosted prompt's authorization codes and access tokens, as keys of the prompt store. */
  | 'oidc-token';

/**
 * Keyed hash of a secret. The purpose is mixed in so a hash of one kind can
 * never be replayed as another. Codes carry their challenge id so equal
 * codes in two challenges hash differently.
 */
export function hashSecret(
  appSecret: string,
  purpose: SecretPurpose,
  value: string,
  context = '',
): string {
  return createHmac('sha256', appSecret)
    .update(`${purpose}\u0000${context}\u0000${value}`)
    .digest('base64url');
}

/**
 * `value`'s keyed hash under each of `secrets`, in their order: APP_SECRET and
 * then each APP_SECRET_PREVIOUS, for what was stored before a rotation.
 */
export function hashesUnder(
  secrets: readonly string[],
  purpose: SecretPurpose,
  value: string,
  context = '',
): string[] {
  return secrets.map((secret) => hashSecret(secret, purpose, value, context));
}

/** True when `expected` is `value`'s keyed hash under any of `secrets`; each compared in constant time. */
export function matchesUnderAny(
  secrets: readonly string[],
  purpose: SecretPurpose,
  value: string,
  expected: string,
  context = '',
): boolean {
  let found = false;
  for (const hash of hashesUnder(secrets, purpose, value, context)) {
    // No early exit: every secret is tried, whichever matches.
    found = safeEqual(hash, expected) || found;
  }
  return found;
}

/** Constant-time comparison of two hashes (or any two strings). */
export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    // Compare against itself so the time does not depend on where they differ.
    timingSafeEqual(ab, ab);
    return false;
  }
  return timingSafeEqual(ab, bb);
}

/** A random token of 256 bits, prefixed so leaked keys are recognisable. */
export function generateToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** A new organization API key: the key to show once, and the hash to store. */
export function issueApiKey(appSecret: string): { apiKey: string; apiKeyHash: string } {
  const apiKey = generateToken('tfa');
  return { apiKey, apiKeyHash: hashSecret(appSecret, 'api-key', apiKey) };
}

// scrypt N=2^15, r=8, p=1: OWASP's floor for scrypt, about 50-100 ms of one core.
const SCRYPT: ScryptOptions = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

function scryptAsync(password: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

/** Slow salted hash, run on libuv's pool so it never blocks the event loop. */
export async function hashPassword(
  password: string,
  options: ScryptOptions = SCRYPT,
): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(password, salt, options);
  return `scrypt$${options.N}$${options.r}$${options.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, saltText, keyText] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !saltText || !keyText) return false;
  const expected = Buffer.from(keyText, 'base64url');
  const key = await scryptAsync(password, Buffer.from(saltText, 'base64url'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 64 * 1024 * 1024,
  });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

let dummyHash: Promise<string> | undefined;
/**
 * A hash to check unknown emails against, so a wrong email costs the same
 * time as a wrong password.
 */
export function dummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  return dummyHash;
}
