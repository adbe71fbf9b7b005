/**
 * Memory over time: the pipeline paced at a steady rate for a while, with verifies (right codes
 * learnt from the fake provider), resends and delivery receipts mixed in, sampling the API's and
 * every worker's RSS. A leak per challenge (an unbounded cache, a listener never removed,
 * something kept per job) shows as RSS still growing after the first minute.
 */
import { RESEND_COOLDOWN_MS } from '@twofa/core';
import { paced, request } from './flows.ts';
import type { RssReading } from './rss.ts';
import { type Ctx, OUTSIDE_IP } from './scenarios.ts';
import type { User } from './seed.ts';
import { codeOf } from './sink-client.ts';
import { round } from './stats.ts';

export interface SoakSample extends RssReading {
  atS: number;
  /** Heap used (MiB) right after a forced full collection, taken just after the RSS reading. */
  heapAfterGc?: RssReading;
}

/** A least-squares line of one process's RSS over the fit window. */
export interface Trend {
  /** MiB per minute. */
  slopeMiBPerMin: number;
  /** MiB per 10,000 challenges started at the soak's rate. */
  slopeMiBPer10k: number;
  /** The line's value at the window's start and end (MiB). */
  fittedStartMiB: number;
  fittedEndMiB: number;
  /** fittedEnd / fittedStart: the growth the target holds. */
  growth: number;
}

export interface SoakResult {
  rate: number;
  seconds: number;
  /** When the baseline sample was taken (60 s, or half a shorter soak). */
  baselineS: number;
  samples: SoakSample[];
  /** Last sample over the baseline sample. */
  apiRssGrowth: number | null;
  /** The worst worker's last sample over its baseline sample. */
  workerRssGrowth: number | null;
  /** The fit window: from the baseline to the end (minutes 1 to 5 of a full soak). */
  fitFromS: number;
  fitToS: number;
  /** The fitted RSS at the window's end over the fitted RSS at its start, API. */
  apiGrowthByTrend: number | null;
  /** The same, the worst worker. */
  workerGrowthByTrend: number | null;
  /** RSS trend of the API and of each worker process. */
  trend: { api: Trend | null; workers: (Trend | null)[] };
  /** Trend of the heap after a forced collection, the API's and each worker's. */
  heapTrend: { api: Trend | null; workers: (Trend | null)[] };
  done: { starts: number; verifies: number; resends: number; receipts: number };
  /** Answers other than the expected ones, by "what status". */
  unexpected: Record<string, number>;
}

interface Open {
  auth: string;
  /** The challenge's current send, once read from the database; null after a resend until read again. */
  sendId: string | null;
  lastSendAt: number;
  sends: number;
  busy: boolean;
}

/** Timing rules of a short soak: samples every 30 s (a quarter of a shorter one), the baseline at 60 s. */
export function soakSchedule(seconds: number): { intervalS: number; baselineS: number } {
  return { intervalS: Math.min(30, seconds / 4), baselineS: Math.min(60, seconds / 2) };
}

/** Last over baseline, per process; for the workers, the worst of them. */
export function growth(
  samples: SoakSample[],
  baselineS: number,
): { api: number | null; workers: number | null } {
  const base = samples.find((s) => s.atS >= baselineS);
  const last = samples[samples.length - 1];
  if (!base || !last || base === last) return { api: null, workers: null };
  const api = base.api && last.api ? round(last.api / base.api, 3) : null;
  const ratios = last.workers.flatMap((mib, i) => {
    const b = base.workers[i];
    return b ? [mib / b] : [];
  });
  return { api, workers: ratios.length ? round(Math.max(...ratios), 3) : null };
}

/** Least squares of y on x: slope and intercept; null with fewer than two distinct x. */
export function leastSquares(
  points: readonly [number, number][],
): { slope: number; at: (x: number) => number } | null {
  const n = points.length;
  if (n < 2) return null;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  const sxx = points.reduce((a, [x]) => a + (x - mx) ** 2, 0);
  if (sxx === 0) return null;
  const slope = points.reduce((a, [x, y]) => a + (x - mx) * (y - my), 0) / sxx;
  return { slope, at: (x: number) => my + slope * (x - mx) };
}

/** The fit window of a soak: minutes 1 to 5 of a full one, the baseline to the end of a shorter one. */
export function fitWindow(seconds: number): { fromS: number; toS: number } {
  return { fromS: soakSchedule(seconds).baselineS, toS: Math.min(seconds, 300) };
}

