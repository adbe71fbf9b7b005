import {
  type CountryCode,
  isSupportedCountry,
  parsePhoneNumberWithError,
} from 'libphonenumber-js/max';

export class PhoneError extends Error {}

type NumberType = NonNullable<ReturnType<ReturnType<typeof parsePhoneNumberWithError>['getType']>>;

/**
 * Number types that cannot or should not receive a code, by how the refusal
 * names them. Premium-rate and shared-cost numbers bill someone for the traffic
 * we send (SMS pumping); toll-free, pager, UAN and voicemail numbers do not reach
 * a person's handset. Kept: MOBILE, FIXED_LINE_OR_MOBILE and VOIP (the issue's
 * list), and also FIXED_LINE (landline SMS exists, e.g. GB and DE), PERSONAL_NUMBER
 * (a forwarding number that rings a person) and a valid number the metadata gives
 * no type: refusing those would shut out real users for a type we cannot judge.
 */
const REFUSED_TYPES: Partial<Record<NumberType, string>> = {
  PREMIUM_RATE: 'premium-rate',
  SHARED_COST: 'shared-cost',
  TOLL_FREE: 'toll-free',
  PAGER: 'pager',
  UAN: 'UAN (universal access)',
  VOICEMAIL: 'voicemail',
};

export interface ParsedPhone {
  e164: string;
  country: string | null;
}

/**
 * Accepts E.164 or a common national/international format and returns E.164.
 * A national number needs the organization's country to be read.
 */
export function normalizePhone(input: string, defaultCountry?: string | null): ParsedPhone {
  const text = input.trim();
  // The pattern's + already refuses an empty (or all-blank) input.
  if (text.length > 40 || !/^[+\d\s().\-/]+$/.test(text)) {
    throw new PhoneError(`"${input}" is not a phone number`);
  }
  // An unknown default region makes the library refuse even full E.164 numbers.
  const region = defaultCountry && isSupportedCountry(defaultCountry) ? defaultCountry : undefined;
  let parsed: ReturnType<typeof parsePhoneNumberWithError>;
  try {
    parsed = parsePhoneNumberWithError(
      text,
      region ? { defaultCountry: region as CountryCode } : undefined,
    );
  } catch {
    throw new PhoneError(`"${input}" is not a phone number`);
  }
  if (!parsed.isValid()) throw new PhoneError(`"${input}" is not a valid phone number`);
  const type = parsed.getType();
  const refused = type ? REFUSED_TYPES[type] : undefined;
  if (refused) {
    throw new PhoneError(
      `"${input}" is a ${refused} number; codes are sent only to mobile, landline and VoIP numbers`,
    );
  }
  return { e164: parsed.number, country: parsed.country ?? null };
}

/** Country of an E.164 number, for the allowed-destinations check. */
export function phoneCountry(e164: string): string | null {
  try {
    return parsePhoneNumberWithError(e164).country ?? null;
  } catch {
    return null;
  }
}

/** "+358401234567" -> "+35840*****67": enough to recognise, not to dial. */
export function maskPhone(e164: string | null | undefined): string | null {
  if (!e164) return null;
  const keepStart = Math.min(6, Math.max(2, e164.length - 7));
  const keepEnd = 2;
  if (e164.length <= keepStart + keepEnd)
    return `${e164.slice(0, 2)}${'*'.repeat(e164.length - 2)}`;
  return (
    e164.slice(0, keepStart) +
    '*'.repeat(e164.length - keepStart - keepEnd) +
    e164.slice(e164.length - keepEnd)
  );
}
