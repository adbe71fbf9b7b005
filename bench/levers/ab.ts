/**
 * Same-process before/after rounds for one lever: the old and the new path
 * run in alternating rounds (ABBA, so neither always goes first), each round
 * timed on the wall clock and on this process's CPU (user + system).
 * Medians per variant, and new/old ratios, are printed as one table row each.
 */

export interface Sample {
  ops: number;
  wallMs: number;
  cpuMs: number;
}

export interface AbResult {
  lever: string;
  before: Sample[];
  after: Sample[];
}

/** Runs one round: does its operations, answers how many. */
export type Round = () => Promise<number>;

async function measure(round: Round): Promise<Sample> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const ops = await round();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { ops, wallMs, cpuMs: (used.user + used.system) / 1000 };
}

export async function ab(
  lever: string,
  variants: { before: Round; after: Round },
  opts: { rounds: number; warmup?: number },
): Promise<AbResult> {
  for (let i = 0; i < (opts.warmup ?? 1); i++) {
    await variants.before();
    await variants.after();
  }
  const result: AbResult = { lever, before: [], after: [] };
  for (let i = 0; i < opts.rounds; i++) {
    const order = i % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
    for (const which of order) result[which].push(await measure(variants[which]));
  }
  return result;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const cpuPerOpUs = (s: Sample) => (s.cpuMs * 1000) / s.ops;
const opsPerSecond = (s: Sample) => s.ops / (s.wallMs / 1000);

export function summarize(r: AbResult) {
  const b = { cpuUs: median(r.before.map(cpuPerOpUs)), rate: median(r.before.map(opsPerSecond)) };
  const a = { cpuUs: median(r.after.map(cpuPerOpUs)), rate: median(r.after.map(opsPerSecond)) };
  return {
    lever: r.lever,
    runs: r.before.length,
    cpuUsPerOp: { before: b.cpuUs, after: a.cpuUs, ratio: a.cpuUs / b.cpuUs },
    opsPerSecond: { before: b.rate, after: a.rate, ratio: a.rate / b.rate },
  };
}

export function printTable(results: AbResult[]): void {
  const rows = results.map(summarize);
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  console.log(line(['lever', 'metric', 'before', 'after', 'after/before', 'runs']));
  console.log(line(['---', '---', '---:', '---:', '---:', '---:']));
  for (const r of rows) {
    console.log(
      line([
        r.lever,
        'CPU µs/op',
        r.cpuUsPerOp.before.toFixed(1),
        r.cpuUsPerOp.after.toFixed(1),
        r.cpuUsPerOp.ratio.toFixed(2),
        String(r.runs),
      ]),
    );
    console.log(
      line([
        r.lever,
        'ops/s',
        r.opsPerSecond.before.toFixed(0),
        r.opsPerSecond.after.toFixed(0),
        r.opsPerSecond.ratio.toFixed(2),
        String(r.runs),
      ]),
    );
  }
}

/** Runs `task` `n` times with at most `concurrency` in flight. */
export async function pooled(
  n: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
) {
  let next = 0;
  const lane = async () => {
    while (next < n) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, lane));
  return n;
}

export function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`);
  return value;
}
