import { LOCALES, type Locale } from '@twofa/core';
import { MessagePage } from '../pages/layout.tsx';
import { type PageLang, pageLang } from '../pages/messages.ts';

/** The first of our languages the browser accepts (the organization is not known here). */
export function langFromHeader(header: string | undefined): PageLang {
  const wanted = (header ?? '')
    .split(',')
    .map((part) => part.trim().split(';')[0]?.split('-')[0]?.toLowerCase() ?? '');
  const locale = wanted.find((tag): tag is Locale => (LOCALES as readonly string[]).includes(tag));
  return pageLang(locale ?? 'en');
}

/**
 * The page for a request the prompt cannot trust (an unknown client or
 * request_uri, a used one, an interaction opened in another browser): it
 * never redirects, since the redirect URI itself is not verified.
 */
export async function renderPromptErrorPage(acceptLanguage: string | undefined): Promise<string> {
  const lang = langFromHeader(acceptLanguage);
  const page = (
    <MessagePage
      lang={lang}
      title={lang.t.promptCannotContinueTitle}
      message={lang.t.promptCannotContinue}
    />
  );
  return `<!doctype html>${await page.toString()}`;
}
