import { codeMessage, hashSecret } from '@twofa/core';
import type { ProviderMessage } from '@twofa/sms';
import { describe, expect, it } from 'vitest';
import { matchProviderMessage } from './settle-unknown.ts';

const SECRET = 'test-app-secret-0123456789abcdef';
const sendingAt = new Date('2030-01-01T12:00:00Z');
const send = { id: 'send-1', codeHash: hashSecret(SECRET, 'code', '123456', 'send-1'), sendingAt };

function message(overrides: Partial<ProviderMessage>): ProviderMessage {
  return {
    providerMessageId: 'SM1',
    to: '+358401234567',
    body: codeMessage('654321'),
    status: 'sent',
    createdAt: new Date(sendingAt.getTime() + 1_000),
    sentAt: new Date(sendingAt.getTime() + 1_000),
    statusCallback: null,
    ...overrides,
  };
}

describe('matchProviderMessage', () => {
  it("matches the message whose code hashes to this send's code hash", () => {
    const ours = message({ providerMessageId: 'SM2', body: codeMessage('123456') });
    const match = matchProviderMessage(send, [message({}), ours], SECRET, 30_000);
    expect(match).toEqual({ kind: 'certain', message: ours });
  });

  it("ignores another send's message to the same number", () => {
    expect(matchProviderMessage(send, [message({})], SECRET, 30_000)).toEqual({ kind: 'none' });
    // The same code under another send id hashes differently.
    const other = { ...send, id: 'send-2' };
    const body = codeMessage('123456');
    expect(matchProviderMessage(other, [message({ body })], SECRET, 30_000).kind).toBe('none');
  });

  it('matches on a status callback carrying the send id', () => {
    const m = message({ statusCallback: 'https://x.example/webhooks/twilio/status?sendId=send-1' });
    expect(matchProviderMessage(send, [m], SECRET, 30_000).kind).toBe('certain');
  });

  it('counts an unreadable body in the window as found, never as missing', () => {
    expect(matchProviderMessage(send, [message({ body: null })], SECRET, 30_000).kind).toBe(
      'ambiguous',
    );
    const long = new Date(sendingAt.getTime() - 10 * 60_000);
    expect(
      matchProviderMessage(
        send,
        [message({ body: null, createdAt: long, sentAt: long })],
        SECRET,
        30_000,
      ).kind,
    ).toBe('none');
  });

  it('finds nothing in an empty record', () => {
    expect(matchProviderMessage(send, [], SECRET, 30_000)).toEqual({ kind: 'none' });
  });
});
