import { readFileSync } from 'node:fs';
import type { Child } from './procs.ts';

/** A process's resident set in MiB (VmRSS), or null where /proc is not there or it exited. */
export function rssMiB(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
    return kib === undefined ? null : Math.round((Number(kib) / 1024) * 10) / 10;
  } catch {
    return null;
  }
}

/** Resident memory of the API and of each worker process, in MiB. */
export interface RssReading {
  api: number | null;
  workers: number[];
}

/** The API's and every worker's RSS right now (the workers of the moment, in start order). */
export function readRss(api: Child | null, workers: readonly Child[]): RssReading {
  return {
    api: rssMiB(api?.proc.pid),
    workers: workers.flatMap((w) => {
      const mib = rssMiB(w.proc.pid);
      return mib === null ? [] : [mib];
    }),
  };
}

/**
 * Samples RSS every `intervalMs` until stopped and gives each process's peak: the API's, and
 * per worker process (by name, so workers that come and go keep their own figure).
 */
export function sampleRss(
  processes: () => { api: Child | null; workers: readonly Child[] },
  intervalMs = 250,
): () => RssReading {
  let api: number | null = null;
  const workers = new Map<string, number>();
  const sample = () => {
    const now = processes();
    const a = rssMiB(now.api?.proc.pid);
    if (a !== null) api = Math.max(api ?? 0, a);
    for (const w of now.workers) {
      const mib = rssMiB(w.proc.pid);
      if (mib !== null) workers.set(w.name, Math.max(workers.get(w.name) ?? 0, mib));
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return () => {
    clearInterval(timer);
    sample();
    return { api, workers: [...workers.values()] };
  };
}
