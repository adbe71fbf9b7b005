#!/usr/bin/env node
/**
 * `npm test`'s first step: finds every program and service the tests need.
 * What is missing it installs (apt-get) or starts (Postgres, Redis) when it
 * runs as root on Debian, as CI does; otherwise it stops at once, naming each
 * missing thing and the command that provides it. Plain Node, no dependency
 * but the `postgres` and `ioredis` the tests use, so it runs in a second.
 *
 * Environment: TEST_DATABASE_BASE_URL and REDIS_URL as the tests read them;
 * CHROMIUM_PATH as tests/support/browser.ts reads it; TEST_PREFLIGHT_INSTALL=0
 * never installs or starts anything, even as root.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const PG_URL = process.env.TEST_DATABASE_BASE_URL ?? 'postgres://postgres@127.0.0.1:5432';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** `command` on PATH (or an absolute path) as an executable file. */
function found(command) {
  const candidates = command.startsWith('/')
    ? [command]
    : (process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, command));
  return candidates.some((file) => {
    try {
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** The Redis server's version as [major, minor], or null. */
function redisVersion() {
  const run = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  const match = /v=(\d+)\.(\d+)/.exec(run.stdout ?? '');
  return match ? [Number(match[1]), Number(match[2])] : null;
}

/** Each program: what it is for, how to tell it is there, the Debian package. */
const PROGRAMS = [
  {
    name: 'redis-server 7 or later (cluster mode, --cluster-port)',
    ok: () => found('redis-server') && (redisVersion()?.[0] ?? 0) >= 7,
    pkg: 'redis-server',
  },
  { name: 'redis-cli (joins the test cluster)', ok: () => found('redis-cli'), pkg: 'redis-tools' },
  { name: 'haproxy (tests/cluster)', ok: () => found('haproxy'), pkg: 'haproxy' },
  {
    name: 'pgbouncer (tests/cluster, TEST_DATABASE_VIA)',
    ok: () => found('pgbouncer'),
    pkg: 'pgbouncer',
  },
  {
    name: 'promtool and prometheus (operator tests)',
    ok: () => found('promtool') && found('prometheus'),
    pkg: 'prometheus',
  },
  {
    name: 'docker-compose (deploy tests)',
    ok: () => found('docker-compose'),
    pkg: 'docker-compose',
  },
  { name: `chromium at ${CHROMIUM} (page tests)`, ok: () => found(CHROMIUM), pkg: 'chromium' },
  {
    name: 'pg_ctlcluster (starts the local Postgres)',
    ok: () => found('pg_ctlcluster'),
    pkg: 'postgresql',
  },
];

const isLocal = (url) => ['127.0.0.1', 'localhost', '::1'].includes(new URL(url).hostname);

async function postgresAnswers() {
  const { default: postgres } = await import('postgres');
  const sql = postgres(PG_URL, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function redisAnswers() {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 3_000,
  });
  redis.on('error', () => {});
  try {
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

const postgresCluster = () => existsSync('/etc/postgresql') && readdirSync('/etc/postgresql')[0];
const SERVICES = [
  {
    name: `Postgres at ${PG_URL}`,
    ok: postgresAnswers,
    local: isLocal(PG_URL),
    start: () => {
      const version = postgresCluster();
      if (!version) return null;
      return ['pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start']];
    },
    hint: 'pg_ctlcluster --skip-systemctl-redirect <version> main start (or start your Postgres)',
  },
  {
    name: `Redis at ${REDIS_URL}`,
    ok: redisAnswers,
    local: isLocal(REDIS_URL),
    start: () => [
      'redis-server',
      [
        ...[
          '--daemonize',
          'yes',
          '--bind',
          '127.0.0.1',
          '--port',
          new URL(REDIS_URL).port || '6379',
        ],
        ...['--save', '', '--appendonly', 'no'],
      ],
    ],
    hint: 'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
  },
];

const mayInstall =
  process.env.TEST_PREFLIGHT_INSTALL !== '0' &&
  process.getuid?.() === 0 &&
  existsSync('/etc/debian_version') &&
  found('apt-get');

async function main() {
  const started = Date.now();
  try {
    await Promise.all([import('postgres'), import('ioredis')]);
  } catch {
    console.error('test-preflight: node_modules is missing or incomplete: run `npm ci` first');
    process.exit(1);
  }
  let missing = PROGRAMS.filter((p) => !p.ok());
  if (missing.length > 0 && mayInstall) {
    const packages = [...new Set(missing.map((p) => p.pkg))];
    console.log(`test-preflight: installing ${packages.join(' ')} (root on Debian)`);
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit' });
    execFileSync('apt-get', ['install', '-y', '-qq', ...packages], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    missing = PROGRAMS.filter((p) => !p.ok());
  }

  const down = [];
  for (const service of SERVICES) {
    if (await service.ok()) continue;
    const start = service.local && mayInstall ? service.start() : null;
    if (start) {
      console.log(`test-preflight: starting ${service.name}: ${start[0]} ${start[1].join(' ')}`);
      spawnSync(start[0], start[1], { stdio: 'inherit' });
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline && !(await service.ok())) {
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      if (await service.ok()) continue;
    }
    down.push(service);
  }

  if (missing.length === 0 && down.length === 0) {
    console.log(
      `test-preflight: every tool and service the tests need is here (${Date.now() - started} ms)`,
    );
    return;
  }
  const lines = ['test-preflight: the tests cannot run on this machine yet:'];
  for (const p of missing) lines.push(`  missing ${p.name}: apt-get install -y ${p.pkg}`);
  for (const s of down) lines.push(`  not answering: ${s.name}: ${s.hint}`);
  if (!mayInstall && missing.length + down.length > 0) {
    lines.push(
      process.env.TEST_PREFLIGHT_INSTALL === '0'
        ? '  (TEST_PREFLIGHT_INSTALL=0: nothing was installed or started)'
        : '  (run as root on Debian, npm test installs and starts these itself)',
    );
  }
  console.error(lines.join('\n'));
  process.exit(1);
}

await main();
