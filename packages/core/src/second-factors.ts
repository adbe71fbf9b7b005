import { randomBytes, randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { type ChallengeFacts, type ChallengeStatus, effectiveStatus } from './challenge.ts';
import type { ChallengeRefusal } from './challenge-rules.ts';
import { SECOND_FACTOR_METHODS, type SecondFactorMethod } from './enums.ts';

/** RFC 6238 as every authenticator app reads an `otpauth://` URI without options. */
export const TOTP_ALGORITHM = 'SHA1';
export const TOTP_DIGITS = 6;
export const TOTP_PERIOD_SECONDS = 30;
/** 160 bits, RFC 4226's recommended secret length. */
export const TOTP_SECRET_BYTES = 20;
/** Steps either side of the current one that still count (clock drift, a slow typist). */
export const TOTP_WINDOW = 1;

/** A fresh authenticator secret, base32 as apps take it. */
export function newTotpSecret(): string {
  return Secret.fromHex(randomBytes(TOTP_SECRET_BYTES).toString('hex')).base32;
}

/** The app's parameters; `names` (issuer and label) matter only to the URI. */
function totp(secretBase32: string, names: { issuer: string; label: string } | null): TOTP {
  return new TOTP({
    ...names,
    secret: Secret.fromBase32(secretBase32),
    algorithm: TOTP_ALGORITHM,
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD_SECONDS,
  });
}

/** The `otpauth://totp/...` URI an app scans: the organization as issuer, the email as label. */
export function totpUri(secretBase32: string, issuer: string, label: string): string {
  return totp(secretBase32, { issuer, label }).toString();
}

/** The 30-second step a moment falls in. */
export function totpStep(now: Date): number {
  return TOTP.counter({ period: TOTP_PERIOD_SECONDS, timestamp: now.getTime() });
}

/**
 * Checks an authenticator code against the current step and one either side
 * (the library compares in constant time). Returns the step it matched, so
 * the caller can refuse it once used, or null.
 */
export function matchTotp(secretBase32: string, code: string, now: Date): number | null {
  const delta = totp(secretBase32, null).validate({
    token: code,
    timestamp: now.getTime(),
    window: TOTP_WINDOW,
  });
  return delta === null ? null : totpStep(now) + delta;
}

/**
 * A matched step counts only when it is later than the last one used: a code
 * seen once (over a shoulder, in a log) is refused after. The database claims
 * the step with the same rule in its WHERE clause, for parallel verifies.
 */
export function totpStepFresh(step: number, lastUsedStep: number | null): boolean {
  return step > (lastUsedStep ?? -1);
}

// ---- backup codes ------------------------------------------------------------

export const BACKUP_CODE_COUNT = 10;
/** No 0/o, 1/l/i: nothing to misread on paper. 31 symbols, about 4.95 bits each. */
export const BACKUP_CODE_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz';
export const BACKUP_CODE_LENGTH = 10;
/** Two groups of five, `k7m2q-x9p4t`: about 49.5 bits a code. */
export const BACKUP_CODE_GROUP = 5;

/** Bits of entropy one backup code carries. */
export function backupCodeBits(): number {
  return BACKUP_CODE_LENGTH * Math.log2(BACKUP_CODE_ALPHABET.length);
}

function oneBackupCode(): string {
  let raw = '';
  for (let i = 0; i < BACKUP_CODE_LENGTH; i++) {
    raw += BACKUP_CODE_ALPHABET[randomInt(BACKUP_CODE_ALPHABET.length)];
  }
  return `${raw.slice(0, BACKUP_CODE_GROUP)}-${raw.slice(BACKUP_CODE_GROUP)}`;
}

/** A new set of distinct codes, formatted for reading; store only their hashes (normalized). */
export function generateBackupCodes(count = BACKUP_CODE_COUNT): string[] {
  const codes = new Set<string>();
  while (codes.size < count) codes.add(oneBackupCode());
  return [...codes];
}

/** What is hashed and compared: case, spaces and dashes do not matter. */
export function normalizeBackupCode(input: string): string {
  return input.toLowerCase().replace(/[\s-]/g, '');
}

/** A typed backup code that could be one of ours (else it is wrong without a lookup). */
export function isBackupCodeShape(normalized: string): boolean {
  if (normalized.length !== BACKUP_CODE_LENGTH) return false;
  for (const ch of normalized) if (!BACKUP_CODE_ALPHABET.includes(ch)) return false;
  return true;
}

// ---- which methods a challenge offers ----------------------------------------

/**
 * The methods a challenge accepts, in the order the page offers them: the
 * authenticator first when the user has one (it costs nothing), then SMS,
 * then backup codes, each only while the organization allows it.
 */
export function challengeMethods(
  allowed: readonly SecondFactorMethod[],
  user: { totpActive: boolean; hasPhone?: boolean },
): SecondFactorMethod[] {
  const methods: SecondFactorMethod[] = [];
  if (user.totpActive && allowed.includes('totp')) methods.push('totp');
  // An app user with no phone has no number to text: SMS is not offered instead.
  const noNumber = methods.length > 0 && user.hasPhone === false;
  if (allowed.includes('sms') && !noNumber) methods.push('sms');
  if (allowed.includes('backup_code')) methods.push('backup_code');
  return methods;
}

/** An SMS goes out when the challenge starts only when SMS is its first method. */
export function sendsSmsAtStart(methods: readonly SecondFactorMethod[]): boolean {
  return methods[0] === 'sms';
}

/** Parses and orders a set of methods (a settings form, a PATCH); null when empty or unknown. */
export function parseMethods(input: readonly string[]): SecondFactorMethod[] | null {
  const known = new Set<string>(SECOND_FACTOR_METHODS);
  if (input.length === 0 || input.some((m) => !known.has(m))) return null;
  return SECOND_FACTOR_METHODS.filter((m) => input.includes(m));
}

/** Statuses on which a backup code is still taken: a clinic out of credit still gets in. */
export const BACKUP_CODE_STATUSES = ['pending', 'phone_required', 'failed'] as const;

/**
 * A backup code is taken on a pending, phone_required or failed challenge
 * that is within its lifetime; expired and locked say so, anything else is
 * not pending.
 */
export function backupCodeRefusal(
  challenge: Pick<ChallengeFacts, 'status' | 'expiresAt'>,
  now: Date,
): ChallengeRefusal | null {
  const status = effectiveStatus(challenge, now);
  if (status === 'failed' && challenge.expiresAt.getTime() <= now.getTime()) {
    return { code: 'challenge_expired', status: 'expired' };
  }
  if ((BACKUP_CODE_STATUSES as readonly ChallengeStatus[]).includes(status)) return null;
  if (status === 'expired') return { code: 'challenge_expired', status };
  if (status === 'locked') return { code: 'challenge_locked', status };
  return { code: 'challenge_not_pending', status };
}
