/**
 * Input schemas that more than one surface accepts: the API validates request
 * bodies with them and the operator CLI its flags, so both refuse the same
 * input. Plain zod: the API's @hono/zod-openapi documents them as they are.
 */
import { AUTH_METHODS, LOCALES } from '@twofa/core';
import countries from 'i18n-iso-countries';
import { z } from 'zod';

// Postgres text cannot hold NUL: refused as bad input rather than failing in the database.
const noNul = (v: string) => !v.includes('\u0000');
const NO_NUL = 'must not contain NUL characters';

export const AuthMethod = z.enum(AUTH_METHODS);
export const Locale = z.enum(LOCALES);

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
