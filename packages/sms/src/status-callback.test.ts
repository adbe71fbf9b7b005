import { describe, expect, it } from 'vitest';
import { formParams, parseStatusCallback } from './status-callback.ts';

describe('parseStatusCallback', () => {
  it.each([
    ['sent', 'sent'],
    ['delivered', 'delivered'],
    ['read', 'delivered'],
    ['undelivered', 'undelivered'],
    ['failed', 'failed'],
    ['queued', null],
    ['sending', null],
    ['accepted', null],
    ['', null],
    ['constructor', null],
  ])('maps MessageStatus %j to %j', (messageStatus, status) => {
    expect(parseStatusCallback({ MessageSid: 'SM1', MessageStatus: messageStatus }).status).toBe(
      status,
    );
  });

  it('takes MessageSid, else the older SmsSid, else none', () => {
    expect(parseStatusCallback({ MessageSid: 'SM1', SmsSid: 'SM2' }).messageSid).toBe('SM1');
    expect(parseStatusCallback({ SmsSid: 'SM2' }).messageSid).toBe('SM2');
    expect(parseStatusCallback({}).messageSid).toBeNull();
  });

  it('carries the error code when there is one', () => {
    expect(parseStatusCallback({ ErrorCode: '30003' }).errorCode).toBe('30003');
    expect(parseStatusCallback({ ErrorCode: '' }).errorCode).toBeNull();
  });
});

describe('formParams', () => {
  it('keeps the string fields only', () => {
    expect(formParams({ a: '1', b: ['2', '3'], c: new Blob(['x']) })).toEqual({ a: '1' });
  });
});
