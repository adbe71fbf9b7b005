/**
 * The product's enumerations, each defined once: the zod schemas, the CLI, the
 * Drizzle schema and the SQL checks all read these.
 */
export const AUTH_METHODS = ['password', 'saml2', 'ldap'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

/** Why no second factor was asked, in the order the policy checks them. */
export const SKIP_REASONS = [
  'two_factor_disabled',
  'external_auth',
  'user_exempt',
  'trusted_network',
  'trusted_device',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** `admin` may use the organization's settings pages. */
export const ROLES = ['member', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Languages of SMS texts and pages. */
export const LOCALES = ['en', 'fi', 'sv'] as const;
export type Locale = (typeof LOCALES)[number];

/** Ledger line reasons. */
export const LEDGER_REASONS = ['top_up', 'sms_sent', 'refund'] as const;
export type LedgerReason = (typeof LEDGER_REASONS)[number];

/** SQL `in (...)` list of an enum, for check constraints. */
export function sqlList(values: readonly string[]): string {
  return values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', ');
}

/** Second factors an organization may allow, in the order a challenge offers them. */
export const SECOND_FACTOR_METHODS = ['sms', 'totp', 'backup_code'] as const;
export type SecondFactorMethod = (typeof SECOND_FACTOR_METHODS)[number];

/** An authenticator app's enrollment: pending until a first code confirms it. */
export const AUTHENTICATOR_STATUSES = ['pending', 'active'] as const;
export type AuthenticatorStatus = (typeof AUTHENTICATOR_STATUSES)[number];
