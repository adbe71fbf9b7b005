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

/** A resource id: a UUID in any case, answered in lower case. */
export const Uuid = z
  .string()
  .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'a UUID')
  .transform((v) => v.toLowerCase());

/** Bounded strings everywhere: nothing unbounded reaches the database. */
export const Email = z.string().trim().max(254).pipe(z.email());
export const Password = z.string().min(1).max(1024);
/** A phone number as typed; normalized (and its country checked) by the use case. */
export const Phone = z.string().max(64);
/** A trusted device's token, as the login was given it. */
export const DeviceToken = z.string().min(1).max(256);

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
