import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/index.ts';

// The image and the compose file, checked without a Docker engine: compose's own
// `config` (Debian's docker-compose, which .ci/run installs) resolves the file,
// and the Dockerfile is read for what a deployable image must be.
const COMPOSE = join(REPO_ROOT, 'docker-compose.yml');
const APP_SERVICES = ['migrate', 'api', 'worker'];

function compose(args: string[], env: Record<string, string>) {
  const clean = { ...process.env };
  for (const name of ['ADMIN_API_KEY', 'APP_SECRET', 'TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN']) {
    delete clean[name];
  }
  const run = spawnSync('docker-compose', ['-f', COMPOSE, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...clean, ...env },
  });
  if (run.error) {
    throw new Error(
      `docker-compose did not run (${run.error.message}): install it with ` +
        '`apt-get install -y docker-compose` (.ci/run does).',
    );
  }
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

const SECRETS = { ADMIN_API_KEY: 'x', APP_SECRET: 'y' };

describe('docker-compose.yml', () => {
  it('passes `docker-compose config` with the secrets set', () => {
    const run = compose(['config', '-q'], SECRETS);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it.each(['ADMIN_API_KEY', 'APP_SECRET'])('refuses to start without %s', (name) => {
    const env: Record<string, string> = { ...SECRETS };
    delete env[name];
    const run = compose(['config', '-q'], env);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(`set ${name}`);
  });

  it('runs migrate, api and worker from the Dockerfile, in production, with no source mounted', () => {
    const run = compose(['config'], { ...SECRETS, TWILIO_FROM: '+15005550006' });
    expect(run.status, run.stderr).toBe(0);
    const config = parse(run.stdout);
    for (const name of APP_SERVICES) {
      const service = config.services[name];
      expect(service.build?.context, name).toBe(REPO_ROOT.replace(/\/$/, ''));
      expect(service.environment.NODE_ENV, name).toBe('production');
      expect(service.environment.ADMIN_API_KEY, name).toBe('x');
      expect(service.environment.APP_SECRET, name).toBe('y');
      // Set in the shell: passed on; unset: stays unset (never an empty string).
      expect(service.environment.TWILIO_FROM, name).toBe('+15005550006');
      expect(service.environment.TWILIO_ACCOUNT_SID ?? null, name).toBeNull();
      expect(service.volumes ?? [], name).toEqual([]);
      // Node itself, not npm: SIGTERM must reach the process that drains.
      expect(service.command[0], name).toBe('node');
    }
  });

  it('publishes no Postgres or Redis port, and the API on loopback only', () => {
    const config = parse(compose(['config'], SECRETS).stdout);
    expect(config.services.postgres.ports).toBeUndefined();
    expect(config.services.redis.ports).toBeUndefined();
    expect(config.services.worker.ports).toBeUndefined();
    const ports = JSON.stringify(config.services.api.ports);
    expect(ports).toContain('127.0.0.1');
    expect(config.networks.backend.internal).toBe(true);
    expect(config.services.postgres.networks).toEqual({ backend: null });
  });
});

describe('Dockerfile', () => {
  const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
  const lines = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const stages = lines.filter((l) => l.startsWith('FROM '));
  const finalStage = lines.slice(lines.lastIndexOf(stages.at(-1) as string));

  it('is multi-stage, installing production dependencies only from the lock file', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const install = lines.filter((l) => /\bnpm (ci|install)\b/.test(l));
    expect(install).toHaveLength(1);
    expect(install[0]).toMatch(/npm ci --omit=dev/);
    expect(finalStage.some((l) => /\bnpm (ci|install)\b/.test(l))).toBe(false);
  });

  it('runs as a non-root user, under tini, node directly', () => {
    const users = finalStage.filter((l) => l.startsWith('USER '));
    expect(users.length).toBeGreaterThan(0);
    expect(users.at(-1)).not.toMatch(/^USER (root|0)(:|$)/);
    expect(finalStage.find((l) => l.startsWith('ENTRYPOINT '))).toMatch(/tini/);
    expect(finalStage.find((l) => l.startsWith('CMD '))).toMatch(/^CMD \["node",/);
    expect(dockerfile).not.toMatch(/^\s*(VOLUME|ADD)\b/m);
  });

  it('copies every workspace the service runs, and the runtime it imports', () => {
    const copied = lines.filter((l) => l.startsWith('COPY ')).map((l) => l.split(/\s+/)[1]);
    const workspaces = ['apps', 'packages', 'examples'].flatMap((dir) =>
      readdirSync(join(REPO_ROOT, dir)).map((name) => `${dir}/${name}`),
    );
    for (const workspace of workspaces) {
      // npm ci needs every workspace's manifest to match the lock file.
      expect(copied, workspace).toContain(`${workspace}/package.json`);
      // The test kit (the fake Twilio) and the example app are never run by the image.
      const shipped = workspace !== 'packages/testkit' && !workspace.startsWith('examples/');
      if (shipped) expect(copied, workspace).toContain(`${workspace}/src`);
    }
    expect(copied).toContain('packages/db/drizzle');
    // `node --import tsx` at run time: tsx must survive --omit=dev.
    const root = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(Object.keys(root.dependencies ?? {})).toContain('tsx');
  });

  it('keeps secrets, checkouts and tests out of the build context', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
    for (const entry of ['.git', '.env', '**/node_modules', 'tests']) {
      expect(ignored).toContain(entry);
    }
  });
});
