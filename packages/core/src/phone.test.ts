import { describe, expect, it } from 'vitest';
import { maskPhone, normalizePhone, PhoneError, phoneCountry } from './phone.ts';

describe('normalizePhone', () => {
  it.each([
    // Finnish national formats, read with the organization's country.
    ['040 1234567', 'FI', '+358401234567', 'FI'],
    ['0401234567', 'FI', '+358401234567', 'FI'],
    ['040-123 4567', 'FI', '+358401234567', 'FI'],
    ['(040) 123 4567', 'FI', '+358401234567', 'FI'],
    ['040.123.4567', 'FI', '+358401234567', 'FI'],
    ['  040 1234567  ', 'FI', '+358401234567', 'FI'],
    ['09 1234567', 'FI', '+35891234567', 'FI'],
    // International formats, whatever the organization's country.
    ['+358401234567', 'FI', '+358401234567', 'FI'],
    ['+358 40 123 4567', 'FI', '+358401234567', 'FI'],
    ['+358-40-123-4567', 'FI', '+358401234567', 'FI'],
    ['+358 (0)40 123 4567', 'FI', '+358401234567', 'FI'],
    ['00358 40 123 4567', 'FI', '+358401234567', 'FI'],
    ['+44 20 7946 0958', 'FI', '+442079460958', 'GB'],
    ['+1 (415) 555-2671', 'FI', '+14155552671', 'US'],
    ['+1 415.555.2671', null, '+14155552671', 'US'],
    ['+46 70 123 45 67', 'FI', '+46701234567', 'SE'],
    // US national formats with a US organization.
    ['(415) 555-2671', 'US', '+14155552671', 'US'],
    ['415-555-2671', 'US', '+14155552671', 'US'],
    // E.164 with no organization country at all.
    ['+358401234567', null, '+358401234567', 'FI'],
    ['+358401234567', undefined, '+358401234567', 'FI'],
  ] as const)('%j (country %s) -> %s', (input, country, e164, region) => {
    expect(normalizePhone(input, country)).toEqual({ e164, country: region });
  });

  it('reads the same national digits by the organization country', () => {
    expect(normalizePhone('0401234567', 'FI').e164).toBe('+358401234567');
    expect(normalizePhone('020 7946 0958', 'GB').e164).toBe('+442079460958');
  });

  it('still reads E.164 when the organization country is not one the phone library knows', () => {
    expect(normalizePhone('+358401234567', 'XX').e164).toBe('+358401234567');
    expect(normalizePhone('+358 40 123 4567', 'AQ').e164).toBe('+358401234567');
    expect(() => normalizePhone('040 1234567', 'XX')).toThrow(PhoneError);
  });

  it.each([
    ['a national number with no country to read it by', '040 1234567', null],
    ['too short', '12', 'FI'],
    ['a single digit', '0', 'FI'],
    ['too long', '+358 40 123 45678901', 'FI'],
    ['an unassigned country code', '+999 1234567', 'FI'],
    ['letters', 'call me', 'FI'],
    ['a vanity number', '+1 800 FLOWERS', 'US'],
    ['a plus alone', '+', 'FI'],
    ['two pluses', '++358401234567', 'FI'],
    ['an extension suffix', '0401234567x12', 'FI'],
    ['full-width digits', '+358４01234567', 'FI'],
    ['empty', '', 'FI'],
    ['blank', '   ', 'FI'],
    ['over 40 characters', `+358 ${'4'.repeat(40)}`, 'FI'],
    ['a tel: URI', 'tel:+358401234567', 'FI'],
    ['an email', 'vet@example.com', 'FI'],
    ['a valid-length number that is not a real number range', '+358 00 000 0000', 'FI'],
  ] as const)('refuses %s (%j)', (_what, input, country) => {
    expect(() => normalizePhone(input, country)).toThrow(PhoneError);
  });

  it('names the input in its message', () => {
    expect(() => normalizePhone('call me', 'FI')).toThrowError(/call me/);
  });

  it.each([
    // Refused by its characters or length, before the phone library reads it.
    ['call me', '"call me" is not a phone number'],
    ['', '"" is not a phone number'],
    ['   ', '"   " is not a phone number'],
    // Refused by the phone library: no number to read (unknown country code).
    ['+', '"+" is not a phone number'],
    ['+999 1234567', '"+999 1234567" is not a phone number'],
    // Read, but not a number in any assigned range.
    ['12', '"12" is not a valid phone number'],
    ['+358 00 000 0000', '"+358 00 000 0000" is not a valid phone number'],
  ])('refuses %j with the message %j', (input, message) => {
    expect(() => normalizePhone(input, 'FI')).toThrowError(new PhoneError(message));
  });

  // '+358' and '401234567' with spaces between: the library reads any amount of them.
  const spaced = (length: number) => `+358${' '.repeat(length - 13)}401234567`;

  it('takes up to 40 characters, not one more', () => {
    expect(spaced(40)).toHaveLength(40);
    expect(normalizePhone(spaced(40), 'FI').e164).toBe('+358401234567');
    expect(() => normalizePhone(spaced(41), 'FI')).toThrowError(
      new PhoneError(`"${spaced(41)}" is not a phone number`),
    );
  });

  it('trims before counting: surrounding blanks do not count toward the 40', () => {
    const padded = `   ${spaced(40)}\t\n  `;
    expect(padded.length).toBeGreaterThan(40);
    expect(normalizePhone(padded, 'FI')).toEqual({ e164: '+358401234567', country: 'FI' });
  });
});

describe('phoneCountry', () => {
  it('gives the region of an E.164 number, or null', () => {
    expect(phoneCountry('+358401234567')).toBe('FI');
    expect(phoneCountry('+14155552671')).toBe('US');
    expect(phoneCountry('+442079460958')).toBe('GB');
    expect(phoneCountry('not a number')).toBeNull();
  });
});

describe('maskPhone', () => {
  it.each([
    ['+358401234567', '+35840*****67'],
    ['+358507654321', '+35850*****21'],
    ['+14155552671', '+1415*****71'],
    ['+442079460958', '+44207*****58'],
  ])('%s -> %s', (e164, masked) => {
    expect(maskPhone(e164)).toBe(masked);
  });

  it('keeps the length, hides the middle, never shows more than 8 digits', () => {
    for (const e164 of ['+358401234567', '+14155552671', '+4930123456', '+861391234567801']) {
      const masked = maskPhone(e164)!;
      expect(masked).toHaveLength(e164.length);
      expect(masked.slice(-2)).toBe(e164.slice(-2));
      expect(masked).toMatch(/\*{4,}/);
      expect(masked.replace(/[^\d]/g, '').length).toBeLessThanOrEqual(8);
    }
  });

  it('masks short numbers too and passes null through', () => {
    expect(maskPhone('+4930123')).toMatch(/^\+4\*+23$/);
    expect(maskPhone('+123')).toBe('+1**');
    expect(maskPhone(null)).toBeNull();
    expect(maskPhone(undefined)).toBeNull();
    expect(maskPhone('')).toBeNull();
  });
});
