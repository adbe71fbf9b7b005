import {
  generateBackupCodes,
  hashSecret,
  matchTotp,
  newTotpSecret,
  normalizeBackupCode,
  openSecret,
  sealSecret,
  totpUri,
} from '@twofa/core';
import {
  type Actor,
  confirmTotpEnrollment,
  getAuthenticator,
  getUser,
  removeTotp,
  replaceBackupCodes,
  resetSecondFactors,
  type SecondFactorsReset,
  startTotpEnrollment,
  type UserRow,
} from '@twofa/db';
import { ApiError, notFound } from '../lib/errors.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import type { Services } from '../lib/services.ts';

/**
 * A user's second factors besides their phone: the authenticator app, the
 * backup codes and the admin's reset. One function per use case, shared by
 * the JSON routes (organization key) and the pages (the user or an admin).
 */

/** The sealed secret's context: a sealed value copied onto another user no longer opens. */
export const sealTotpSecret = (appSecret: string, userId: string, secret: string) =>
  sealSecret(appSecret, 'totp-secret', secret, userId);

export const openTotpSecret = (appSecrets: readonly string[], userId: string, sealed: string) =>
  openSecret(appSecrets, 'totp-secret', sealed, userId);

/** The keyed hash a backup code is stored as, under one APP_SECRET. */
export const backupCodeHash = (appSecret: string, userId: string, code: string) =>
  hashSecret(appSecret, 'backup-code', normalizeBackupCode(code), userId);

export interface TotpEnrollment {
  secret: string;
  otpauthUri: string;
}

/** A new pending enrollment (replacing a pending one); 409 while an app is active. */
export async function enrollTotp(
  services: Services,
  org: CachedOrganization,
  userId: string,
): Promise<TotpEnrollment> {
  const { db, config } = services;
  const user = await getUser(db.sql, org.row.id, userId);
  if (!user) throw notFound('User');
  if (user.totpEnabled) throw alreadyEnabled();
  const secret = newTotpSecret();
  const stored = await startTotpEnrollment(db.sql, {
    organizationId: org.row.id,
    userId,
    secretSealed: sealTotpSecret(config.appSecret, userId, secret),
  });
  if (stored === 'user_missing') throw notFound('User');
  if (stored === 'already_active') throw alreadyEnabled();
  return { secret, otpauthUri: totpUri(secret, org.row.name, user.email) };
}

const alreadyEnabled = () =>
  new ApiError(
    'totp_already_enabled',
    'The user already has an authenticator app; remove it first to enroll another.',
  );

/** The pending enrollment's secret, for the pages to show again (QR and text) until confirmed. */
export async function pendingTotpSecret(
  services: Services,
  organizationId: string,
  userId: string,
): Promise<string | null> {
  const found = await getAuthenticator(services.db.sql, organizationId, userId);
  if (found?.status !== 'pending') return null;
  return openTotpSecret(services.config.appSecrets, userId, found.secretSealed);
}

/** Confirms a pending enrollment with a first code from the app; the step is then used. */
export async function confirmTotp(
  services: Services,
  organizationId: string,
  userId: string,
  code: string,
  who: Actor,
): Promise<UserRow> {
  const { db, config, clock } = services;
  const user = await getUser(db.sql, organizationId, userId);
  if (!user) throw notFound('User');
  const found = await getAuthenticator(db.sql, organizationId, userId);
  if (found?.status === 'active') throw alreadyEnabled();
  if (!found) {
    throw new ApiError(
      'totp_not_enrolled',
      'No authenticator enrollment is pending; start one with POST /v1/users/{userId}/totp.',
    );
  }
  const secret = openTotpSecret(config.appSecrets, userId, found.secretSealed);
  const step = matchTotp(secret, code, clock.now());
  if (step === null) throw new ApiError('invalid_code', 'The code is wrong.');
  const confirmed = await confirmTotpEnrollment(db.sql, {
    organizationId,
    userId,
    secretSealed: found.secretSealed,
    step,
    ...who,
  });
  if (!confirmed) {
    throw new ApiError(
      'totp_not_enrolled',
      'The enrollment changed while confirming (replaced, removed or confirmed); start again.',
    );
  }
  const after = await getUser(db.sql, organizationId, userId);
  if (!after) throw notFound('User');
  return after;
}

export async function disableTotp(
  services: Services,
  organizationId: string,
  userId: string,
  who: Actor,
): Promise<UserRow> {
  const user = await removeTotp(services.db.sql, { organizationId, userId, ...who });
  if (!user) throw notFound('User');
  return user;
}

/** A new set of backup codes, shown once; only their keyed hashes are stored. */
export async function newBackupCodes(
  services: Services,
  organizationId: string,
  userId: string,
  who: Actor,
): Promise<string[]> {
  const { db, config } = services;
  const codes = generateBackupCodes();
  const found = await replaceBackupCodes(db.sql, {
    organizationId,
    userId,
    codeHashes: codes.map((code) => backupCodeHash(config.appSecret, userId, code)),
    ...who,
  });
  if (!found) throw notFound('User');
  return codes;
}

/** The admin's reset: the user starts over with a phone at their next login. */
export async function resetUserSecondFactors(
  services: Services,
  organizationId: string,
  userId: string,
  who: Actor,
): Promise<SecondFactorsReset> {
  const reset = await resetSecondFactors(services.db.sql, { organizationId, userId, ...who });
  if (!reset) throw notFound('User');
  return reset;
}
