import autocannon, { type RequestSpec, type Result } from 'autocannon';

export interface HttpLoad {
  url: string;
  durationS: number;
  connections: number;
  requests: RequestSpec[];
  /** Filled with a function that ends the run early (e.g. when its input runs out). */
  control?: { stop?: () => void };
}

export interface HttpResult {
  /** 2xx answers per second. */
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  startedAt: number;
  durationS: number;
}

/** One autocannon run from this process (the servers are other processes) over loopback. */
export async function httpLoad(load: HttpLoad): Promise<HttpResult> {
  const startedAt = Date.now();
  const instance = autocannon({
    url: load.url,
    connections: load.connections,
    duration: load.durationS,
    pipelining: 1,
    timeout: 30,
    requests: load.requests,
  });
  if (load.control) load.control.stop = () => instance.stop();
  const result: Result = await instance;
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([code, { count }]) => [code, count]),
  );
  return {
    perSec: result['2xx'] / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
    startedAt,
    durationS: result.duration,
  };
}

export function jsonPost(
  path: string,
  headers: Record<string, string>,
  body: unknown,
): RequestSpec {
  return {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  };
}
