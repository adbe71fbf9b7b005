/**
 * A pass this worker runs again and again on its own timer: about `intervalMs` apart, jittered
 * by ±25% so several workers do not run in lockstep; the first after `firstDelayMs` (one
 * jittered interval when not given). `pass` logs its own failures; it gets the signal `stop()`
 * aborts, to end a long pass early.
 */
export function startPeriodic(
  options: { intervalMs: number; firstDelayMs?: number },
  pass: (signal: AbortSignal) => Promise<void>,
): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  const stopping = new AbortController();
  const jittered = () => options.intervalMs * (0.75 + Math.random() * 0.5);
  const tick = async () => {
    await pass(stopping.signal);
    if (!stopping.signal.aborted) timer = setTimeout(tick, jittered());
  };
  timer = setTimeout(tick, options.firstDelayMs ?? jittered());
  return {
    stop() {
      stopping.abort();
      if (timer) clearTimeout(timer);
    },
  };
}
