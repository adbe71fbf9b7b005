import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
const [dir, proc, pattern] = process.argv.slice(2) as [string, string, string];
const files = readdirSync(join(dir, proc)).map((f) => join(dir, proc, f));
const prof = files.map((f) => JSON.parse(readFileSync(f, 'utf8'))).sort((a, b) => b.samples.length - a.samples.length)[0];
const byId = new Map<number, any>(prof.nodes.map((n: any) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map<number, number>();
prof.samples.forEach((id: number, i: number) => self.set(id, (self.get(id) ?? 0) + (prof.timeDeltas[i + 1] ?? 0)));
const total = [...self.values()].reduce((a, b) => a + b, 0);
// For samples whose stack contains a frame matching pattern, group by the stack below the matching frame (callers).
const groups = new Map<string, number>();
for (const [id, us] of self) {
  const stack: string[] = [];
  for (let c: number | undefined = id; c !== undefined; c = parent.get(c)) {
    const f = byId.get(c).callFrame;
    stack.push(`${f.functionName || '(anon)'} ${f.url.replace(/.*node_modules\//, '').replace(/.*\/work\/main\//, '')}:${f.lineNumber + 1}:${f.columnNumber + 1}`);
  }
  const i = stack.findIndex((s) => s.includes(pattern));
  if (i < 0) continue;
  const key = stack.slice(Math.max(0, i - 2), i + 6).join(' <- ');
  groups.set(key, (groups.get(key) ?? 0) + us);
}
for (const [k, us] of [...groups].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[5] ?? 8))) console.log(((us / total) * 100).toFixed(2), k, '\n');
