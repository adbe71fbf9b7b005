/** A dependency probe: resolves when the dependency answers. */
export type ReadinessProbe = () => Promise<unknown>;

export type CheckState = 'ok' | 'unavailable';

export interface Readiness<N extends string> {
  ready: boolean;
  checks: Record<N, CheckState>;
  /** Names of the dependencies that did not answer, in probe order. */
  down: N[];
}

/** Short: a load balancer probing /ready must get an answer even when a dependency hangs. */
export const READINESS_TIMEOUT_MS = 1_000;

export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    timer.unref?.();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * Runs every probe at once, each bounded by `timeoutMs`; a probe that throws or
 * hangs counts as down. A hung probe's promise is left to settle on its own.
 */
export async function checkReadiness<N extends string>(
  probes: Record<N, ReadinessProbe>,
  timeoutMs = READINESS_TIMEOUT_MS,
): Promise<Readiness<N>> {
  const names = Object.keys(probes) as N[];
  const states = await Promise.all(
    names.map(async (name): Promise<CheckState> => {
      try {
        await withTimeout(Promise.resolve().then(probes[name]), timeoutMs);
        return 'ok';
      } catch {
        return 'unavailable';
      }
    }),
  );
  const checks = {} as Record<N, CheckState>;
  names.forEach((name, i) => {
    checks[name] = states[i] ?? 'unavailable';
  });
  const down = names.filter((name) => checks[name] !== 'ok');
  return { ready: down.length === 0, checks, down };
}

/** The 503 body both API and worker answer: problem details naming what is down. */
export function notReadyProblem<N extends string>(readiness: Readiness<N>) {
  return {
    type: 'about:blank',
    title: 'Not ready',
    status: 503,
    code: 'not_ready',
    detail: `Unavailable: ${readiness.down.join(', ')}`,
    down: readiness.down,
    checks: readiness.checks,
  };
}
