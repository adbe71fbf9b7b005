/**
 * What the worker needs from an SMS provider. Implementations classify every
 * failure, because the caller's money and duplicate-send guarantees depend on
 * knowing whether the provider took the message.
 */
export interface SmsMessage {
  to: string;
  body: string;
  /** Our own id for this send; carried in the status callback URL. */
  sendId: string;
}

export interface SmsSent {
  providerMessageId: string;
  /** Provider's initial status, e.g. "queued" or "accepted". */
  status: string;
}

/**
 * - `rejected`: the provider definitively refused the message (a 4xx other than 429). Never retry; refund.
 * - `unavailable`: the provider did not take the message (connection refused, 5xx, 429). Safe to retry.
 * - `unknown`: the request may have reached the provider (timeout after sending). Never resend automatically.
 */
export type SmsFailureKind = 'rejected' | 'unavailable' | 'unknown';

export class SmsSendError extends Error {
  constructor(
    readonly kind: SmsFailureKind,
    /** Provider error code or HTTP status, as a string, when there is one. */
    readonly errorCode: string | null,
    message: string,
  ) {
    super(message);
    this.name = 'SmsSendError';
  }
}

/** A message as the provider's own records show it, for settling a send whose outcome was lost. */
export interface ProviderMessage {
  providerMessageId: string;
  to: string;
  /** Null when the provider does not return bodies (e.g. redacted). */
  body: string | null;
  status: string;
  createdAt: Date | null;
  sentAt: Date | null;
  /** Only when the provider returns it (Twilio's Messages resource does not). */
  statusCallback: string | null;
}

export interface SmsProvider {
  readonly name: string;
  send(message: SmsMessage): Promise<SmsSent>;
  /**
   * The provider's messages to a number created since a moment, from its own
   * records. Throws SmsSendError('unavailable') when the provider cannot be asked.
   * Optional: without it, an `unknown` send stays unknown until a receipt comes.
   */
  findMessages?(query: { to: string; since: Date }): Promise<ProviderMessage[]>;
  /** Account balance in the provider's currency, when the provider reports one. */
  balance?(): Promise<{ balance: number; currency: string } | null>;
}
