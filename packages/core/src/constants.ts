/** Product rules from the API contract, in one place. */
export const CODE_LENGTH = 6;
export const CODE_TTL_MS = 10 * 60 * 1000;
export const MAX_WRONG_ATTEMPTS = 5;
export const MAX_SENDS_PER_CHALLENGE = 5;
export const RESEND_COOLDOWN_MS = 30 * 1000;
export const TRUSTED_DEVICE_DAYS = 30;
export const TRUSTED_DEVICE_TTL_MS = TRUSTED_DEVICE_DAYS * 24 * 60 * 60 * 1000;
export const DEFAULT_LOW_BALANCE_THRESHOLD = 20;
/**
 * The most SMS credits an organization may hold: a top-up past it is refused
 * (`balance_limit`), well inside the balance column's 32-bit range.
 */
export const MAX_SMS_BALANCE = 1_000_000_000;
