import { z } from '@hono/zod-openapi';
import {
  AUTH_METHODS,
  CHALLENGE_STATUSES,
  DELIVERY_STATUSES,
  FAILURE_REASONS,
  isValidIp,
  LEDGER_REASONS,
  LOCALES,
  ROLES,
  SKIP_REASONS,
} from '@twofa/core';
import countries from 'i18n-iso-countries';

export const AuthMethod = z.enum(AUTH_METHODS);
export const Role = z.enum(ROLES);
export const Locale = z.enum(LOCALES);
export const LedgerReason = z.enum(LEDGER_REASONS);
/**
 * ISO 3166-1 alpha-2 codes (with XK, Kosovo, as phone numbering knows it), and
 * AC and TA (Ascension, Tristan da Cunha: exceptionally reserved in ISO 3166,
 * and regions of their own in phone numbering, so a number's country can be
 * one of them). "ZZ" and other unassigned pairs are refused.
 */
const COUNTRY_CODES: ReadonlySet<string> = new Set([
  ...Object.keys(countries.getAlpha2Codes()),
  'AC',
  'TA',
]);

export const CountryCode = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'an ISO 3166 alpha-2 code')
  .transform((v) => v.toUpperCase())
  .refine((v) => COUNTRY_CODES.has(v), 'an ISO 3166 alpha-2 code (this one is not assigned)');

export const Organization = z
  .object({
    id: z.string(),
    name: z.string(),
    authMethod: AuthMethod,
    country: z.string().nullable(),
    locale: Locale,
    smsBalance: z.number().int(),
    createdAt: z.string(),
  })
  .openapi('Organization');

export const PasswordSettings = z
  .object({
    twoFactorEnabled: z.boolean(),
    twoFactorAvailable: z.boolean(),
    skipTwoFactorCidrs: z.array(z.string()),
    smsAllowedCountries: z.array(z.string()),
    trustedDeviceDays: z.number().int(),
  })
  .openapi('PasswordSettings');

export const User = z
  .object({
    id: z.string(),
    email: z.string(),
    phone: z.string().nullable(),
    twoFactorDisabled: z.boolean(),
    role: Role,
    lockedUntil: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('User');

export const Challenge = z
  .object({
    id: z.string(),
    userId: z.string(),
    status: z.enum(CHALLENGE_STATUSES),
    maskedPhone: z.string().nullable(),
    expiresAt: z.string(),
    attemptsRemaining: z.number().int(),
    sendsRemaining: z.number().int(),
    delivery: z
      .object({
        status: z.enum(DELIVERY_STATUSES),
        errorCode: z.string().nullable(),
      })
      .nullable(),
    failureReason: z.enum(FAILURE_REASONS).nullable(),
  })
  .openapi('Challenge');

export const LoginResult = z
  .union([
    z.object({
      result: z.literal('authenticated'),
      userId: z.string(),
      reason: z.enum(SKIP_REASONS),
    }),
    z.object({ result: z.literal('challenge_required'), userId: z.string(), challenge: Challenge }),
  ])
  .openapi('LoginResult');

/** Bounded strings everywhere: nothing unbounded reaches the database. */
export const Email = z.string().trim().max(254).pipe(z.email());
export const Password = z.string().min(1).max(1024);
export const PhoneInput = z.string().max(64);
export const Ip = z.string().min(2).max(64);
/** The end user's address as the host saw it. */
export const ClientIp = Ip.refine(isValidIp, 'an IPv4 or IPv6 address');
export const DeviceToken = z.string().min(1).max(256);

export const Authenticated = z
  .object({
    result: z.literal('authenticated'),
    userId: z.string(),
    deviceToken: z.string(),
    deviceTokenExpiresAt: z.string(),
  })
  .openapi('Authenticated');
