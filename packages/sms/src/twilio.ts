import twilio from 'twilio';
import type { ProviderMessage, SmsMessage, SmsProvider, SmsSent } from './provider.ts';
import { SmsSendError } from './provider.ts';
import { TwilioTransportError, UndiciRequestClient } from './twilio-http.ts';

export interface TwilioProviderOptions {
  accountSid: string;
  authToken: string;
  /** A sender phone number, or a Messaging Service SID (`MG...`). */
  from: string;
  /** Where the SDK's REST calls go instead of Twilio's own host (simulators, tests). */
  apiBaseUrl?: string;
  /** The service's public URL; when set, messages carry a status callback to it. */
  statusCallbackBaseUrl?: string;
  /** Per request, from the start of connecting until the answer's headers. */
  timeoutMs?: number;
}

export interface TwilioSmsProvider extends SmsProvider {
  readonly name: 'twilio';
  balance(): Promise<{ balance: number; currency: string } | null>;
  findMessages(query: { to: string; since: Date }): Promise<ProviderMessage[]>;
}

/** Messages to one number a lookup reads at most, per query (the destination limit is 10 an hour). */
const LOOKUP_LIMIT = 100;

export const DEFAULT_TWILIO_TIMEOUT_MS = 10_000;

export function createTwilioProvider(opts: TwilioProviderOptions): TwilioSmsProvider {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TWILIO_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    // The SDK silently turns 0 into its 30 s default.
    throw new RangeError(`timeoutMs must be a positive integer, got ${timeoutMs}`);
  }
  if (!opts.from) throw new Error('Twilio sender (TWILIO_FROM) is required');

  // The SDK has no base-URL setting: the client rewrites each request's origin. It never
  // retries: the send job retries with its own backoff and accounting.
  const httpClient = new UndiciRequestClient({
    baseUrl: opts.apiBaseUrl && parseBaseUrl(opts.apiBaseUrl),
    timeoutMs,
  });
  const client = twilio(opts.accountSid, opts.authToken, { httpClient });
  const sender = opts.from.startsWith('MG')
    ? { messagingServiceSid: opts.from }
    : { from: opts.from };
  const callbackBase = opts.statusCallbackBaseUrl && parseBaseUrl(opts.statusCallbackBaseUrl);

  return {
    name: 'twilio',

    async send({ to, body, sendId }: SmsMessage): Promise<SmsSent> {
      let message: { sid?: string; status?: string };
      try {
        message = await client.messages.create({
          to,
          body,
          ...sender,
          ...(callbackBase && { statusCallback: statusCallbackUrl(callbackBase, sendId) }),
        });
      } catch (err) {
        throw classifyTwilioError(err);
      }
      if (!message.sid) {
        // A 2xx means something took the request; without a sid we cannot tell what.
        throw new SmsSendError('unknown', null, 'Twilio answered 2xx without a message sid');
      }
      return { providerMessageId: message.sid, status: message.status ?? 'queued' };
    },

    async findMessages({ to, since }) {
      type Listed = Awaited<ReturnType<typeof client.messages.list>>;
      let sentSince: Listed;
      let recent: Listed;
      try {
        // `DateSent>` finds what went out since the claim; a message the provider
        // took but still holds in its queue has no date_sent yet, so the newest
        // messages to the number are read as well and filtered on date_created.
        [sentSince, recent] = await Promise.all([
          client.messages.list({ to, dateSentAfter: since, limit: LOOKUP_LIMIT }),
          client.messages.list({ to, limit: LOOKUP_LIMIT }),
        ]);
      } catch (err) {
        const failure = classifyTwilioError(err);
        // Reading is always safe to repeat: any doubt is "ask again later".
        throw new SmsSendError('unavailable', failure.errorCode, failure.message);
      }
      const found = new Map<string, ProviderMessage>();
      for (const m of [...sentSince, ...recent]) {
        const createdAt = m.dateCreated ?? null;
        if (createdAt && createdAt < since && !(m.dateSent && m.dateSent >= since)) continue;
        found.set(m.sid, {
          providerMessageId: m.sid,
          to: m.to,
          body: m.body ?? null,
          status: m.status,
          createdAt,
          sentAt: m.dateSent ?? null,
          statusCallback: null,
        });
      }
      return [...found.values()];
    },

    async balance() {
      let result: { balance: string; currency: string };
      try {
        result = await client.api.v2010.accounts(opts.accountSid).balance.fetch();
      } catch (err) {
        throw classifyTwilioError(err);
      }
      // Subaccounts report no balance.
      const balance = Number.parseFloat(result.balance);
      return Number.isFinite(balance) ? { balance, currency: result.currency } : null;
    },
  };
}

/** Validates eagerly, so a typo fails at startup rather than as an unclassifiable send error. */
function parseBaseUrl(value: string): string {
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Expected an http(s) URL, got ${value}`);
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function statusCallbackUrl(base: string, sendId: string): string {
  return `${base}/webhooks/twilio/status?${new URLSearchParams({ sendId })}`;
}

/** RestException or TwilioServiceException: Twilio (or something in front of it) answered. */
interface HttpError extends Error {
  status: number;
  code?: number | string | null;
}

function isHttpError(err: unknown): err is HttpError {
  return err instanceof Error && typeof (err as Partial<HttpError>).status === 'number';
}

/**
 * Builds the error from scratch rather than wrapping: the SDK's transport errors carry the
 * request config, Authorization header included, and must not reach a log.
 */
function classifyTwilioError(err: unknown): SmsSendError {
  if (err instanceof TwilioTransportError) return classifyTransportError(err);
  if (isHttpError(err)) {
    const { status, code } = err;
    const errorCode = code === undefined || code === null ? String(status) : String(code);
    const what = `Twilio answered HTTP ${status}${errorCode === String(status) ? '' : ` (${errorCode})`}`;
    // 3xx and 5xx: nothing was created. 429: throttled before being accepted.
    if (status === 429 || status < 400 || status >= 500) {
      return new SmsSendError('unavailable', errorCode, `${what}: ${err.message}`);
    }
    return new SmsSendError('rejected', errorCode, `${what}: ${err.message}`);
  }
  const message = err instanceof Error ? err.message : String(err);
  // Nothing shows the request stayed local, so it may have gone out.
  return new SmsSendError('unknown', null, `Twilio call failed: ${message}`);
}

function classifyTransportError(err: TwilioTransportError): SmsSendError {
  const { code } = err;
  switch (err.phase) {
    case 'answering':
      return new SmsSendError('unknown', code, `Twilio's answer broke off: ${err.message}`);
    case 'not-sent':
      // Not one complete request was written (DNS, refused or reset connect, TLS handshake,
      // a timeout while waiting for a connection): Twilio cannot hold it.
      return new SmsSendError('unavailable', code, `Twilio unreachable: ${err.message}`);
    case 'sent':
      // Written whole, then a reset or timeout: ambiguous, even a reset on a reused keep-alive
      // socket, so it stays unknown rather than risking a second SMS.
      return new SmsSendError('unknown', code, `Twilio request outcome unknown: ${err.message}`);
    default:
      return err.phase satisfies never;
  }
}
