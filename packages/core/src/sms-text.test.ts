import { describe, expect, it } from 'vitest';
import { codeMessage } from './sms-text.ts';

describe('codeMessage by locale and public URL', () => {
  it('speaks the organization language, the code standing alone', () => {
    expect(codeMessage('012345', { locale: 'fi' })).toBe(
      'Vahvistuskoodisi on 012345. Se vanhenee 10 minuutissa.',
    );
    expect(codeMessage('012345', { locale: 'sv' })).toBe(
      'Din verifieringskod är 012345. Den går ut om 10 minuter.',
    );
    for (const locale of ['en', 'fi', 'sv'] as const) {
      expect(codeMessage('012345', { locale }).match(/\b\d{6}\b/g)).toEqual(['012345']);
    }
  });

  it('ends with the origin-bound line when PUBLIC_BASE_URL is set', () => {
    const text = codeMessage('987654', { publicBaseUrl: 'https://login.example.com:8443/app' });
    expect(text.split('\n').at(-1)).toBe('@login.example.com #987654');
    expect(text.startsWith('Your verification code is 987654.')).toBe(true);
    expect(codeMessage('987654')).not.toContain('@');
  });
});
