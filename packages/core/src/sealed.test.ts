import { createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  openSecret,
  SealedSecretError,
  sealedUnderOldKey,
  sealKeyId,
  sealSecret,
} from './sealed.ts';

const CURRENT = 'current-app-secret-0123456789abcdef';
const OLD = 'old-app-secret-0123456789abcdef-old';

describe('sealed secrets', () => {
  it('opens what it sealed, and the sealed text holds no plaintext', () => {
    const sealed = sealSecret(CURRENT, 'totp-secret', 'JBSWY3DPEHPK3PXP', 'user-1');
    expect(sealed).not.toContain('JBSWY3DPEHPK3PXP');
    expect(openSecret([CURRENT], 'totp-secret', sealed, 'user-1')).toBe('JBSWY3DPEHPK3PXP');
  });

  it('seals the same text differently each time', () => {
    expect(sealSecret(CURRENT, 'totp-secret', 'x')).not.toBe(
      sealSecret(CURRENT, 'totp-secret', 'x'),
    );
  });

  it('refuses another purpose, another context, another key or a changed byte', () => {
    const sealed = sealSecret(CURRENT, 'webhook-secret', 'whsec_abc', 'hook-1');
    expect(() => openSecret([CURRENT], 'totp-secret', sealed, 'hook-1')).toThrow(SealedSecretError);
    expect(() => openSecret([CURRENT], 'webhook-secret', sealed, 'hook-2')).toThrow(
      SealedSecretError,
    );
    expect(() => openSecret([OLD], 'webhook-secret', sealed, 'hook-1')).toThrow(/no key/);
    const parts = sealed.split('.');
    const body = Buffer.from(parts[3] ?? '', 'base64url');
    body[0] = (body[0] ?? 0) ^ 1;
    parts[3] = body.toString('base64url');
    expect(() => openSecret([CURRENT], 'webhook-secret', parts.join('.'), 'hook-1')).toThrow(
      /does not authenticate/,
    );
    expect(() => openSecret([CURRENT], 'webhook-secret', 'garbage', 'hook-1')).toThrow(/malformed/);
  });

  it('opens a value sealed under the previous APP_SECRET after rotation, and says it is old', () => {
    const sealed = sealSecret(OLD, 'oidc-signing-key', '{"k":1}');
    expect(openSecret([CURRENT, OLD], 'oidc-signing-key', sealed)).toBe('{"k":1}');
    expect(sealedUnderOldKey(CURRENT, sealed)).toBe(true);
    expect(sealedUnderOldKey(OLD, sealed)).toBe(false);
  });

  it('is AES-256-GCM under HKDF-SHA256(APP_SECRET, "twofa-sealed", purpose), as documented', () => {
    const sealed = sealSecret(CURRENT, 'webhook-secret', 'whsec_päivää', 'hook-9');
    const [version, keyId, iv, body, tag] = sealed.split('.');
    expect(version).toBe('v1');
    const keyOf = (purpose: string) =>
      Buffer.from(hkdfSync('sha256', CURRENT, 'twofa-sealed', purpose, 32));
    expect(keyId).toBe(
      createHash('sha256')
        .update(keyOf('totp-secret'))
        .update('key-id')
        .digest('base64url')
        .slice(0, 8),
    );
    expect(sealKeyId(CURRENT)).toHaveLength(8);
    const decipher = createDecipheriv(
      'aes-256-gcm',
      keyOf('webhook-secret'),
      Buffer.from(iv ?? '', 'base64url'),
    );
    decipher.setAAD(Buffer.from('webhook-secret\u0000hook-9'));
    decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
    const clear = Buffer.concat([
      decipher.update(Buffer.from(body ?? '', 'base64url')),
      decipher.final(),
    ]).toString('utf8');
    expect(clear).toBe('whsec_päivää');
  });

  it('refuses every malformed form, with its own error type', () => {
    const [, keyId, iv, body, tag] = sealSecret(CURRENT, 'totp-secret', 'x').split('.');
    for (const parts of [
      ['v2', keyId, iv, body, tag],
      ['v1', '', iv, body, tag],
      ['v1', keyId, '', body, tag],
      ['v1', keyId, iv],
      ['v1', keyId, iv, body, ''],
      ['v1', keyId, iv, body],
    ]) {
      const error = (() => {
        try {
          openSecret([CURRENT], 'totp-secret', parts.join('.'));
        } catch (caught) {
          return caught;
        }
        return null;
      })();
      expect(error, parts.join('.')).toBeInstanceOf(SealedSecretError);
      expect((error as Error).name).toBe('SealedSecretError');
      expect((error as Error).message).toMatch(/malformed/);
    }
  });
});
