import { CODE_TTL_MS } from './constants.ts';
import type { Locale } from './enums.ts';

const MINUTES = CODE_TTL_MS / 60_000;

/** What the SMS says it is from when the organization's name cannot be written in it. */
export const SMS_SERVICE_NAME = 'twofa';

/** One GSM-7 segment: 160 septets. Past it a phone bills and reassembles several messages. */
export const SMS_SEGMENT_SEPTETS = 160;

/** The message's first line, by the organization's locale: who it is from, the code alone as 6 digits. */
const TEXTS: Record<Locale, (sender: string, code: string) => string> = {
  en: (sender, code) =>
    `${sender}: your sign-in code is ${code}. It expires in ${MINUTES} minutes.`,
  fi: (sender, code) =>
    `${sender}: kirjautumiskoodisi on ${code}. Se vanhenee ${MINUTES} minuutissa.`,
  sv: (sender, code) =>
    `${sender}: din inloggningskod är ${code}. Den går ut om ${MINUTES} minuter.`,
};

// The GSM 03.38 default alphabet (one septet each) and its extension table (two: escape + char).
const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM7_EXTENSION = new Set('^{}\\[~]|€\f');

/** Septets the text takes in GSM-7, or null when a character needs UCS-2 (70 a segment). */
export function gsm7Septets(text: string): number | null {
  let septets = 0;
  for (const char of text) {
    if (GSM7_BASIC.has(char)) septets += 1;
    else if (GSM7_EXTENSION.has(char)) septets += 2;
    else return null;
  }
  return septets;
}

/**
 * A name as GSM-7 can carry it: letters outside the alphabet lose their accents
 * (Č → C), what still does not fit is dropped, spaces are collapsed. A name
 * that needs UCS-2 would cut the message's room from 160 characters to 70.
 */
export function gsm7Name(name: string): string {
  let out = '';
  for (const char of name.normalize('NFC')) {
    if (/\s/.test(char)) {
      out += ' ';
      continue;
    }
    if (GSM7_BASIC.has(char) || GSM7_EXTENSION.has(char)) {
      out += char;
      continue;
    }
    const bare = char.normalize('NFD').replace(/\p{M}/gu, '');
    if (gsm7Septets(bare) !== null) out += bare;
  }
  return out.replace(/ {2,}/g, ' ').trim();
}

export interface CodeMessageOptions {
  locale?: Locale | null | undefined;
  /** PUBLIC_BASE_URL: when set, the last line binds the code to its host (WebOTP). */
  publicBaseUrl?: string | null | undefined;
  /** Who the message is from: the organization's name. */
  sender?: string | null | undefined;
}

/**
 * The SMS body: it names who sent it and stays one GSM-7 segment in every
 * locale. The organization's name is written in GSM-7 and shortened as far as
 * the segment needs; when too little of it would be left, the service's name
 * stands in. With a public URL its last line is the origin-bound one-time code
 * `@host #code`, so a phone's browser offers the code on that site only.
 */
export function codeMessage(code: string, options: CodeMessageOptions = {}): string {
  const text = TEXTS[options.locale ?? 'en'];
  // A domain, no port: the format has no place for one.
  const originLine = options.publicBaseUrl
    ? `\n\n@${new URL(options.publicBaseUrl).hostname} #${code}`
    : '';
  const fits = (body: string) =>
    (gsm7Septets(body) ?? Number.POSITIVE_INFINITY) <= SMS_SEGMENT_SEPTETS;
  const name = gsm7Name(options.sender ?? '');
  let sender = name;
  while (sender !== '' && !fits(text(sender, code) + originLine)) {
    sender = [...sender].slice(0, -1).join('').trimEnd();
  }
  // A name cut down to a few letters says less than the service's own name.
  if (sender !== '' && sender.length >= Math.min(name.length, 8)) {
    return text(sender, code) + originLine;
  }
  const service = text(SMS_SERVICE_NAME, code);
  // A host too long for the segment: the code still reaches the person, without the origin line.
  return fits(service + originLine) ? service + originLine : service;
}
