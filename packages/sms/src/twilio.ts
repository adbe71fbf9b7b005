import twilio from 'twilio';
import type { RequestOptions } from 'twilio/lib/base/RequestClient';
import type { ProviderMessage, SmsMessage, SmsProvider, SmsSent } from './provider.ts';
import { SmsSendError } from './provider.ts';

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

  const httpClient = new BaseUrlRequestClient(opts.apiBaseUrl && parseBaseUrl(opts.apiBaseUrl), {
    timeout: timeoutMs,
    // The send job retries with its own backoff and accounting; SDK retries would hide attempts.
    autoRetry: false,
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

/** The SDK has no base-URL setting, so rewrite each request's origin before it goes out. */
class BaseUrlRequestClient extends twilio.RequestClient {
  readonly #baseUrl: string | undefined;

  constructor(
    baseUrl: string | undefined,
    options: ConstructorParameters<typeof twilio.RequestClient>[0],
  ) {
    super(options);
    this.#baseUrl = baseUrl;
  }

  override request<TData>(opts: RequestOptions<TData>) {
    if (!this.#baseUrl) return super.request(opts);
    const original = new URL(opts.uri);
    return super.request({
      ...opts,
      uri: `${this.#baseUrl}${original.pathname}${original.search}`,
    });
  }
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

interface TransportError {
  isAxiosError: true;
  code?: string;
  message: string;
  request?: { writableFinished?: boolean };
  response?: unknown;
}

/** RestException or TwilioServiceException: Twilio (or something in front of it) answered. */
interface HttpError extends Error {
  status: number;
  code?: number | string | null;
}

function isTransportError(err: unknown): err is TransportError {
  return typeof err === 'object' && err !== null && 'isAxiosError' in err && !!err.isAxiosError;
}

function isHttpError(err: unknown): err is HttpError {
  return err instanceof Error && typeof (err as Partial<HttpError>).status === 'number';
}

/**
 * Builds the error from scratch rather than wrapping: the SDK's transport errors carry the
 * request config, Authorization header included, and must not reach a log.
 */
function classifyTwilioError(err: unknown): SmsSendError {
  if (isTransportError(err)) return classifyTransportError(err);
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

function classifyTransportError(err: TransportError): SmsSendError {
  // Axios reports its own timeout as ECONNABORTED, which reads like a network abort.
  const errorCode = err.code === 'ECONNABORTED' ? 'ETIMEDOUT' : (err.code ?? null);
  if (err.response) {
    return new SmsSendError('unknown', errorCode, `Twilio's answer broke off: ${err.message}`);
  }
  // writableFinished turns true only once the whole request was handed to the OS. Before that
  // (DNS, refused or reset connect, TLS handshake, connect timeout) Twilio cannot hold a complete
  // request. After it, a reset or timeout is ambiguous, even a reset on a reused keep-alive
  // socket, so it stays unknown rather than risking a second SMS.
  if (err.request?.writableFinished === false) {
    return new SmsSendError('unavailable', errorCode, `Twilio unreachable: ${err.message}`);
  }
  return new SmsSendError('unknown', errorCode, `Twilio request outcome unknown: ${err.message}`);
}
