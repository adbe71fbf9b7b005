import {
  BACKUP_CODE_STATUSES,
  backupCodeRefusal,
  generateToken,
  hashesUnder,
  hashSecret,
  isBackupCodeShape,
  MAX_WRONG_ATTEMPTS,
  matchTotp,
  normalizeBackupCode,
  openSecret,
  type SecondFactorMethod,
  TRUSTED_DEVICE_TTL_MS,
  totpStepFresh,
} from '@twofa/core';
import { approveWithFactor, type ClaimedFactor, getAuthenticator } from '@twofa/db';
import { ApiError } from '../lib/errors.ts';
import type { ChallengeDeps } from './deps.ts';
import { refusalError } from './errors.ts';
import { type LoadedChallenge, loadChallenge } from './get.ts';
import { type Authenticated, countWrongCode, reloadRefusal } from './verify.ts';

/**
 * The second factors besides the SMS code: an authenticator app's code and a
 * backup code. Each is claimed atomically with the approval (a step or a code
 * works once, also under parallel verifies); a wrong one is counted exactly as
 * a wrong SMS code.
 */

/** 422 method_not_allowed: the challenge does not take this kind of code. */
export function methodNotAllowed(row: LoadedChallenge, kind: 'code' | 'backupCode'): ApiError {
  return new ApiError(
    'method_not_allowed',
    kind === 'backupCode'
      ? 'This challenge does not take backup codes.'
      : 'This challenge takes no 6-digit code (neither SMS nor an authenticator app).',
    { methods: row.methods },
  );
}

/**
 * An authenticator code for a pending challenge whose SMS code it was not:
 * the authenticated answer, or null when it is wrong too (the caller counts it).
 */
export async function verifyTotp(
  deps: ChallengeDeps,
  row: LoadedChallenge,
  code: string,
): Promise<Authenticated | null> {
  const found = await getAuthenticator(deps.db.sql, row.organizationId, row.userId);
  if (found?.status !== 'active') return null;
  const secret = openSecret(deps.appSecrets, 'totp-secret', found.secretSealed, row.userId);
  const step = matchTotp(secret, code, deps.clock.now());
  if (step === null || !totpStepFresh(step, found.lastUsedStep)) return null;
  return approveBy(deps, row, { method: 'totp', step }, ['pending']);
}

/** A backup code: taken on pending, phone_required and failed challenges, used up on success. */
export async function verifyBackupCode(
  deps: ChallengeDeps,
  organizationId: string,
  challengeId: string,
  backupCode: string,
): Promise<Authenticated> {
  const { metrics } = deps;
  const row = await loadChallenge(deps, organizationId, challengeId);
  const refusal = backupCodeRefusal(row, row.dbNow);
  if (refusal) {
    metrics.verifyResults.inc({ result: refusal.code.replace(/^challenge_/, '') });
    throw refusalError(refusal);
  }
  if (!row.methods.includes('backup_code')) throw methodNotAllowed(row, 'backupCode');
  const wrong = { statuses: BACKUP_CODE_STATUSES, rule: backupCodeRefusal } as const;
  const normalized = normalizeBackupCode(backupCode);
  if (!isBackupCodeShape(normalized)) return countWrongCode(deps, row, wrong);
  // Under every APP_SECRET still accepted, so a rotation does not void printed codes.
  const codeHashes = hashesUnder(deps.appSecrets, 'backup-code', normalized, row.userId);
  const approved = await approveBy(
    deps,
    row,
    { method: 'backup_code', codeHashes },
    BACKUP_CODE_STATUSES,
  );
  return approved ?? countWrongCode(deps, row, wrong);
}

/** Claims the factor and approves in one transaction; null when the factor was refused. */
async function approveBy(
  deps: ChallengeDeps,
  row: LoadedChallenge,
  factor: ClaimedFactor,
  statuses: readonly string[],
): Promise<Authenticated | null> {
  const { appSecret, db, metrics } = deps;
  const deviceToken = generateToken('tfd');
  const expiresAt = new Date(row.dbNow.getTime() + TRUSTED_DEVICE_TTL_MS);
  const approval = await approveWithFactor(db.sql, {
    organizationId: row.organizationId,
    challengeId: row.id,
    factor,
    statuses,
    maxWrongAttempts: MAX_WRONG_ATTEMPTS,
    deviceTokenHash: hashSecret(appSecret, 'device-token', deviceToken),
    deviceExpiresAt: expiresAt,
  });
  if (approval.result === 'factor_refused') return null;
  if (approval.result === 'challenge_changed') {
    metrics.verifyResults.inc({ result: 'not_pending' });
    throw await reloadRefusal(
      deps,
      row,
      factor.method === 'backup_code' ? backupCodeRefusal : undefined,
    );
  }
  const method: SecondFactorMethod = factor.method;
  metrics.verifyResults.inc({ result: 'approved' });
  metrics.loginsByMethod.inc({ method });
  return {
    result: 'authenticated',
    userId: approval.userId,
    deviceToken,
    deviceTokenExpiresAt: expiresAt.toISOString(),
    method,
  };
}
