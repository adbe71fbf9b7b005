import { type LatencySummary, latencySummary } from './stats.ts';

export interface JsonAnswer<T = any> {
  status: number;
  body: T;
  cookies: string[];
  /** Epoch ms when the answer was read. */
  at: number;
}

/** One JSON request over the shared keep-alive pool of this process's fetch. */
export async function request<T = any>(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<JsonAnswer<T>> {
  const res = await fetch(url, {
    method: opts.method ?? 'POST',
    headers: {
      ...(opts.body !== undefined && { 'content-type': 'application/json' }),
      ...opts.headers,
    },
    ...(opts.body !== undefined && { body: JSON.stringify(opts.body) }),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: keep the text for the error message.
  }
  return {
    status: res.status,
    body: body as T,
    cookies: res.headers.getSetCookie(),
    at: Date.now(),
  };
}

export function expectStatus(answer: JsonAnswer, status: number, what: string): void {
  if (answer.status !== status) {
    const detail = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
    throw new Error(`${what}: expected ${status}, got ${answer.status} ${detail.slice(0, 200)}`);
  }
}

export interface FlowResult extends LatencySummary {
  /** Completed flows per second. */
  perSec: number;
  completed: number;
  failed: number;
  durationS: number;
  firstError: string | null;
}

/**
 * `vus` virtual users each run `flow` back to back for `durationS` seconds (a closed loop: a
 * user starts its next flow when the last one ends). Latency is one whole flow.
 */
export async function closedLoop(
  vus: number,
  durationS: number,
  flow: (vu: number) => Promise<void>,
): Promise<FlowResult> {
  const latencies: number[] = [];
  let failed = 0;
  let firstError: string | null = null;
  const startedAt = performance.now();
  const until = startedAt + durationS * 1000;
  await Promise.all(
    Array.from({ length: vus }, async (_, vu) => {
      while (performance.now() < until) {
        const t0 = performance.now();
        try {
          await flow(vu);
          latencies.push(performance.now() - t0);
        } catch (error) {
          failed++;
          firstError ??= (error as Error).message;
        }
      }
    }),
  );
  const elapsedS = (performance.now() - startedAt) / 1000;
  return {
    ...latencySummary(latencies),
    perSec: latencies.length / elapsedS,
    completed: latencies.length,
    failed,
    durationS: elapsedS,
    firstError,
  };
}

/** An error's message with its cause's code or message (fetch's "fetch failed" says no more). */
function describeError(error: unknown): string {
  const { message, cause } = error as Error & { cause?: { code?: string; message?: string } };
  const why = cause ? (cause.code ?? cause.message) : undefined;
  return why ? `${message}: ${why}` : message;
}

/**
 * An open loop: starts `op` at an even pace of `rate` a second for `durationS` seconds, whether
 * or not earlier ones have finished, as independent users would. (autocannon's own rate
 * limit sends each second's quota in a burst, which would measure the burst, not the rate.)
 */
export async function paced(
  rate: number,
  durationS: number,
  op: (i: number) => Promise<void>,
): Promise<{ started: number; failed: number; firstError: string | null }> {
  const total = Math.max(1, Math.round(rate * durationS));
  const intervalMs = 1000 / rate;
  const startedAt = performance.now();
  const running: Promise<void>[] = [];
  let failed = 0;
  let firstError: string | null = null;
  for (let i = 0; i < total; i++) {
    const due = startedAt + i * intervalMs;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    running.push(
      op(i).catch((error: unknown) => {
        failed++;
        firstError ??= describeError(error);
      }),
    );
  }
  await Promise.all(running);
  return { started: total, failed, firstError };
}
