/**
 * `npm test`'s first step (scripts/test-preflight.mjs) on a machine missing
 * things: run with a PATH that holds every tool but the ones left out, and
 * installing turned off, it exits 1 naming each missing tool or service with
 * the command that provides it; with everything there it exits 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, REPO_ROOT } from '../support/index.ts';

const TOOLS = [
  'redis-server',
  'redis-cli',
  'haproxy',
  'pgbouncer',
  'promtool',
  'prometheus',
  'docker-compose',
  'pg_ctlcluster',
];
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A PATH directory with links to every tool but `without`, as the real PATH resolves them. */
function pathWithout(without: readonly string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'twofa-preflight-'));
  dirs.push(dir);
  for (const tool of TOOLS.filter((t) => !without.includes(t))) {
    const real = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    if (real) symlinkSync(real, join(dir, tool));
  }
  return dir;
}

function preflight(env: Record<string, string>) {
  const run = spawnSync(process.execPath, ['scripts/test-preflight.mjs'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, TEST_PREFLIGHT_INSTALL: '0', ...env },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('the test preflight', () => {
  it('passes where every tool and service is present', () => {
    const run = preflight({ PATH: pathWithout([]) });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('names each missing tool with the command that installs it, and exits 1', () => {
    const run = preflight({ PATH: pathWithout(['haproxy', 'pgbouncer']) });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('missing haproxy (tests/cluster): apt-get install -y haproxy');
    expect(run.stderr).toContain('apt-get install -y pgbouncer');
    expect(run.stderr).not.toContain('redis-server');
  });

  it('names a Redis that does not answer', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    const run = preflight({ PATH: pathWithout([]), REDIS_URL: url });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`not answering: Redis at ${url}`);
  });
});
