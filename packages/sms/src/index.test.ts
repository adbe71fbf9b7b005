import { describe, expect, it } from 'vitest';
import { createSmsProvider } from './index.ts';

const twilio = { accountSid: `AC${'0'.repeat(32)}`, authToken: 'token', from: '+15005550006' };
const silent = { info: () => {} };

describe('createSmsProvider', () => {
  it('uses Twilio when its credentials are set', () => {
    expect(createSmsProvider({ twilio }).name).toBe('twilio');
  });

  it('falls back to the console without credentials, empty values included', () => {
    expect(createSmsProvider({ logger: silent }).name).toBe('console');
    expect(createSmsProvider({ twilio: { accountSid: '', authToken: '' } }).name).toBe('console');
  });

  it('follows an explicit choice', () => {
    expect(createSmsProvider({ provider: 'console', twilio, logger: silent }).name).toBe('console');
    expect(createSmsProvider({ provider: 'twilio', twilio }).name).toBe('twilio');
  });

  it('refuses Twilio without its settings', () => {
    expect(() => createSmsProvider({ provider: 'twilio' })).toThrow(/TWILIO_ACCOUNT_SID/);
    expect(() => createSmsProvider({ twilio: { ...twilio, from: '' } })).toThrow(/TWILIO_FROM/);
  });

  it('refuses the console provider in production, chosen or by default', () => {
    expect(() => createSmsProvider({ nodeEnv: 'production' })).toThrow(/production/);
    expect(() => createSmsProvider({ provider: 'console', nodeEnv: 'production', twilio })).toThrow(
      /production/,
    );
    expect(createSmsProvider({ nodeEnv: 'production', twilio }).name).toBe('twilio');
  });

  it('refuses an unknown provider name', () => {
    const provider = 'sns' as 'console';
    expect(() => createSmsProvider({ provider })).toThrow(/Unknown SMS provider "sns"/);
  });
});
