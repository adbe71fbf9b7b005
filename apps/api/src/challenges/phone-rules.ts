import { normalizePhone, PhoneError, phoneCountry } from '@twofa/core';
import { ApiError } from '../lib/errors.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';

/** Normalizes a phone with the organization's country as the default region. */
export function parsePhone(org: CachedOrganization, input: string): string {
  try {
    return normalizePhone(input, org.row.country).e164;
  } catch (error) {
    if (error instanceof PhoneError) throw new ApiError('invalid_phone', error.message);
    throw error;
  }
}

/**
 * A user's phone as POST/PATCH /v1/users take it: normalized, and inside the
 * organization's allowed SMS countries (else the user could never get a code).
 */
export function parseUserPhone(org: CachedOrganization, input: string): string {
  const phone = parsePhone(org, input);
  assertDestinationAllowed(org, phone);
  return phone;
}

/** Refuses a destination outside the organization's allowed countries, before any credit is spent. */
export function assertDestinationAllowed(org: CachedOrganization, phone: string): void {
  const allowed = org.row.smsAllowedCountries;
  if (allowed.length === 0) return;
  const country = phoneCountry(phone);
  if (!country || !allowed.includes(country)) {
    throw new ApiError(
      'phone_country_not_allowed',
      `Codes may only be sent to numbers in ${allowed.join(', ')}; this number is in ${country ?? 'an unknown country'}.`,
      { allowedCountries: allowed, country },
    );
  }
}
