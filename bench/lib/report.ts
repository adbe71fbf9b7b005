import { readFileSync, writeFileSync } from 'node:fs';
import { round, type Spread, spread } from './stats.ts';

/** One measured figure over the runs: what each JSON line and table row holds. */
export interface ScenarioLine {
  scenario: string;
  unit: string;
  min: number;
  median: number;
  max: number;
  runs: number[];
  [extra: string]: unknown;
}

export interface Target {
  name: string;
  target: string;
  actual: string;
  pass: boolean | null;
  note?: string;
}

export class Recorder {
  readonly lines: ScenarioLine[] = [];

  /** Prints one JSON line for the figure and keeps it for the table. */
  add(scenario: string, unit: string, runs: number[], extra: Record<string, unknown> = {}): Spread {
    const s = spread(runs);
    const digits = unit === 'ms' ? 1 : unit === 'x' ? 3 : 0;
    const line: ScenarioLine = {
      scenario,
      unit,
      min: round(s.min, digits),
      median: round(s.median, digits),
      max: round(s.max, digits),
      runs: runs.map((r) => round(r, digits)),
      ...extra,
    };
    this.lines.push(line);
    console.log(JSON.stringify(line));
    return s;
  }

  get(scenario: string): ScenarioLine | undefined {
    return this.lines.find((l) => l.scenario === scenario);
  }
}

const fmt = (n: number, unit: string) =>
  Number.isFinite(n)
    ? unit === 'ms'
      ? n.toFixed(1)
      : unit === 'x'
        ? n.toFixed(3)
        : Math.round(n).toLocaleString('en-US')
    : '-';

/** A Markdown table: readable in a terminal and pasteable into the README. */
export function table(lines: ScenarioLine[], ratioOf: (line: ScenarioLine) => string): string {
  const rows = [
    ['scenario', 'unit', 'min', 'median', 'max', 'vs ceiling'],
    ...lines.map((l) => [
      l.scenario,
      l.unit,
      fmt(l.min, l.unit),
      fmt(l.median, l.unit),
      fmt(l.max, l.unit),
      ratioOf(l),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const render = (r: string[]) =>
    `| ${r.map((c, i) => (i >= 2 && i <= 4 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  const rule = `|${widths.map((w, i) => (i >= 2 && i <= 4 ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
  return [render(rows[0]!), rule, ...rows.slice(1).map(render)].join('\n');
}

export function targetsTable(targets: Target[]): string {
  const rows = [
    ['target', 'wanted', 'measured', 'result'],
    ...targets.map((t) => [
      t.name,
      t.target,
      t.actual,
      t.pass === null ? 'n/a' : t.pass ? 'met' : `MISSED${t.note ? ` (${t.note})` : ''}`,
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const render = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  return [render(rows[0]!), rule, ...rows.slice(1).map(render)].join('\n');
}

/** Replaces a generated section of the README (`latest` by default), when its markers are there. */
export function updateReadme(path: string, section: string, name = 'latest'): boolean {
  const START = `<!-- bench:${name}:start -->`;
  const END = `<!-- bench:${name}:end -->`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return false;
  }
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) return false;
  writeFileSync(path, `${text.slice(0, start + START.length)}\n${section}\n${text.slice(end)}`);
  return true;
}

/**
 * Fields every results file holds (issue 24's and issue 20's), as dotted paths. A section that
 * did not run is null as a whole (`soak` without BENCH_SOAK); a field missing under a section
 * that ran is a harness bug, and the run fails on it.
 */
export const RESULT_FIELDS = [
  'floor.cpuMsPerChallenge',
  'floor.parts',
  'floor.raw.parts',
  'floor.raw.pipelineCpuMs',
  'floor.raw.verifyCpuMs',
  'floor.raw.commonLoginCpuMs',
  'floor.raw.productParts',
  'floor.raw.tax',
  'pipeline.cpuMsPerChallenge',
  'pipeline.p99AcceptToProviderMsAt80',
  'verify.perSec',
  'verify.cpuMsPerRequest',
  'commonLogin.cpuMsPerRequest',
  'prompt.roundsPerSec',
  'prompt.cpuMsPerRound',
  'prompt.vsApiSecondStep',
  'soak.apiRssGrowth',
  'soak.workerRssGrowth',
  'soak.apiGrowthByTrend',
  'soak.workerGrowthByTrend',
  'logins.mixed.noSmsShare',
  'logins.mixed.sms',
  'large.vsEmpty',
  'ratios.pipelineCpuVsRawFloor',
  'ratios.verifyCpuVsRawFloor',
  'ratios.commonLoginCpuVsRawFloor',
  'targets',
] as const;

/** The fields of RESULT_FIELDS missing from `results` (a null section on the way is not missing). */
export function missingFields(
  results: unknown,
  fields: readonly string[] = RESULT_FIELDS,
): string[] {
  return fields.filter((path) => {
    let at: unknown = results;
    for (const key of path.split('.')) {
      if (at === null) return false;
      if (typeof at !== 'object' || at === undefined || !(key in (at as object))) return true;
      at = (at as Record<string, unknown>)[key];
    }
    return false;
  });
}
