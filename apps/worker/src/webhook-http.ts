import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { TcpNetConnectOpts } from 'node:net';
import type { LookupAll, ResolvedAddress } from '@twofa/core';

/** Most of a receiver's answer read (for the log line); the rest is dropped unread. */
export const WEBHOOK_MAX_RESPONSE_BYTES = 64 * 1024;

/** The system resolver, every address of a name, as the target check wants them. */
export const systemLookupAll: LookupAll = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses);
    });
  });

export interface WebhookPost {
  url: URL;
  /**
   * The addresses the target check passed, in the resolver's order: the
   * connection goes to one of them, with no lookup of its own.
   */
  addresses: readonly ResolvedAddress[];
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}

export interface WebhookAnswer {
  /** The receiver's status, or null when none came (refused, reset, deadline). */
  statusCode: number | null;
  /** Why it is not a success, for the delivery log; null on a 2xx. */
  error: string | null;
}

/** A connection error's text; trying several addresses fails with all of theirs at once. */
function errorText(error: Error): string {
  const each = (error as Partial<AggregateError>).errors;
  if (Array.isArray(each) && each.length > 0) {
    return each.map((e) => (e instanceof Error ? e.message : String(e))).join('; ');
  }
  return error.message || (error as { code?: string }).code || 'connection failed';
}

/**
 * One POST to a webhook target. The socket connects to a checked address
 * (`lookup` answers with them; TLS still verifies and sends SNI for the URL's
 * host name, and `Host` names it too): node's own address selection (happy
 * eyeballs, `autoSelectFamily`) tries them in turn, the next one when a
 * connection is refused, unreachable or not made within its share of the
 * deadline. It follows no redirect (a 3xx is an answer like any other
 * non-2xx), reads at most 64 KiB of the answer, and gives up after
 * `timeoutMs` in all: connects, send, headers and body.
 */
export function postWebhook(post: WebhookPost): Promise<WebhookAnswer> {
  const { url, addresses, headers, body, timeoutMs } = post;
  const [first] = addresses;
  if (!first) return Promise.resolve({ statusCode: null, error: 'no address to connect to' });
  // Each address gets an equal share of the deadline to connect, one share left for the answer
  // (node's default, 250 ms, gives up on a slow but working receiver too soon).
  const addressSelection: Pick<
    TcpNetConnectOpts,
    'autoSelectFamily' | 'autoSelectFamilyAttemptTimeout'
  > = {
    autoSelectFamily: true,
    autoSelectFamilyAttemptTimeout: Math.max(250, Math.floor(timeoutMs / (addresses.length + 1))),
  };
  const client = url.protocol === 'https:' ? https : http;
  return new Promise<WebhookAnswer>((resolve) => {
    let settled = false;
    let statusCode: number | null = null;
    const finish = (answer: WebhookAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      request.destroy();
      resolve(answer);
    };
    const request = client.request(url, {
      method: 'POST',
      // A socket of its own: a pooled one could lead to an address checked for another URL.
      agent: false,
      headers: {
        ...headers,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
        'user-agent': 'twofa-webhooks/1',
      },
      // net's connect options, passed through by http and tls (not in http's types).
      ...addressSelection,
      lookup: (_hostname, options, callback) => {
        if ((options as { all?: boolean }).all) {
          (callback as (e: null, a: ResolvedAddress[]) => void)(null, [...addresses]);
        } else {
          (callback as (e: null, a: string, f: number) => void)(null, first.address, first.family);
        }
      },
    });
    const verdict = (): WebhookAnswer => {
      const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
      return { statusCode, error: ok ? null : `HTTP ${statusCode}` };
    };
    // A status that came in time decides; a body still trickling in is cut off.
    const deadline = setTimeout(
      () =>
        finish(
          statusCode === null
            ? { statusCode, error: `no answer within ${timeoutMs} ms` }
            : verdict(),
        ),
      timeoutMs,
    );
    request.on('error', (error) => finish({ statusCode, error: errorText(error) }));
    request.on('response', (response) => {
      statusCode = response.statusCode ?? null;
      let read = 0;
      response.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read >= WEBHOOK_MAX_RESPONSE_BYTES) finish(verdict());
      });
      response.on('end', () => finish(verdict()));
      response.on('error', () => finish(verdict()));
    });
    request.end(body);
  });
}
