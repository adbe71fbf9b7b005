import { describe, expect, it } from 'vitest';
import { normalizePhone, PhoneError } from './phone.ts';

/** Each number's type as libphonenumber-js's full ("max") metadata reads it. */
describe('normalizePhone refuses numbers that cannot or should not get a code', () => {
  it.each([
    ['+358600123456', 'premium-rate'], // FI premium rate (the example)
    ['+19005550199', 'premium-rate'], // US 900 (the example)
    ['+33899123456', 'premium-rate'], // FR 0899
    ['+34901123456', 'shared-cost'], // ES 901
    ['+18005550199', 'toll-free'], // US 800
    ['+447640123456', 'pager'], // GB 076
    ['+358100100', 'UAN'], // FI 0100
  ])('%s is refused as %s', (phone, type) => {
    let error: unknown;
    try {
      normalizePhone(phone);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(PhoneError);
    expect((error as Error).message).toContain(`"${phone}" is a ${type}`);
  });

  it('refuses them in national format too, read with the default country', () => {
    expect(() => normalizePhone('0600 123456', 'FI')).toThrow(/premium-rate/);
    expect(() => normalizePhone('(800) 555-0199', 'US')).toThrow(/toll-free/);
  });

  it.each([
    ['+358401234567', 'FI mobile'],
    ['+393123456789', 'IT mobile'],
    ['+14155550100', 'US fixed-line-or-mobile'],
    ['+358912345678', 'FI fixed line'],
    ['+442079460958', 'GB fixed line'],
    ['+447012345678', 'GB personal number'],
  ])('%s (%s) is kept', (phone) => {
    expect(normalizePhone(phone).e164).toBe(phone);
  });

  it('keeps VoIP numbers', () => {
    // GB 056 numbers are VoIP in the metadata.
    expect(normalizePhone('+445612345678').e164).toBe('+445612345678');
  });
});
