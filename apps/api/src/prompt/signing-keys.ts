import { createHash, generateKeyPair, type JsonWebKey } from 'node:crypto';
import { promisify } from 'node:util';
import { openSecret, sealSecret } from '@twofa/core';
import {
  type Database,
  insertFirstOidcSigningKey,
  publishedOidcSigningKeys,
  rotateOidcSigningKey,
} from '@twofa/db';

/** An ID token lives this long (the contract's upper bound: 10 minutes). */
export const ID_TOKEN_TTL_SECONDS = 600;
/** How often a running API looks for a rotated key. */
export const KEY_REFRESH_MS = 60_000;
/**
 * A retired key stays in the JWKS this long: a replica may sign with it until
 * its next refresh, and what it signed lives ID_TOKEN_TTL_SECONDS more; the
 * rest is margin for clock skew.
 */
export const RETIRED_KEY_PUBLISHED_SECONDS = ID_TOKEN_TTL_SECONDS + KEY_REFRESH_MS / 1000 + 240;

const generateRsa = promisify(generateKeyPair);

export interface SigningJwk extends JsonWebKey {
  kid: string;
  alg: 'RS256';
  use: 'sig';
}

/** RFC 7638 thumbprint of an RSA public key: a stable, public key id. */
function thumbprint(jwk: JsonWebKey): string {
  return createHash('sha256')
    .update(JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }))
    .digest('base64url');
}

/** A fresh RS256 key: the private JWK sealed under APP_SECRET (bound to its kid), the public one in clear. */
async function newSealedKey(appSecret: string) {
  const { privateKey } = await generateRsa('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = thumbprint(jwk);
  const full = { ...jwk, kid, alg: 'RS256', use: 'sig' };
  return {
    kid,
    publicJwk: { kty: jwk.kty, n: jwk.n, e: jwk.e, kid, alg: 'RS256', use: 'sig' },
    sealedPrivateJwk: sealSecret(appSecret, 'oidc-signing-key', JSON.stringify(full), kid),
  };
}

/**
 * The keys the provider signs and publishes with, the active one first.
 * Created on first start; two replicas starting at once agree on one key.
 */
export async function loadSigningKeys(
  db: Database,
  appSecrets: readonly string[],
): Promise<SigningJwk[]> {
  let rows = await publishedOidcSigningKeys(db.sql, RETIRED_KEY_PUBLISHED_SECONDS);
  if (!rows.some((row) => row.retiredAt === null)) {
    const [appSecret] = appSecrets;
    if (!appSecret) throw new Error('no APP_SECRET to seal the signing key with');
    await insertFirstOidcSigningKey(db.sql, await newSealedKey(appSecret));
    rows = await publishedOidcSigningKeys(db.sql, RETIRED_KEY_PUBLISHED_SECONDS);
  }
  return rows.map(
    (row) =>
      JSON.parse(
        openSecret(appSecrets, 'oidc-signing-key', row.sealedPrivateJwk, row.kid),
      ) as SigningJwk,
  );
}

/**
 * `keys:rotate`: a new active key; the old one is published until what it
 * signed expired. Running APIs pick it up within KEY_REFRESH_MS.
 */
export async function rotateSigningKeys(
  db: Database,
  appSecret: string,
): Promise<{ kid: string; retired: string[] }> {
  const key = await newSealedKey(appSecret);
  const { retired } = await rotateOidcSigningKey(db.sql, key);
  return { kid: key.kid, retired };
}