/**
 * The trend of one series (seconds, MiB) over the window [fromS, toS]: the samples inside it
 * (with a second's slack for the sampler's timing) fitted by least squares, and the fitted end
 * over the fitted start. `rate` is the challenges started a second, for the per-10,000 slope.
 */
export function trendOf(
  series: readonly [number, number | null | undefined][],
  window: { fromS: number; toS: number },
  rate: number,
): Trend | null {
  const points = series.flatMap(([x, y]): [number, number][] =>
    y !== null && y !== undefined && x >= window.fromS - 1 && x <= window.toS + 1 ? [[x, y]] : [],
  );
  const line = leastSquares(points);
  if (!line) return null;
  const start = line.at(window.fromS);
  const end = line.at(window.toS);
  return {
    slopeMiBPerMin: round(line.slope * 60, 2),
    slopeMiBPer10k: rate > 0 ? round((line.slope / rate) * 10_000, 2) : Number.NaN,
    fittedStartMiB: round(start, 1),
    fittedEndMiB: round(end, 1),
    growth: start > 0 ? round(end / start, 3) : Number.NaN,
  };
}

/** RSS and heap trends of the API and each worker over a soak's samples. */
export function soakTrends(samples: readonly SoakSample[], seconds: number, rate: number) {
  const window = fitWindow(seconds);
  const workerCount = Math.max(0, ...samples.map((s) => s.workers.length));
  const of = (pick: (s: SoakSample) => number | null | undefined) =>
    trendOf(
      samples.map((s) => [s.atS, pick(s)]),
      window,
      rate,
    );
  const workers = (pick: (s: SoakSample, i: number) => number | null | undefined) =>
    Array.from({ length: workerCount }, (_, i) => of((s) => pick(s, i)));
  const rss = { api: of((s) => s.api), workers: workers((s, i) => s.workers[i]) };
  const heap = {
    api: of((s) => s.heapAfterGc?.api),
    workers: workers((s, i) => s.heapAfterGc?.workers[i]),
  };
  const worst = rss.workers.flatMap((t) => (t && Number.isFinite(t.growth) ? [t.growth] : []));
  return {
    window,
    rss,
    heap,
    apiGrowthByTrend: rss.api && Number.isFinite(rss.api.growth) ? rss.api.growth : null,
    workerGrowthByTrend: worst.length ? Math.max(...worst) : null,
  };
}

/**
 * Each tick starts a challenge; every second tick also verifies one whose code arrived and
 * posts a delivery receipt for one message the fake took; every tenth resends one that is past
 * its cooldown.
 */
