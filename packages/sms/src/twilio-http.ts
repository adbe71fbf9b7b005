import twilio from 'twilio';
import type { RequestOptions } from 'twilio/lib/base/RequestClient';
import type Response from 'twilio/lib/http/response';
import { Agent, type Dispatcher, util } from 'undici';

/** The SDK's answer shape (`twilio/lib/http/response`): the SDK parses a string body itself. */
export interface TwilioHttpResponse {
  statusCode: number;
  body: string;
  headers: Record<string, string | string[]>;
}

/**
 * How far a failed exchange got, which is what decides whether the message may exist:
 * - `not-sent`: no byte of the request was written (queued, refused, connect or TLS failure,
 *   or only part of it was written); Twilio cannot hold a complete request.
 * - `sent`: the whole request was written and no answer came (timeout, reset).
 * - `answering`: the answer's headers came and the rest broke off.
 */
export type TransportPhase = 'not-sent' | 'sent' | 'answering';

/**
 * A failure below HTTP. Carries no request options: the Authorization header must not
 * reach a log through it.
 */
export class TwilioTransportError extends Error {
  constructor(
    readonly phase: TransportPhase,
    /** A Node-style code: ECONNREFUSED, ETIMEDOUT, ECONNRESET, ... */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'TwilioTransportError';
  }
}

export interface UndiciRequestClientOptions {
  /** Origin and path prefix every request goes to instead of the SDK's host (already validated). */
  baseUrl?: string | undefined;
  /** Per request, from the moment it is made (queue wait included) until the whole answer. */
  timeoutMs: number;
  /** Connections kept per origin; requests beyond them wait (within their timeout). */
  connections?: number;
}

const DEFAULT_CONNECTIONS = 64;

/** Node-style codes for undici's own, so the classification and the stored error codes stay as before. */
const UNDICI_CODES: Record<string, string> = {
  UND_ERR_CONNECT_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_HEADERS_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_BODY_TIMEOUT: 'ETIMEDOUT',
  UND_ERR_SOCKET: 'ECONNRESET',
  UND_ERR_ABORTED: 'ECONNABORTED',
};

function nodeCode(err: Error): string {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return 'EUNKNOWN';
  return UNDICI_CODES[code] ?? code;
}

/**
 * The SDK's HTTP client on undici: keep-alive connections, bounded per origin, and no axios
 * (about a fifth of a worker's CPU went to it). It extends the SDK's RequestClient only because
 * the SDK's option is typed by that class; none of the parent's request path runs. No retries:
 * the send job retries with its own backoff and accounting.
 */
export class UndiciRequestClient extends twilio.RequestClient {
  readonly #agent: Agent;
  readonly #baseUrl: string | undefined;
  readonly #timeoutMs: number;

  constructor(opts: UndiciRequestClientOptions) {
    super({ timeout: opts.timeoutMs, autoRetry: false });
    this.#baseUrl = opts.baseUrl;
    this.#timeoutMs = opts.timeoutMs;
    this.#agent = new Agent({
      connections: opts.connections ?? DEFAULT_CONNECTIONS,
      pipelining: 1,
      // Backstops; the per-request deadline below is the one that applies.
      connect: { timeout: opts.timeoutMs },
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
  }

  override async request<TData>(opts: RequestOptions<TData>): Promise<Response<TData>> {
    return sdkResponse<TData>(await this.send(opts));
  }

  /** The request as made; what `request` answers, typed as it really is. */
  async send(opts: RequestOptions<unknown>): Promise<TwilioHttpResponse> {
    if (!opts.method) throw new Error('http method is required');
    if (!opts.uri) throw new Error('uri is required');
    const headers: Record<string, string> = { ...opts.headers };
    // The SDK's own client sets one; undici manages connections itself and refuses most values.
    delete headers.Connection;
    delete headers.connection;
    if (opts.username && opts.password) {
      headers.Authorization = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString('base64')}`;
    } else if (opts.authStrategy) {
      headers.Authorization = await opts.authStrategy.getAuthString();
    }
    const url = this.#target(opts.uri, opts.params);
    const body = encodeBody(opts.data, headers['Content-Type']);
    return this.#exchange(
      {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: opts.method.toUpperCase() as Dispatcher.HttpMethod,
        headers,
        ...(body !== undefined && { body }),
      },
      opts.timeout || this.#timeoutMs,
    );
  }

  /** Closes the kept connections; requests in flight finish first. */
  close(): Promise<void> {
    return this.#agent.close();
  }

  #target(uri: string, params: object | undefined): URL {
    const original = new URL(uri);
    const url = this.#baseUrl
      ? new URL(`${this.#baseUrl}${original.pathname}${original.search}`)
      : original;
    if (params) {
      for (const [key, value] of formEntries(params)) url.searchParams.append(key, value);
    }
    return url;
  }

  #exchange(options: Dispatcher.DispatchOptions, timeoutMs: number): Promise<TwilioHttpResponse> {
    return new Promise((resolve, reject) => {
      const exchange = new Exchange(resolve, reject);
      const deadline = setTimeout(() => exchange.timeOut(timeoutMs), timeoutMs);
      exchange.onSettled = () => clearTimeout(deadline);
      this.#agent.dispatch(options, exchange);
    });
  }
}

