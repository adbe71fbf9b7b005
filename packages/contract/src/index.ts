/**
 * Input schemas that more than one surface accepts: the API validates request
 * bodies with them and the operator CLI its flags, so both refuse the same
 * input. Plain zod: the API's @hono/zod-openapi documents them as they are.
 */
import { AUTH_METHODS, LOCALES } from '@twofa/core';
import { z } from 'zod';

// Postgres text cannot hold NUL: refused as bad input rather than failing in the database.
const noNul = (v: string) => !v.includes('\u0000');
const NO_NUL = 'must not contain NUL characters';

export const AuthMethod = z.enum(AUTH_METHODS);
export const Locale = z.enum(LOCALES);

export const CountryCode = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'an ISO 3166 alpha-2 code')
  .transform((v) => v.toUpperCase());

export const OrganizationName = z.string().trim().min(1).max(200).refine(noNul, NO_NUL);

/** `POST /v1/organizations`, and the CLI's `org:create`. */
export const CreateOrganizationBody = z.object({
  name: OrganizationName,
  authMethod: AuthMethod.default('password'),
  country: CountryCode.nullish(),
  locale: Locale.optional(),
});

/** `POST /v1/organizations/{orgId}/sms-credits`, and the CLI's `credits:add`. */
export const CreditTopUpBody = z.object({
  amount: z.number().int().positive().max(10_000_000),
  reference: z.string().max(200).refine(noNul, NO_NUL).nullish(),
});
