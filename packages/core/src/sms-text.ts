import { CODE_TTL_MS } from './constants.ts';
import type { Locale } from './enums.ts';

const MINUTES = CODE_TTL_MS / 60_000;

/** The message's first line, by the organization's locale; the code stands alone as 6 digits. */
const TEXTS: Record<Locale, (code: string) => string> = {
  en: (code) => `Your verification code is ${code}. It expires in ${MINUTES} minutes.`,
  fi: (code) => `Vahvistuskoodisi on ${code}. Se vanhenee ${MINUTES} minuutissa.`,
  sv: (code) => `Din verifieringskod är ${code}. Den går ut om ${MINUTES} minuter.`,
};

export interface CodeMessageOptions {
  locale?: Locale | null | undefined;
  /** PUBLIC_BASE_URL: when set, the last line binds the code to its host (WebOTP). */
  publicBaseUrl?: string | null | undefined;
}

/**
 * The SMS body. With a public URL its last line is the origin-bound one-time
 * code `@host #code`, so a phone's browser offers the code on that site only.
 */
export function codeMessage(code: string, options: CodeMessageOptions = {}): string {
  const text = (TEXTS[options.locale ?? 'en'] ?? TEXTS.en)(code);
  if (!options.publicBaseUrl) return text;
  // A domain, no port: the format has no place for one.
  const host = new URL(options.publicBaseUrl).hostname;
  return `${text}\n\n@${host} #${code}`;
}
