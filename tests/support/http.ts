/** Requests with the tests' conventions, and their answers read once: status, parsed body, headers. */
import { request as httpRequest, type IncomingMessage } from 'node:http';

export interface JsonResponse<T = any> {
  status: number;
  /** The parsed JSON, the text when it is not JSON, null when empty. */
  body: T;
  headers: Headers;
}

export interface RequestOptions {
  /** Sent as `Authorization: Bearer <key>`; null or absent sends none. */
  key?: string | null;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is (with a JSON content type unless `headers` name another). */
  rawBody?: string;
  headers?: Record<string, string>;
}

/** The fetch init for one request: bearer key, JSON body, content type unless given. */
export function requestInit(method: string, opts: RequestOptions = {}): RequestInit {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.rawBody !== undefined) body = opts.rawBody;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
  return { method, headers, body };
}

/** Reads a response once: a JSON body parsed, anything else kept as text. */
export async function readJson<T = any>(res: Response): Promise<JsonResponse<T>> {
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

/** One request over the network; a connection failure rejects (the caller decides what that means). */
export async function jsonRequest<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  opts: RequestOptions & { timeoutMs?: number } = {},
): Promise<JsonResponse<T>> {
  const res = await fetch(`${baseUrl}${path}`, {
    ...requestInit(method, opts),
    signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
  });
  return readJson<T>(res);
}

/** GET a local URL; resolves with the status, or rejects when nothing answers. */
export function httpGet(url: string, timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', timeout: timeoutMs }, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}
