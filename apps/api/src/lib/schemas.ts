import { z } from '@hono/zod-openapi';
import {
  CHALLENGE_STATUSES,
  DELIVERY_STATUSES,
  FAILURE_REASONS,
  isValidIp,
  LEDGER_REASONS,
  ROLES,
  SECOND_FACTOR_METHODS,
  SKIP_REASONS,
} from '@twofa/core';

// Shared with the operator CLI, which validates its flags with the same schemas.
// The pages parse their forms with the same ones, so a page never accepts what the API refuses.
export {
  AuthMethod,
  CountryCode,
  CreateOrganizationBody,
  CreditTopUpBody,
  DeviceToken,
  Email,
  Locale,
  OrganizationName,
  Password,
  Phone as PhoneInput,
  Uuid,
} from '@twofa/contract';

import { AuthMethod, Locale } from '@twofa/contract';

export const Role = z.enum(ROLES);
export const LedgerReason = z.enum(LEDGER_REASONS);
export const SecondFactorMethod = z.enum(SECOND_FACTOR_METHODS);
/** A non-empty subset of the second factors; an empty or unknown one is 400 invalid_request. */
export const SecondFactorMethods = z
  .array(SecondFactorMethod)
  .min(1, 'at least one method')
  .max(SECOND_FACTOR_METHODS.length * 2);

export const Organization = z
  .object({
    id: z.string(),
    name: z.string(),
    slug: z.string().openapi({
      description:
        'Short readable name from `name` at creation, unique and kept on rename: `/login?org=happy-paws`',
      example: 'happy-paws',
    }),
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
    methods: z.array(SecondFactorMethod).openapi({
      description: 'The second factors the organization allows (sms, totp, backup_code)',
    }),
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
    totpEnabled: z.boolean(),
    backupCodesRemaining: z.number().int(),
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
    methods: z.array(SecondFactorMethod).openapi({
      description: 'What the challenge accepts, in the order a page offers them',
    }),
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

export const Ip = z.string().min(2).max(64);
/** The end user's address as the host saw it. */
export const ClientIp = Ip.refine(isValidIp, 'an IPv4 or IPv6 address');

export const Authenticated = z
  .object({
    result: z.literal('authenticated'),
    userId: z.string(),
    deviceToken: z.string(),
    deviceTokenExpiresAt: z.string(),
    method: SecondFactorMethod,
  })
  .openapi('Authenticated');
