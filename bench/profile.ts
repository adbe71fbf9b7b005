/**
 * Reads the CPU profiles a `BENCH_PROFILE=1` run left:
 *   node --import tsx bench/profile.ts bench/results/profile-<date>              summary per process
 *   node --import tsx bench/profile.ts bench/results/profile-<date> api 'get body @hono'
 *     share of the api's sampled time whose stack holds a frame matching the text, and the
 *     stacks that contribute most (frames print as `function file:line:column`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatProfile, type ProfileSummary, summarizeProfile } from './lib/profile.ts';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

const [dir, processName, focus] = process.argv.slice(2);
if (!dir) {
  console.error('usage: bench/profile.ts <profile dir> [process] [frame text]');
  process.exit(2);
}

const busy = (s: ProfileSummary) => s.totalMs * (100 - s.idlePct);

/** The process's main-thread profile: the busiest of its files. */
function mainThread(name: string): string {
  const files = readdirSync(join(dir!, name))
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir!, name, f));
  return files.map((f) => ({ f, s: summarizeProfile(f) })).sort((a, b) => busy(b.s) - busy(a.s))[0]!
    .f;
}

if (!processName) {
  for (const name of readdirSync(dir).sort()) {
    console.log(`${formatProfile(name, summarizeProfile(mainThread(name), 25))}\n`);
  }
} else {
  const profile = JSON.parse(readFileSync(mainThread(processName), 'utf8')) as {
    nodes: Node[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    self.set(id, (self.get(id) ?? 0) + Math.max(0, profile.timeDeltas[i + 1] ?? 0));
  });
  const frame = (n: Node) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/.*node_modules\//, '').replace(/.*\/(apps|packages)\//, '$1/')}:${n.callFrame.lineNumber + 1}:${n.callFrame.columnNumber + 1}`;
  let total = 0;
  let idle = 0;
  let matched = 0;
  const stacks = new Map<string, number>();
  for (const [id, us] of self) {
    total += us;
    if (byId.get(id)?.callFrame.functionName === '(idle)') idle += us;
    const stack: string[] = [];
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      stack.push(frame(byId.get(cur)!));
    }
    const at = focus ? stack.findIndex((f) => f.includes(focus)) : 0;
    if (at < 0) continue;
    matched += us;
    const key = stack.slice(Math.max(0, at - 2), at + 6).join('\n    <- ');
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(2)}%`;
  console.log(
    `${processName}: frames matching "${focus ?? ''}" hold ${pct(matched)} of sampled time ` +
      `(${pct(total - idle)} busy, so ${((matched / (total - idle)) * 100).toFixed(1)}% of busy time)\n`,
  );
  for (const [stack, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
    console.log(`${pct(us)}  ${stack}\n`);
  }
}
