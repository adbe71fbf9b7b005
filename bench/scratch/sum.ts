import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { formatProfile, summarizeProfile } from '../lib/profile.ts';

const dir = process.argv[2]!;
for (const name of readdirSync(dir).sort()) {
  const files = readdirSync(join(dir, name)).filter((f) => f.endsWith('.cpuprofile'));
  const s = files
    .map((f) => summarizeProfile(join(dir, name, f), Number(process.argv[3] ?? 15)))
    .sort((a, b) => b.totalMs * (100 - b.idlePct) - a.totalMs * (100 - a.idlePct))[0];
  if (s) console.log(formatProfile(name, s), '\n');
}