export async function soak(
  ctx: Ctx,
  users: User[],
  rate: number,
  seconds: number,
): Promise<SoakResult> {
  const { stack } = ctx;
  const { intervalS, baselineS } = soakSchedule(seconds);
  const open = new Map<string, Open>();
  const byFirstSend: string[] = [];
  const challengeOfSend = new Map<string, string>();
  const codes = new Map<string, string>();
  const ready: { id: string; sendId: string }[] = [];
  const sids: string[] = [];
  const done = { starts: 0, verifies: 0, resends: 0, receipts: 0 };
  const unexpected: Record<string, number> = {};
  const miss = (what: string, status: number | string) => {
    const key = `${what} ${status}`;
    unexpected[key] = (unexpected[key] ?? 0) + 1;
  };
  const offerReady = (sendId: string) => {
    const id = challengeOfSend.get(sendId);
    if (id && codes.has(sendId) && open.get(id)?.sendId === sendId) ready.push({ id, sendId });
  };
  const unsubscribe = stack.sink.subscribe((m) => {
    if (m.sendId) {
      const code = codeOf(m.body);
      if (code) codes.set(m.sendId, code);
      offerReady(m.sendId);
    }
    sids.push(m.sid);
    // Only the newest are receipted; older ones fall out of the fake's kept window anyway.
    if (sids.length > 10_000) sids.splice(0, sids.length - 10_000);
  });
  // Which send is each new (or resent) challenge's: the answer does not say.
  const resolve = async () => {
    const ids = [...open.entries()].filter(([, o]) => o.sendId === null).map(([id]) => id);
    if (!ids.length) return;
    const rows = await stack.sql<{ id: string; sendId: string }[]>`
      select id, current_send_id as "sendId" from challenges where id = any(${ids}::uuid[])`;
    for (const row of rows) {
      const o = open.get(row.id);
      if (!o || o.sendId !== null) continue;
      o.sendId = row.sendId;
      challengeOfSend.set(row.sendId, row.id);
      offerReady(row.sendId);
    }
  };
  const resolver = setInterval(() => void resolve().catch(() => {}), 500);

  const samples: SoakSample[] = [];
  const heaps: Promise<void>[] = [];
  const t0 = Date.now();
  // RSS first (as it is), then the heap after a forced collection, which the RSS then reflects.
  const sample = () => {
    const s: SoakSample = { atS: round((Date.now() - t0) / 1000, 1), ...stack.rss() };
    samples.push(s);
    heaps.push(
      stack.heapAfterGc().then((heap) => {
        s.heapAfterGc = heap;
      }),
    );
  };
  sample();
  const sampler = setInterval(sample, intervalS * 1000);

  let nextUser = 0;
  const start = async () => {
    const user = users[nextUser++ % users.length]!;
    const answer = await request<{ challenge: { id: string } }>(`${stack.apiUrl}/v1/challenges`, {
      headers: { authorization: user.org.auth },
      body: { userId: user.id, ip: OUTSIDE_IP },
    });
    if (answer.status !== 200) return miss('start', answer.status);
    done.starts++;
    const id = answer.body.challenge.id;
    open.set(id, {
      auth: user.org.auth,
      sendId: null,
      lastSendAt: answer.at,
      sends: 1,
      busy: false,
    });
    byFirstSend.push(id);
  };
  const verifyOne = async () => {
    // Newest first, as users type a code just received; the older ones stay open for resends.
    let item = ready.pop();
    while (item && (open.get(item.id)?.sendId !== item.sendId || open.get(item.id)?.busy)) {
      item = ready.pop();
    }
    if (!item) return;
    const o = open.get(item.id)!;
    o.busy = true;
    const answer = await request(`${stack.apiUrl}/v1/challenges/${item.id}/verify`, {
      headers: { authorization: o.auth },
      body: { code: codes.get(item.sendId) },
    });
    codes.delete(item.sendId);
    challengeOfSend.delete(item.sendId);
    open.delete(item.id);
    if (answer.status === 200) done.verifies++;
    else miss('verify', answer.status);
  };
  const resendOne = async () => {
    // Oldest first; verified ones are gone from `open`, busy ones wait their turn.
    const edge = Date.now() - RESEND_COOLDOWN_MS - 1_000;
    const at = byFirstSend.findIndex((id) => {
      const o = open.get(id);
      return o && !o.busy && o.sendId !== null && o.lastSendAt <= edge;
    });
    if (at < 0) return;
    const [id] = byFirstSend.splice(0, at + 1).slice(-1);
    const o = open.get(id!)!;
    o.busy = true;
    const answer = await request(`${stack.apiUrl}/v1/challenges/${id}/resend`, {
      headers: { authorization: o.auth },
    });
    o.busy = false;
    if (answer.status !== 202) return miss('resend', answer.status);
    done.resends++;
    if (o.sendId) {
      codes.delete(o.sendId);
      challengeOfSend.delete(o.sendId);
    }
    o.sendId = null;
    o.lastSendAt = answer.at;
    o.sends++;
    if (o.sends < 5) byFirstSend.push(id!);
    else open.delete(id!);
  };
  const receiptOne = async () => {
    const sid = sids.pop();
    if (!sid) return;
    const status = await stack.sink.receipt(sid, 'delivered');
    if (status === 204) done.receipts++;
    else miss('receipt', status ?? 'not posted');
  };

  ctx.log(`soak: ${rate}/s for ${seconds}s, RSS every ${intervalS}s`);
  try {
    const r = await paced(rate, seconds, async (i) => {
      const ops = [start()];
      if (i % 2 === 0) ops.push(verifyOne(), receiptOne());
      if (i % 10 === 5) ops.push(resendOne());
      await Promise.all(ops);
    });
    if (r.failed) throw new Error(`soak: ${r.failed} failed (${r.firstError})`);
  } finally {
    clearInterval(sampler);
    clearInterval(resolver);
    unsubscribe();
  }
  sample();
  await Promise.all(heaps);
  const g = growth(samples, baselineS);
  const t = soakTrends(samples, seconds, rate);
  return {
    rate,
    seconds,
    baselineS,
    samples,
    apiRssGrowth: g.api,
    workerRssGrowth: g.workers,
    fitFromS: t.window.fromS,
    fitToS: t.window.toS,
    apiGrowthByTrend: t.apiGrowthByTrend,
    workerGrowthByTrend: t.workerGrowthByTrend,
    trend: t.rss,
    heapTrend: t.heap,
    done,
    unexpected,
  };
}
