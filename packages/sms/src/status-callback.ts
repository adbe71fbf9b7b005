/** What a Twilio status callback settles a send to; the in-between statuses change nothing. */
export type ReceiptStatus = 'sent' | 'delivered' | 'undelivered' | 'failed';

/** Twilio message statuses (`MessageStatus`) that settle a send. */
export const TWILIO_RECEIPT_STATUS: Readonly<Record<string, ReceiptStatus>> = {
  sent: 'sent',
  delivered: 'delivered',
  read: 'delivered',
  undelivered: 'undelivered',
  failed: 'failed',
};

/** A status callback's form, as Twilio posts it (`application/x-www-form-urlencoded`). */
export interface StatusCallback {
  /** The message's SID (`MessageSid`, or the older `SmsSid`); null when the form names none. */
  messageSid: string | null;
  /** The status it settles to; null for one that settles nothing (queued, sending, ...). */
  status: ReceiptStatus | null;
  errorCode: string | null;
}

/** The string fields of a parsed form: what Twilio signed, and all a callback carries. */
export function formParams(form: Record<string, unknown>): Record<string, string> {
  const params: Record<string, string> = {};
  for (const [key, value] of Object.entries(form)) {
    if (typeof value === 'string') params[key] = value;
  }
  return params;
}

export function parseStatusCallback(params: Record<string, string>): StatusCallback {
  return {
    messageSid: params.MessageSid ?? params.SmsSid ?? null,
    // Own keys only: a status named like an Object.prototype member settles nothing.
    status: Object.hasOwn(TWILIO_RECEIPT_STATUS, params.MessageStatus ?? '')
      ? TWILIO_RECEIPT_STATUS[params.MessageStatus ?? '']!
      : null,
    errorCode: params.ErrorCode ? String(params.ErrorCode) : null,
  };
}
