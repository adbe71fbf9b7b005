import { describe, expect, it } from 'vitest';
import {
  CODE_LENGTH,
  CODE_TTL_MS,
  MAX_SENDS_PER_CHALLENGE,
  MAX_WRONG_ATTEMPTS,
  RESEND_COOLDOWN_MS,
  TRUSTED_DEVICE_DAYS,
  TRUSTED_DEVICE_TTL_MS,
} from './constants.ts';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const DAY = 24 * 60 * MINUTE;

/** The product rules as the API contract (docs/api.md) states them. */
describe('product rules match the contract', () => {
  it.each([
    ['a code is 6 digits', CODE_LENGTH, 6],
    ['a code lives 10 minutes', CODE_TTL_MS, 10 * MINUTE],
    ['a challenge takes 5 wrong codes', MAX_WRONG_ATTEMPTS, 5],
    ['a challenge sends at most 5 codes', MAX_SENDS_PER_CHALLENGE, 5],
    ['a resend waits 30 s after the last send', RESEND_COOLDOWN_MS, 30 * SECOND],
    ['a device token is good for 30 days', TRUSTED_DEVICE_DAYS, 30],
    ['a device token is good for 30 days, in ms', TRUSTED_DEVICE_TTL_MS, 30 * DAY],
  ])('%s', (_rule, actual, expected) => {
    expect(actual).toBe(expected);
  });

  it('a device trusted at midnight on 1 January is trusted until midnight on 31 January', () => {
    const start = Date.UTC(2026, 0, 1);
    expect(new Date(start + TRUSTED_DEVICE_TTL_MS).toISOString()).toBe('2026-01-31T00:00:00.000Z');
  });
});
