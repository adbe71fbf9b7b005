import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Secrets the service must read back (authenticator secrets, webhook signing
 * secrets, OpenID signing keys) are sealed with AES-256-GCM under a key derived
 * from APP_SECRET per purpose. The sealed text names the key by an id, so after
 * APP_SECRET rotates the old value (kept in APP_SECRET_PREVIOUS) still opens
 * what it sealed, and a re-seal moves it to the new key.
 */
export type SealPurpose = 'totp-secret' | 'webhook-secret' | 'oidc-signing-key';

const VERSION = 'v1';

function derive(appSecret: string, purpose: SealPurpose): Buffer {
  return Buffer.from(hkdfSync('sha256', appSecret, 'twofa-sealed', purpose, 32));
}

/** A short public id of the APP_SECRET in use: says which key sealed a value, reveals nothing. */
export function sealKeyId(appSecret: string): string {
  return createHash('sha256')
    .update(derive(appSecret, 'totp-secret'))
    .update('key-id')
    .digest('base64url')
    .slice(0, 8);
}

/**
 * Seals `plaintext`; `context` (a row's id, say) is authenticated but not
 * stored, so a sealed value copied onto another row no longer opens.
 */
export function sealSecret(
  appSecret: string,
  purpose: SealPurpose,
  plaintext: string,
  context = '',
): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', derive(appSecret, purpose), iv);
  cipher.setAAD(Buffer.from(`${purpose}\u0000${context}`));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return [
    VERSION,
    sealKeyId(appSecret),
    iv.toString('base64url'),
    body.toString('base64url'),
    cipher.getAuthTag().toString('base64url'),
  ].join('.');
}

export class SealedSecretError extends Error {
  constructor(reason: string) {
    super(`sealed secret: ${reason}`);
    this.name = 'SealedSecretError';
  }
}

/** Opens a value sealed under any of `appSecrets` (the current one first). */
export function openSecret(
  appSecrets: readonly string[],
  purpose: SealPurpose,
  sealed: string,
  context = '',
): string {
  const [version, keyId, iv, body, tag] = sealed.split('.');
  if (version !== VERSION || !keyId || !iv || body === undefined || !tag) {
    throw new SealedSecretError('malformed');
  }
  const appSecret = appSecrets.find((secret) => sealKeyId(secret) === keyId);
  if (appSecret === undefined) throw new SealedSecretError(`no key for id ${keyId}`);
  const decipher = createDecipheriv(
    'aes-256-gcm',
    derive(appSecret, purpose),
    Buffer.from(iv, 'base64url'),
  );
  decipher.setAAD(Buffer.from(`${purpose}\u0000${context}`));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  try {
    return Buffer.concat([
      decipher.update(Buffer.from(body, 'base64url')),
      decipher.final(),
    ]).toString('utf8');
  } catch {
    throw new SealedSecretError('does not authenticate');
  }
}

/** True when `sealed` was sealed under another key than `appSecret`'s: re-seal it. */
export function sealedUnderOldKey(appSecret: string, sealed: string): boolean {
  return sealed.split('.')[1] !== sealKeyId(appSecret);
}
