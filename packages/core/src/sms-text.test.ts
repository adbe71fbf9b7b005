import { describe, expect, it } from 'vitest';
import { LOCALES } from './enums.ts';
import {
  codeMessage,
  gsm7Name,
  gsm7Septets,
  SMS_SEGMENT_SEPTETS,
  SMS_SERVICE_NAME,
} from './sms-text.ts';

const HOST = 'https://login.example.com';

describe('codeMessage by locale and public URL', () => {
  it('names the organization and speaks its language, the code standing alone', () => {
    expect(codeMessage('012345', { locale: 'en', sender: 'Happy Paws' })).toBe(
      'Happy Paws: your sign-in code is 012345. It expires in 10 minutes.',
    );
    expect(codeMessage('012345', { locale: 'fi', sender: 'Tassut' })).toBe(
      'Tassut: kirjautumiskoodisi on 012345. Se vanhenee 10 minuutissa.',
    );
    expect(codeMessage('012345', { locale: 'sv', sender: 'Tassar' })).toBe(
      'Tassar: din inloggningskod är 012345. Den går ut om 10 minuter.',
    );
    for (const locale of LOCALES) {
      expect(codeMessage('012345', { locale, sender: 'Clinic 2000' }).match(/\b\d{6}\b/g)).toEqual([
        '012345',
      ]);
    }
  });

  it('names the service when it has no organization name to give', () => {
    expect(codeMessage('012345')).toBe(
      `${SMS_SERVICE_NAME}: your sign-in code is 012345. It expires in 10 minutes.`,
    );
    expect(codeMessage('012345', { sender: '🐾🐾' }).startsWith(`${SMS_SERVICE_NAME}: `)).toBe(
      true,
    );
    expect(codeMessage('012345', { sender: '   ' }).startsWith(`${SMS_SERVICE_NAME}: `)).toBe(true);
  });

  it('ends with the origin-bound line when PUBLIC_BASE_URL is set', () => {
    const text = codeMessage('987654', {
      publicBaseUrl: 'https://login.example.com:8443/app',
      sender: 'Happy Paws',
    });
    expect(text.split('\n').at(-1)).toBe('@login.example.com #987654');
    expect(text.startsWith('Happy Paws: your sign-in code is 987654.')).toBe(true);
    expect(text.split('\n')[1]).toBe('');
    expect(codeMessage('987654')).not.toContain('@');
  });

  it('stays one GSM-7 segment in every locale, however long or foreign the name', () => {
    const names = [
      'Happy Paws',
      'Eläinlääkäriasema Karvaturri ja Kumppanit Oy, Pohjois-Pohjanmaan toimipiste',
      'Klinik Čapek & Šťastný {Praha} [€]',
      'x'.repeat(300),
      '診療所',
      '^'.repeat(80),
    ];
    for (const locale of LOCALES) {
      for (const sender of names) {
        for (const publicBaseUrl of [undefined, HOST]) {
          const body = codeMessage('123456', { locale, sender, publicBaseUrl });
          const septets = gsm7Septets(body);
          expect(septets, `${locale} ${sender}`).not.toBeNull();
          expect(septets, `${locale} ${sender}`).toBeLessThanOrEqual(SMS_SEGMENT_SEPTETS);
          expect(body).toContain('123456');
        }
      }
    }
  });

  it('shortens a long name to what fits, at a whole word or letter, and never to a stub', () => {
    const long = `Eläinlääkäriasema ${'Karvaturri '.repeat(12)}`;
    const body = codeMessage('123456', { locale: 'fi', sender: long, publicBaseUrl: HOST });
    expect(gsm7Septets(body)).toBeLessThanOrEqual(SMS_SEGMENT_SEPTETS);
    const sender = body.split(': ')[0] as string;
    expect(long.startsWith(sender)).toBe(true);
    expect(sender.length).toBeGreaterThan(20);
    expect(sender).toBe(sender.trim());
    // Full: two more characters of the name (a space and a letter, or two letters) would not fit.
    const next = long.slice(0, sender.length + 2);
    const withNext = body.replace(sender, next);
    expect(gsm7Septets(withNext)).toBeGreaterThan(SMS_SEGMENT_SEPTETS);
    // A host so long that nothing but the code fits: the origin line gives way.
    const hugeHost = `https://${'a'.repeat(60)}.${'b'.repeat(60)}.example.com`;
    const bare = codeMessage('123456', {
      locale: 'en',
      sender: 'Happy Paws',
      publicBaseUrl: hugeHost,
    });
    expect(bare).toBe(
      `${SMS_SERVICE_NAME}: your sign-in code is 123456. It expires in 10 minutes.`,
    );
  });

  it('cuts the name at a space without keeping the space', () => {
    // 104 characters of room in English without an origin line: the cut lands after the space.
    const body = codeMessage('123456', {
      locale: 'en',
      sender: `${'a'.repeat(103)} ${'b'.repeat(10)}`,
    });
    expect(body).toBe(`${'a'.repeat(103)}: your sign-in code is 123456. It expires in 10 minutes.`);
    expect(gsm7Septets(body)).toBe(SMS_SEGMENT_SEPTETS - 1);
  });

  it('prefers the service name to a name cut to a stub', () => {
    // The room left by a long host is too small for 8 letters of the name.
    const host = `https://${'h'.repeat(76)}.example.com`;
    const room =
      SMS_SEGMENT_SEPTETS -
      (gsm7Septets(codeMessage('123456', { locale: 'en', sender: 'x', publicBaseUrl: host })) ??
        0) +
      1;
    expect(room).toBeLessThan(8);
    const body = codeMessage('123456', {
      locale: 'en',
      sender: 'Long Clinic Name',
      publicBaseUrl: host,
    });
    expect(body.startsWith(`${SMS_SERVICE_NAME}: `)).toBe(true);
    // A short name that fits whole is kept, however short.
    expect(codeMessage('123456', { sender: 'Vet' }).startsWith('Vet: ')).toBe(true);
  });
});

describe('gsm7Septets', () => {
  it('counts the basic alphabet as one, the extension as two, and refuses the rest', () => {
    expect(gsm7Septets('Åström @ £5')).toBe(11);
    expect(gsm7Septets('€[]')).toBe(6);
    expect(gsm7Septets('ÄÖÜäöüñàèéùìòØøÆæßÉ¡¿§¤')).toBe(23);
    expect(gsm7Septets('')).toBe(0);
    expect(gsm7Septets('Čapek')).toBeNull();
    expect(gsm7Septets('ç')).toBeNull();
    expect(gsm7Septets('🐾')).toBeNull();
  });
});

describe('gsm7Name', () => {
  it('keeps the alphabet, strips accents GSM-7 lacks, drops the rest and collapses spaces', () => {
    expect(gsm7Name('Eläinklinikka Åström')).toBe('Eläinklinikka Åström');
    expect(gsm7Name('Klinik Čapek & Šťastný')).toBe('Klinik Capek & Stastny');
    expect(gsm7Name('  Paws\t🐾  and\n Claws ')).toBe('Paws and Claws');
    expect(gsm7Name('診療所')).toBe('');
    expect(gsm7Name('Café {Ç}')).toBe('Café {Ç}');
    expect(gsm7Name('façade')).toBe('facade');
  });
});
