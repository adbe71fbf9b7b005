import { LOCALES, type Locale } from '@twofa/core';
import { MessagePage } from './layout.tsx';
import { type PageLang, pageLang } from './messages.ts';

/** The first of our languages the browser accepts (the organization is not known here). */
export function langFromHeader(header: string | undefined): PageLang {
  const wanted = (header ?? '')
    .split(',')
    .map((part) => part.trim().split(';')[0]?.split('-')[0]?.toLowerCase() ?? '');
  const locale = wanted.find((tag): tag is Locale => (LOCALES as readonly string[]).includes(tag));
  return pageLang(locale ?? 'en');
}

/**
 * The pages shown where no organization is known, so in the browser's language:
 * - `cannotContinue`: a request the prompt cannot trust (an unknown client or
 *   request_uri, a used one, an interaction opened in another browser). It never
 *   redirects, since the redirect URI itself is not verified.
 * - `unavailable`: Postgres or Redis did not answer. Nothing was decided, so the
 *   same address works again once they do.
 */
export type ErrorPageKind = 'cannotContinue' | 'unavailable';

export async function renderErrorPage(
  acceptLanguage: string | undefined,
  kind: ErrorPageKind,
): Promise<string> {
  const lang = langFromHeader(acceptLanguage);
  const { t } = lang;
  const page =
    kind === 'unavailable' ? (
      <MessagePage lang={lang} title={t.unavailableTitle} message={t.errUnavailable} />
    ) : (
      <MessagePage
        lang={lang}
        title={t.promptCannotContinueTitle}
        message={t.promptCannotContinue}
      />
    );
  return `<!doctype html>${await page.toString()}`;
}

/** How long a browser or an app is asked to wait after a 503 (`Retry-After`), in seconds. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;