/**
 * The SDK types an answer's body with the type of the request's data, which no client can
 * honour (its own returns parsed JSON); every caller in the SDK takes a string or an object.
 */
function sdkResponse<TData>(response: TwilioHttpResponse): Response<TData> {
  return response as unknown as Response<TData>;
}

/**
 * One request's handler. What it saw (onConnect: about to be written; onRequestSent: written
 * whole; onHeaders: answered) decides a failure's phase.
 */
class Exchange implements Dispatcher.DispatchHandlers {
  onSettled: (() => void) | undefined;
  #settled = false;
  #written = false;
  #answered = false;
  #abort: ((err?: Error) => void) | undefined;
  #statusCode = 0;
  #headers: Record<string, string | string[]> = {};
  readonly #chunks: Buffer[] = [];

  constructor(
    private readonly resolve: (response: TwilioHttpResponse) => void,
    private readonly reject: (err: TwilioTransportError) => void,
  ) {}

  onConnect(abort: (err?: Error) => void): void {
    // Timed out while it waited for a connection: it is dropped before any byte goes out.
    if (this.#settled) abort(new Error('request timed out before it was sent'));
    else this.#abort = abort;
  }

  /** undici calls it once the whole request was handed to the socket (absent from its types). */
  onRequestSent(): void {
    this.#written = true;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true;
    this.#answered = true;
    this.#statusCode = statusCode;
    this.#headers = util.parseHeaders(rawHeaders);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    return true;
  }

  onComplete(): void {
    if (!this.#settle()) return;
    this.resolve({
      statusCode: this.#statusCode,
      body: Buffer.concat(this.#chunks).toString('utf8'),
      headers: this.#headers,
    });
  }

  onError(err: Error): void {
    this.#fail(nodeCode(err), err.message);
  }

  timeOut(timeoutMs: number): void {
    this.#fail('ETIMEDOUT', `timeout of ${timeoutMs}ms exceeded`);
    this.#abort?.(new Error('request timed out'));
  }

  #phase(): TransportPhase {
    if (this.#answered) return 'answering';
    return this.#written ? 'sent' : 'not-sent';
  }

  #fail(code: string, message: string): void {
    const phase = this.#phase();
    if (!this.#settle()) return;
    this.reject(new TwilioTransportError(phase, code, message));
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    this.onSettled?.();
    return true;
  }
}

/**
 * Form and query encoding as the SDK's own client does it (qs with `arrayFormat: 'repeat'`):
 * arrays repeat the key, undefined is left out, null is empty, dates are ISO 8601.
 */
function* formEntries(values: object): Generator<[string, string]> {
  for (const [key, value] of Object.entries(values)) {
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === undefined) continue;
      yield [key, formValue(key, item)];
    }
  }
}

function formValue(key: string, value: unknown): string {
  if (value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') {
    // The SDK flattens nested parameters itself; one reaching here would be sent wrong.
    throw new TypeError(`Twilio parameter ${key} is not a flat value`);
  }
  return String(value);
}

function encodeBody(data: unknown, contentType: string | undefined): string | undefined {
  if (!data || typeof data !== 'object') return undefined;
  if (contentType === 'application/x-www-form-urlencoded') {
    const form = new URLSearchParams();
    for (const [key, value] of formEntries(data)) form.append(key, value);
    return form.toString();
  }
  if (contentType === 'application/json') return JSON.stringify(data);
  // The SDK's own client sends no body for any other type either.
  return undefined;
}
