#!/usr/bin/env node
/**
 * `npm test`'s second step: the two Vitest projects of vitest.config.ts side
 * by side, each in its own Vitest process. `two-at-once` (the in-process
 * files) runs two files at once; `one-at-a-time` (the files that run whole
 * deployments and kill, cut or time parts of them) runs one file at a time
 * beside it, never two such files together. One Vitest process cannot do
 * this: it runs projects with different `maxWorkers` one after the other, so
 * the deployment files, which mostly wait on their timers, would sit idle at
 * the end of the run instead of beside the rest.
 *
 * Each lane's output is passed through line by line; the exit code is the
 * first failing lane's. With arguments (`npm test -- tests/pages`), one plain
 * `vitest run <arguments>` instead.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const VITEST = join(dirname(require.resolve('vitest/package.json')), 'vitest.mjs');
const LANES = ['two-at-once', 'one-at-a-time'];

const children = new Set();
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    for (const child of children) child.kill(signal);
  });
}

/** Runs `vitest run ...args`, its lines written whole (prefixed when `label` is set). */
function vitest(args, label) {
  const started = Date.now();
  return new Promise((resolve) => {
    const color = process.stdout.isTTY && !process.env.NO_COLOR ? { FORCE_COLOR: '1' } : {};
    const child = spawn(process.execPath, [VITEST, 'run', ...args], {
      env: { ...process.env, ...color, ...(label && { VITEST_LANE: label }) },
      stdio: ['ignore', label ? 'pipe' : 'inherit', label ? 'pipe' : 'inherit'],
    });
    children.add(child);
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ]) {
      if (!from) continue;
      let rest = '';
      from.setEncoding('utf8');
      from.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop() ?? '';
        if (lines.length) to.write(`${lines.join('\n')}\n`);
      });
      from.on('end', () => rest && to.write(`${rest}\n`));
    }
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({
        label,
        code: code ?? 1,
        signal,
        seconds: Math.round((Date.now() - started) / 1000),
      });
    });
  });
}

const args = process.argv.slice(2);
if (args.length > 0) {
  const { code } = await vitest(args);
  process.exit(code);
}

const results = await Promise.all(LANES.map((lane) => vitest(['--project', lane], lane)));
console.log('\nVitest lanes (run side by side):');
for (const r of results) {
  const outcome = r.code === 0 ? 'passed' : `FAILED (exit ${r.signal ?? r.code})`;
  console.log(`  ${String(r.seconds).padStart(5)}s  ${r.label}: ${outcome}`);
}
process.exit(results.find((r) => r.code !== 0)?.code ?? 0);
