import { LOCALES, type Locale } from '@twofa/core';
import { type DetectorOptions, detectFromHeader } from 'hono/language';
import type { ApiError } from '../lib/errors.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import { type PageLang, pageLang } from './messages.ts';
import type { PageContext } from './session.ts';

const isLocale = (value: string | undefined): value is Locale =>
  (LOCALES as readonly string[]).includes(value ?? '');

/** Only the header: a page never sets a language cookie or reads a query. */
const HEADER_ONLY: DetectorOptions = {
  order: ['header'],
  lookupQueryString: 'lang',
  lookupCookie: 'language',
  lookupFromPathIndex: 0,
  lookupFromHeaderKey: 'accept-language',
  caches: false,
  ignoreCase: true,
  fallbackLanguage: 'en',
  supportedLanguages: [...LOCALES],
};

/**
 * The organization's language when the page knows the organization; else the
 * browser's Accept-Language among ours (hono's parser: q-values, `fi-FI` → `fi`),
 * English when none fits.
 */
export function langOf(c: PageContext, org?: CachedOrganization | null): PageLang {
  if (org) return pageLang(org.row.locale);
  const detected = detectFromHeader(c, HEADER_ONLY);
  return pageLang(isLocale(detected) ? detected : 'en');
}

/**
 * The page's own words for a refusal of the API: the `detail` of an ApiError
 * is English and part of the JSON contract, so a page shows it in no language.
 */
export function apiErrorText(lang: PageLang, error: ApiError): string {
  const { t } = lang;
  switch (error.code) {
    case 'invalid_credentials':
      return t.errInvalidCredentials;
    case 'rate_limited': {
      const seconds = Number(error.headers['retry-after'] ?? error.extra.retryAfter);
      return t.errRateLimited(Number.isFinite(seconds) && seconds > 0 ? seconds : null);
    }
    case 'user_locked': {
      const until = error.extra.lockedUntil;
      return t.errUserLocked(typeof until === 'string' ? lang.dateTime(new Date(until)) : null);
    }
    case 'challenge_expired':
      return t.errChallengeExpired;
    case 'challenge_locked':
      return t.errChallengeLocked;
    case 'challenge_not_pending':
      return t.errChallengeNotPending;
    case 'resend_too_soon': {
      const seconds = Number(error.headers['retry-after']);
      return t.errResendTooSoon(Number.isFinite(seconds) && seconds > 0 ? seconds : 30);
    }
    case 'too_many_sends':
      return t.errTooManySends;
    case 'sms_paused':
      return t.errSmsPaused;
    case 'invalid_phone':
      return t.errInvalidPhone;
    case 'phone_country_not_allowed': {
      const allowed = error.extra.allowedCountries;
      return t.errPhoneCountryNotAllowed(
        Array.isArray(allowed) ? allowed.filter((x) => typeof x === 'string').join(', ') : '',
      );
    }
    case 'phone_already_set':
      return t.errPhoneAlreadySet;
    case 'two_factor_unavailable':
      return t.errTwoFactorUnavailable;
    case 'invalid_cidr':
      return t.errInvalidCidr;
    case 'method_not_allowed':
      return t.errMethodNotAllowed;
    case 'database_unavailable':
    case 'queue_unavailable':
      return t.errUnavailable;
    default:
      return t.errGeneric;
  }
}
