import { MAX_SMS_BALANCE } from '@twofa/core';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** Stable error codes of the contract, each with its one HTTP status. */
export const ERROR_STATUS = {
  invalid_request: 400,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  invalid_signature: 403,
  not_found: 404,
  email_taken: 409,
  two_factor_unavailable: 409,
  phone_already_set: 409,
  challenge_not_pending: 409,
  idempotency_key_in_use: 409,
  totp_already_enabled: 409,
  totp_not_enrolled: 409,
  challenge_expired: 410,
  payload_too_large: 413,
  invalid_cidr: 422,
  invalid_phone: 422,
  phone_country_not_allowed: 422,
  invalid_code: 422,
  invalid_redirect_uri: 422,
  method_not_allowed: 422,
  idempotency_key_reused: 422,
  balance_limit: 422,
  invalid_webhook_url: 422,
  challenge_locked: 423,
  user_locked: 423,
  rate_limited: 429,
  resend_too_soon: 429,
  too_many_sends: 429,
  sms_paused: 429,
  internal_error: 500,
  database_unavailable: 503,
  queue_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

const TITLES: Record<ErrorCode, string> = {
  invalid_request: 'Invalid request',
  unauthorized: 'Unauthorized',
  invalid_credentials: 'Invalid credentials',
  forbidden: 'Forbidden',
  invalid_signature: 'Invalid signature',
  not_found: 'Not found',
  email_taken: 'Email taken',
  two_factor_unavailable: 'Two-factor authentication unavailable',
  phone_already_set: 'Phone already set',
  challenge_not_pending: 'Challenge not pending',
  idempotency_key_in_use: 'Idempotency key in use',
  totp_already_enabled: 'Authenticator app already enabled',
  totp_not_enrolled: 'No authenticator enrollment to confirm',
  challenge_expired: 'Challenge expired',
  payload_too_large: 'Payload too large',
  invalid_cidr: 'Invalid CIDR',
  invalid_phone: 'Invalid phone',
  phone_country_not_allowed: 'Phone country not allowed',
  invalid_code: 'Invalid code',
  invalid_redirect_uri: 'Invalid redirect URI',
  method_not_allowed: 'Method not allowed for this challenge',
  idempotency_key_reused: 'Idempotency key reused',
  balance_limit: 'Balance limit',
  invalid_webhook_url: 'Invalid webhook URL',
  challenge_locked: 'Challenge locked',
  user_locked: 'User locked',
  rate_limited: 'Rate limited',
  resend_too_soon: 'Resend too soon',
  too_many_sends: 'Too many sends',
  sms_paused: 'SMS paused',
  internal_error: 'Internal error',
  database_unavailable: 'Database unavailable',
  queue_unavailable: 'Queue unavailable',
};

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }
}

export function problem(
  c: Context,
  code: ErrorCode,
  detail: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  const status = ERROR_STATUS[code];
  // Extra members first: they may add to the RFC 9457 members, never replace them.
  const body = {
    ...extra,
    type: 'about:blank',
    title: TITLES[code],
    status,
    code,
    detail,
    instance: c.req.path,
    requestId: c.get('requestId' as never) as string | undefined,
  };
  // Through the context, so headers set earlier in the chain (x-request-id) are kept.
  return c.body(JSON.stringify(body), status as ContentfulStatusCode, {
    ...headers,
    'content-type': 'application/problem+json',
  });
}

export const notFound = (what: string) => new ApiError('not_found', `${what} not found`);

/** 422 balance_limit: the top-up would take the balance past MAX_SMS_BALANCE; nothing changed. */
export const balanceLimit = (balance: number) =>
  new ApiError(
    'balance_limit',
    `The balance may not exceed ${MAX_SMS_BALANCE}; it is ${balance}, so at most ${Math.max(0, MAX_SMS_BALANCE - balance)} more credits fit.`,
    { balance, maxBalance: MAX_SMS_BALANCE },
  );
