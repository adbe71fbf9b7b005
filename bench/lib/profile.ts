import { readFileSync } from 'node:fs';
import { REPO_ROOT } from './procs.ts';

interface CpuNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: CpuNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotSpot {
  name: string;
  where: string;
  /** Share of all sampled time, idle included. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Share of samples where the process was idle (waiting for I/O). */
  idlePct: number;
  bySelf: HotSpot[];
  byPackage: { name: string; pct: number }[];
  /**
   * Self time charged to the nearest caller that is a package or our code, so node's internals
   * (socket writes, timers, streams) and GC count against whoever made them work.
   */
  byCaller: { name: string; pct: number }[];
  /** Our own functions by inclusive time (self plus what they call). */
  oursInclusive: HotSpot[];
}

function where(url: string, line: number, column: number): string {
  if (!url) return '(native)';
  const path = url.replace(/^file:\/\//, '').replace(REPO_ROOT, '');
  return `${path}:${line + 1}:${column + 1}`;
}

/** node_modules package, our workspace package, or node internals. */
function packageOf(url: string): string {
  if (!url) return '(native/gc)';
  if (url.startsWith('node:')) return 'node:internals';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  const path = url.replace(/^file:\/\//, '').replace(REPO_ROOT, '');
  const m = /^(apps|packages)\/([^/]+)/.exec(path);
  return m ? `ours:${m[1]}/${m[2]}` : path;
}

const isOurs = (url: string) =>
  /\/(apps|packages)\/[^/]+\/src\//.test(url) && !url.includes('node_modules');

export function summarizeProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  // Self time from the sample stream (hitCount alone ignores uneven sample intervals).
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, deltas[i + 1] ?? deltas[i] ?? 0));
  }
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0) || 1;
  let idleUs = 0;
  const fnSelf = new Map<string, { name: string; where: string; us: number }>();
  const pkgSelf = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = functionName || '(anonymous)';
    const key = `${name}@${url}:${lineNumber}:${columnNumber}`;
    const entry = fnSelf.get(key) ?? { name, where: where(url, lineNumber, columnNumber), us: 0 };
    entry.us += us;
    fnSelf.set(key, entry);
    const pkg = functionName === '(garbage collector)' ? '(gc)' : packageOf(url);
    pkgSelf.set(pkg, (pkgSelf.get(pkg) ?? 0) + us);
  }

  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const callerSelf = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)') continue;
    let owner: string | null = null;
    let internal: string | null = null;
    if (node.callFrame.functionName === '(garbage collector)') owner = '(gc)';
    for (let cur: number | undefined = id; !owner && cur !== undefined; cur = parent.get(cur)) {
      const url = byId.get(cur)?.callFrame.url ?? '';
      if (url && !url.startsWith('node:')) owner = packageOf(url);
      else if (url) internal ??= url;
    }
    // No package up the stack: node itself (HTTP parsing, socket reads, timers) did the work.
    owner ??= internal ?? `(${node.callFrame.functionName || 'native'})`;
    callerSelf.set(owner, (callerSelf.get(owner) ?? 0) + us);
  }

  // Inclusive time of our functions: the sum over their subtrees, each function counted once
  // per stack even when it recurses.
  const ours = new Map<string, { name: string; where: string; us: number }>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur);
      if (!node || !isOurs(node.callFrame.url)) continue;
      const { functionName, url, lineNumber, columnNumber } = node.callFrame;
      const key = `${functionName}@${url}:${lineNumber}:${columnNumber}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const entry = ours.get(key) ?? {
        name: functionName || '(anonymous)',
        where: where(url, lineNumber, columnNumber),
        us: 0,
      };
      entry.us += us;
      ours.set(key, entry);
    }
  }

  const pct = (us: number) => Math.round((us / totalUs) * 1000) / 10;
  const busy = (list: Iterable<{ name: string; where: string; us: number }>) =>
    [...list]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({ name: e.name, where: e.where, pct: pct(e.us) }));
  return {
    file,
    totalMs: Math.round(totalUs / 1000),
    idlePct: pct(idleUs),
    bySelf: busy(fnSelf.values()),
    byPackage: [...pkgSelf]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, pct: pct(us) })),
    byCaller: [...callerSelf]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, pct: pct(us) })),
    oursInclusive: busy(ours.values()),
  };
}

export function formatProfile(label: string, s: ProfileSummary): string {
  const lines = [
    `== ${label}: ${s.totalMs} ms sampled, ${s.idlePct}% idle ==`,
    '  by package (self %):',
    ...s.byPackage.map((p) => `    ${p.pct.toFixed(1).padStart(5)}  ${p.name}`),
    '  by package, node internals charged to their caller (%):',
    ...s.byCaller.map((p) => `    ${p.pct.toFixed(1).padStart(5)}  ${p.name}`),
    '  hottest functions (self %):',
    ...s.bySelf.map((h) => `    ${h.pct.toFixed(1).padStart(5)}  ${h.name}  ${h.where}`),
    '  our code (inclusive %):',
    ...s.oursInclusive.map((h) => `    ${h.pct.toFixed(1).padStart(5)}  ${h.name}  ${h.where}`),
  ];
  return lines.join('\n');
}
