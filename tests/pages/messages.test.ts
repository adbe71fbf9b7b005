import { CATALOGS, type Messages, pageLang } from '@twofa/api';
import { LOCALES } from '@twofa/core';
import { describe, expect, it } from 'vitest';

type FunctionKey = {
  [K in keyof Messages]: Messages[K] extends (...args: never[]) => string ? K : never;
}[keyof Messages];

/** Arguments for each text with values; a new one fails the type-check until it is listed here. */
const SAMPLES: { [K in FunctionKey]: Parameters<Messages[K]>[] } = {
  signInTo: [['Happy Paws']],
  errRateLimited: [[null], [1], [42]],
  errUserLocked: [[null], ['1.12.2026 14.00 UTC']],
  errResendTooSoon: [[1], [29]],
  errPhoneCountryNotAllowed: [['FI, SE']],
  codeSentTo: [['+35840*****67']],
  attemptsLeft: [[1], [4]],
  wrongCode: [[1], [4]],
  sendsLeft: [[1], [2]],
  atOrganization: [['Happy Paws']],
  twoFactorUnavailable: [['saml2'], ['ldap']],
  cidrLineError: [[2]],
  userCount: [[1], [20]],
  matching: [['anna']],
  lockedUntil: [['1.12.2026 14.00 UTC']],
  pageOf: [[1, 3]],
  credits: [[1], [100]],
  lowBalance: [[50]],
  webhookDisabled: [['1.12.2026 14.00 UTC']],
  webhookFailingSince: [['1.12.2026 14.00 UTC']],
  appRegistered: [['Clinic app']],
  secretRotated: [['Clinic app']],
  resendWait: [[1], [29]],
  codeReplaced: [[1], [4]],
  balanceLow: [
    [1, 20],
    [5, 20],
  ],
  auditFor: [['anna@example.com']],
  auditMethod: [['code by SMS']],
  auditCredits: [[25, 125]],
  auditBalance: [[19]],
  auditDevicesRevoked: [[1], [2]],
  auditLockedUntil: [['1.12.2026 14.00 UTC']],
  backupRemaining: [[1], [9]],
  backupFileIntro: [['Happy Paws', 'anna@example.com']],
  wrongBackupCode: [[1], [4]],
};

/** Every text of a catalog as `key` (or `key.sub`, `key(args)`) → string. */
function flatten(t: Messages): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(t) as [keyof Messages, Messages[keyof Messages]][]) {
    if (typeof value === 'string') out.set(key, value);
    else if (typeof value === 'function') {
      const samples = SAMPLES[key as FunctionKey] as unknown[][];
      for (const args of samples) {
        out.set(`${key}(${JSON.stringify(args)})`, (value as (...a: unknown[]) => string)(...args));
      }
    } else {
      for (const [sub, text] of Object.entries(value)) out.set(`${key}.${sub}`, text);
    }
  }
  return out;
}

/** Names and brands, the same in every language. */
const SAME_IN_EVERY_LANGUAGE = new Set(['brand', 'titleSuffix']);

describe('the pages’ message catalogs', () => {
  const en = flatten(CATALOGS.en);

  it('have the same keys in every locale, each text non-empty', () => {
    for (const locale of LOCALES) {
      const texts = flatten(CATALOGS[locale]);
      expect([...texts.keys()].sort(), locale).toEqual([...en.keys()].sort());
      for (const [key, text] of texts) expect(text.trim(), `${locale} ${key}`).not.toBe('');
    }
  });

  it('have no Finnish or Swedish text left as the English copy', () => {
    for (const locale of ['fi', 'sv'] as const) {
      const copies = [...flatten(CATALOGS[locale])]
        .filter(([key, text]) => !SAME_IN_EVERY_LANGUAGE.has(key) && text === en.get(key))
        .map(([key]) => key);
      expect(copies, locale).toEqual([]);
    }
  });

  it('write plural forms by the language', () => {
    expect(CATALOGS.en.attemptsLeft(1)).toBe('1 attempt left.');
    expect(CATALOGS.en.attemptsLeft(4)).toBe('4 attempts left.');
    expect(CATALOGS.fi.attemptsLeft(1)).toBe('1 yritys jäljellä.');
    expect(CATALOGS.fi.attemptsLeft(4)).toBe('4 yritystä jäljellä.');
    expect(CATALOGS.sv.attemptsLeft(1)).toBe('1 försök kvar.');
    expect(CATALOGS.sv.credits(1)).toBe('1 kredit');
    expect(CATALOGS.sv.credits(2)).toBe('2 krediter');
    expect(CATALOGS.fi.errResendTooSoon(1)).toBe('Odota 1 sekunti ennen kuin pyydät uuden koodin.');
    expect(CATALOGS.fi.errResendTooSoon(30)).toBe(
      'Odota 30 sekuntia ennen kuin pyydät uuden koodin.',
    );
  });

  it('format dates in the locale, in UTC', () => {
    const at = new Date('2026-03-05T14:07:09Z');
    expect(pageLang('en').dateTime(at)).toBe('Mar 5, 2026, 2:07:09 PM UTC');
    expect(pageLang('fi').dateTime(at)).toBe('5.3.2026 klo 14.07.09 UTC');
    expect(pageLang('sv').dateTime(at)).toBe('5 mars 2026 14:07:09 UTC');
  });
});
