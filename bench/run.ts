/**
 * `npm run bench`: the challenge pipeline against its own substrate and a peer. Starts what it
 * needs (a database and queue prefix of its own, the fake SMS provider, the API, worker
 * processes, the ceilings' processes, the peer), drives load from this process over loopback,
 * prints one JSON line per figure and a table, and writes bench/results/. See bench/README.md.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadBenchConfig, wants } from './lib/config.ts';
import { installPeer, Peer, type PeerUser } from './lib/peer.ts';
import { LOG_DIR, REPO_ROOT, stopAll } from './lib/procs.ts';
import { formatProfile, type ProfileSummary, summarizeProfile } from './lib/profile.ts';
import {
  Recorder,
  type ScenarioLine,
  type Target,
  table,
  targetsTable,
  updateReadme,
} from './lib/report.ts';
import {
  type CommonOrg,
  type Ctx,
  ceilings,
  commonLogin,
  fullLogins,
  hashMs,
  medianCpu,
  type PipelineRun,
  pipelineLatency,
  pipelineSaturation,
  secondStep,
  verify,
} from './lib/scenarios.ts';
import { createOrg, createUser, mapLimit, trustDevices, type User } from './lib/seed.ts';
import { Stack } from './lib/stack.ts';
import { median, round } from './lib/stats.ts';

const config = loadBenchConfig();
const RESULTS_DIR = join(REPO_ROOT, 'bench/results');
const PASSWORD = 'correct horse battery staple';
// Our scrypt (packages/core) and better-auth 1.7's (@better-auth/utils/password, node:crypto).
const OUR_HASH = { N: 2 ** 15, r: 8, p: 1, keyLen: 32 };
const PEER_HASH = { N: 2 ** 14, r: 16, p: 1, keyLen: 64 };

const t0 = Date.now();
const log = (line: string) => console.error(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${line}`);
const rec = new Recorder();
const med = (values: number[]) => median(values);

async function seed(stack: Stack) {
  const api = stack.apiUrl;
  const orgs = await mapLimit(Array.from({ length: config.organizations }), 4, (_, i) =>
    createOrg(api, `bench-org-${i}`),
  );
  // Pipeline users: 20 per organization, load spread over all of them.
  const pipelineUsers = await mapLimit(Array.from({ length: orgs.length * 20 }), 10, (_, i) =>
    createUser(api, orgs[i % orgs.length]!),
  );
  // One user per virtual user in the flow scenarios, each with a phone of its own so an SMS
  // names its user; the first few have a password, for the full logins.
  const needFlows = wants(config, 'peer') || wants(config, 'logins');
  const flowUsers = needFlows
    ? await mapLimit(Array.from({ length: config.connections }), 8, (_, i) =>
        createUser(api, orgs[i % orgs.length]!, i < config.loginVus ? { password: PASSWORD } : {}),
      )
    : [];
  const common: Record<number, CommonOrg> = {};
  if (wants(config, 'common')) {
    for (const size of [1, 100, 10_000]) {
      const org = await createOrg(api, `bench-common-${size}`);
      const users = await mapLimit(Array.from({ length: 20 }), 10, () => createUser(api, org));
      const tokens = await Promise.all(users.map((u) => trustDevices(stack.sql, u, 1)));
      common[size] = {
        org,
        users: users.map((user, i) => ({ user, deviceToken: tokens[i]![0]! })),
      };
    }
  }
  return { orgs, pipelineUsers, flowUsers, common };
}

interface Figures {
  bullmq?: number;
  pg?: number;
  hono?: number;
  pipeline?: number;
  acceptPerSec?: number;
  latency?: { p50: number; p95: number; p99: number; rate: number };
  verify?: { perSec: number; p99Ms: number };
  common?: Record<number, { perSec: number; p99Ms: number }>;
  workers?: Record<number, number>;
  second?: { ours: number; peer: number; oursP99: number; peerP99: number };
  full?: { ours: number; peer: number; oursP99: number; peerP99: number };
  hash?: { oursMs: number; peerMs: number };
}

async function runScenarios(stack: Stack, f: Figures): Promise<void> {
  const ctx: Ctx = { config, stack, log };
  log('seeding organizations and users');
  const data = await seed(stack);
  // Codes are learnt from the fake provider as the pipeline sends them, for verify.
  stack.sink.keepCodes(wants(config, 'verify'));

  if (wants(config, 'ceilings')) {
    const c = await ceilings(ctx);
    const add = (
      name: string,
      unit: string,
      runs: { perSec: number; cpu: Record<string, number> }[],
    ) =>
      rec.add(
        name,
        unit,
        runs.map((r) => r.perSec),
        { cpuMsPerOp: medianCpu(runs) },
      ).median;
    f.bullmq = add('ceiling: raw BullMQ add + no-op process', 'jobs/s', c.bullmq);
    f.pg = add('ceiling: raw postgres.js 4-statement tx', 'tx/s', c.pg);
    f.hono = add('ceiling: raw Hono JSON POST -> 202', 'req/s', c.hono);
  }

  const pipelineRuns = new Map<number, PipelineRun[]>();
  const needPipeline = wants(config, 'pipeline') || wants(config, 'verify');
  if (needPipeline) {
    const runs = await pipelineSaturation(
      ctx,
      data.pipelineUsers,
      `pipeline, ${config.workers} workers`,
    );
    pipelineRuns.set(config.workers, runs);
    f.pipeline = rec.add(
      `pipeline: challenge -> SMS recorded (${config.workers} workers)`,
      'challenges/s',
      runs.map((r) => r.perSec),
      {
        acceptPerSec: round(med(runs.map((r) => r.acceptPerSec)), 0),
        drainS: round(med(runs.map((r) => r.drainS)), 2),
        cpuMsPerChallenge: medianCpu(runs),
      },
    ).median;
    f.acceptPerSec = med(runs.map((r) => r.acceptPerSec));
    const rate = Math.max(1, Math.floor(f.pipeline / 2));
    const lat = await pipelineLatency(ctx, data.pipelineUsers, rate);
    const p99 = rec.add(
      `pipeline: accept -> provider p99 at ${rate}/s`,
      'ms',
      lat.map((l) => l.p99),
      {
        p50: round(med(lat.map((l) => l.p50)), 1),
        p95: round(med(lat.map((l) => l.p95)), 1),
        samples: lat.map((l) => l.count),
        missing: lat.reduce((a, l) => a + l.missing, 0),
      },
    ).median;
    rec.add(
      `pipeline: accept -> provider p50 at ${rate}/s`,
      'ms',
      lat.map((l) => l.p50),
    );
    f.latency = {
      p50: med(lat.map((l) => l.p50)),
      p95: med(lat.map((l) => l.p95)),
      p99,
      rate,
    };
  }

  if (wants(config, 'scaling')) {
    f.workers = {};
    for (const n of config.scalingWorkers) {
      let runs = pipelineRuns.get(n);
      if (!runs) {
        await stack.setWorkers(n);
        runs = await pipelineSaturation(ctx, data.pipelineUsers, `pipeline, ${n} workers`);
      }
      f.workers[n] = rec.add(
        `scaling: pipeline with ${n} worker process(es)`,
        'challenges/s',
        runs.map((r) => r.perSec),
        {
          acceptPerSec: round(med(runs.map((r) => r.acceptPerSec)), 0),
          cpuMsPerChallenge: medianCpu(runs),
        },
      ).median;
    }
    await stack.setWorkers(config.workers);
  }

  if (wants(config, 'verify')) {
    const runs = await verify(
      ctx,
      data.orgs,
      data.pipelineUsers,
      stack.sink.takeCodes(),
      config.verifyPool,
    );
    const perSec = rec.add(
      'verify: right and wrong codes, half each',
      'req/s',
      runs.map((r) => r.perSec),
      {
        unexpected: runs.map((r) => r.unexpected),
        ranOut: runs.some((r) => r.ranOut),
        cpuMsPerRequest: medianCpu(runs),
      },
    ).median;
    const p99Ms = rec.add(
      'verify: p99',
      'ms',
      runs.map((r) => r.p99Ms),
    ).median;
    f.verify = { perSec, p99Ms };
  }
  stack.sink.keepCodes(false);

  if (wants(config, 'common')) {
    f.common = {};
    const sizes = [1, 100, 10_000];
    const all = await commonLogin(
      ctx,
      sizes.map((cidrs) => ({ cidrs, target: data.common[cidrs]! })),
    );
    for (const size of sizes) {
      const runs = all.get(size)!;
      const perSec = rec.add(
        `common login: no SMS, ${size} CIDRs`,
        'req/s',
        runs.map((r) => r.perSec),
        { cpuMsPerRequest: medianCpu(runs) },
      ).median;
      const p99Ms = rec.add(
        `common login: p99, ${size} CIDRs`,
        'ms',
        runs.map((r) => r.p99Ms),
      ).median;
      f.common[size] = { perSec, p99Ms };
    }
  }

  if (wants(config, 'peer') || wants(config, 'logins')) {
    const peer = new Peer(config);
    try {
      log('starting the peer (better-auth)');
      await peer.start(stack.sink.url);
      const peerUsers: PeerUser[] = await peer.createUsers(
        config.connections,
        config.loginVus,
        PASSWORD,
      );
      const users: User[] = data.flowUsers;
      if (wants(config, 'peer')) {
        const { runs, mintedInline } = await secondStep(ctx, peer, users, peerUsers);
        const ours = rec.add(
          'second step: ours (challenge + SMS + verify)',
          'flows/s',
          runs.map((r) => r.ours.perSec),
        ).median;
        const theirs = rec.add(
          'second step: better-auth (send-otp + verify-otp)',
          'flows/s',
          runs.map((r) => r.peer.perSec),
          {
            mintedInline,
          },
        ).median;
        const oursP99 = rec.add(
          'second step: ours p99',
          'ms',
          runs.map((r) => r.ours.p99),
        ).median;
        const peerP99 = rec.add(
          'second step: better-auth p99',
          'ms',
          runs.map((r) => r.peer.p99),
        ).median;
        f.second = { ours, peer: theirs, oursP99, peerP99 };
      }
      if (wants(config, 'logins')) {
        f.hash = { oursMs: await hashMs(OUR_HASH), peerMs: await hashMs(PEER_HASH) };
        const runs = await fullLogins(ctx, peer, users, peerUsers);
        const ours = rec.add(
          'full login: ours (password + second step)',
          'logins/s',
          runs.map((r) => r.ours.perSec),
          {
            hash: 'scrypt N=2^15 r=8 p=1 (32 MiB)',
            hashMs: round(f.hash.oursMs, 1),
          },
        ).median;
        const theirs = rec.add(
          'full login: better-auth (password + second step)',
          'logins/s',
          runs.map((r) => r.peer.perSec),
          {
            hash: 'scrypt N=2^14 r=16 p=1 (32 MiB)',
            hashMs: round(f.hash.peerMs, 1),
          },
        ).median;
        const oursP99 = rec.add(
          'full login: ours p99',
          'ms',
          runs.map((r) => r.ours.p99),
        ).median;
        const peerP99 = rec.add(
          'full login: better-auth p99',
          'ms',
          runs.map((r) => r.peer.p99),
        ).median;
        f.full = { ours, peer: theirs, oursP99, peerP99 };
      }
    } finally {
      await peer.stop();
    }
  }
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a !== undefined && b !== undefined && b > 0 ? round(a / b, 3) : null;
}

function targets(f: Figures): Target[] {
  const out: Target[] = [];
  const pct = (r: number | null) => (r === null ? '-' : `${round(r * 100, 1)}%`);
  const pipeline = ratio(f.pipeline, f.bullmq);
  out.push({
    name: 'pipeline vs raw BullMQ',
    target: '>= 25%',
    actual: pct(pipeline),
    pass: pipeline === null ? null : pipeline >= 0.25,
  });
  out.push({
    name: `p99 accept -> provider at half rate`,
    target: '< 100 ms',
    actual: f.latency ? `${round(f.latency.p99, 1)} ms` : '-',
    pass: f.latency ? f.latency.p99 < 100 : null,
  });
  const v = ratio(f.verify?.perSec, f.pg);
  out.push({
    name: 'verify vs raw 4-statement tx',
    target: '>= 1.0x',
    actual: v === null ? '-' : `${v}x`,
    pass: v === null ? null : v >= 1,
  });
  if (f.common) {
    const rates = Object.values(f.common).map((c) => c.perSec);
    const worst = Math.min(...rates);
    const r = ratio(worst, f.hono);
    out.push({
      name: 'common login vs raw Hono (worst list size)',
      target: '>= 30%',
      actual: pct(r),
      pass: r === null ? null : r >= 0.3,
    });
    const spreadPct = (Math.max(...rates) - worst) / Math.max(...rates);
    out.push({
      name: 'common login flat from 1 to 10,000 CIDRs',
      target: 'within 20%',
      actual: `${round(spreadPct * 100, 1)}% apart`,
      pass: spreadPct <= 0.2,
    });
  }
  if (f.second) {
    const r = ratio(f.second.ours, f.second.peer);
    out.push({
      name: 'second step vs better-auth',
      target: '>= 10x',
      actual: r === null ? '-' : `${r}x`,
      pass: r === null ? null : r >= 10,
    });
    out.push({
      name: 'second step p99 vs better-auth',
      target: 'lower',
      actual: `${round(f.second.oursP99, 1)} vs ${round(f.second.peerP99, 1)} ms`,
      pass: f.second.oursP99 < f.second.peerP99,
    });
  }
  return out;
}

/** What each table row is compared against: the ceiling it cannot beat. */
function ratioColumn(f: Figures) {
  return (line: ScenarioLine): string => {
    const s = line.scenario;
    const pct = (r: number | null) =>
      r === null
        ? ''
        : `${round(r * 100, 1)}% of ${s.startsWith('verify') ? 'pg tx' : s.startsWith('common') ? 'Hono' : 'BullMQ'}`;
    if (line.unit === 'ms') return '';
    if (s.startsWith('pipeline') || s.startsWith('scaling'))
      return pct(ratio(line.median, f.bullmq));
    if (s.startsWith('verify')) {
      const r = ratio(line.median, f.pg);
      return r === null ? '' : `${r}x pg tx`;
    }
    if (s.startsWith('common')) return pct(ratio(line.median, f.hono));
    if (s.startsWith('second step: ours') && f.second)
      return `${ratio(f.second.ours, f.second.peer)}x peer`;
    return '';
  };
}

function results(f: Figures, started: Date) {
  const n = (v: number | undefined, digits = 0) => (v === undefined ? null : round(v, digits));
  return {
    date: started.toISOString(),
    machine: {
      cores: config.machine.cores,
      memoryGiB: config.machine.memoryGiB,
      cpu: cpus()[0]?.model ?? 'unknown',
      node: process.version,
    },
    quick: config.quick,
    partial: config.only ? [...config.only] : null,
    params: {
      runs: config.runs,
      durationS: config.durationS,
      warmupS: config.warmupS,
      connections: config.connections,
      workers: config.workers,
      workerConcurrency: config.workerConcurrency,
      apiPoolSize: config.apiPoolSize,
      organizations: config.organizations,
    },
    ceilings: { bullmqJobsPerSec: n(f.bullmq), pgTxPerSec: n(f.pg), honoReqPerSec: n(f.hono) },
    pipeline: {
      perSec: n(f.pipeline),
      p99AcceptToProviderMs: n(f.latency?.p99, 1),
      p95AcceptToProviderMs: n(f.latency?.p95, 1),
      p50AcceptToProviderMs: n(f.latency?.p50, 1),
      latencyAtPerSec: f.latency?.rate ?? null,
      apiAcceptPerSec: n(f.acceptPerSec),
    },
    verify: { perSec: n(f.verify?.perSec), p99Ms: n(f.verify?.p99Ms, 1) },
    commonLogin: {
      cidrs1PerSec: n(f.common?.[1]?.perSec),
      cidrs100PerSec: n(f.common?.[100]?.perSec),
      cidrs10000PerSec: n(f.common?.[10_000]?.perSec),
      cidrs1P99Ms: n(f.common?.[1]?.p99Ms, 1),
      cidrs100P99Ms: n(f.common?.[100]?.p99Ms, 1),
      cidrs10000P99Ms: n(f.common?.[10_000]?.p99Ms, 1),
    },
    workers: {
      '1': n(f.workers?.[1]),
      '2': n(f.workers?.[2]),
      '4': n(f.workers?.[4]),
    },
    peer: {
      oursSecondStepPerSec: n(f.second?.ours),
      peerSecondStepPerSec: n(f.second?.peer),
      oursP99Ms: n(f.second?.oursP99, 1),
      peerP99Ms: n(f.second?.peerP99, 1),
      oursFullLoginPerSec: n(f.full?.ours, 1),
      peerFullLoginPerSec: n(f.full?.peer, 1),
      oursFullLoginP99Ms: n(f.full?.oursP99, 1),
      peerFullLoginP99Ms: n(f.full?.peerP99, 1),
      oursHash: 'scrypt N=2^15 r=8 p=1, 32 MiB (packages/core)',
      peerHash: 'scrypt N=2^14 r=16 p=1, 32 MiB (better-auth default)',
      oursHashMs: n(f.hash?.oursMs, 1),
      peerHashMs: n(f.hash?.peerMs, 1),
    },
    ratios: {
      pipelineVsBullmq: ratio(f.pipeline, f.bullmq),
      verifyVsPgTx: ratio(f.verify?.perSec, f.pg),
      commonLoginVsHono: f.common
        ? ratio(Math.min(...Object.values(f.common).map((c) => c.perSec)), f.hono)
        : null,
      secondStepVsPeer: ratio(f.second?.ours, f.second?.peer),
    },
    targets: targets(f),
    scenarios: rec.lines,
  };
}

/** Per process, the busiest thread's profile (the main thread; the other is tsx's loader). */
async function profileSummaries(dir: string): Promise<string> {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const files = readdirSync(join(dir, name)).filter((f) => f.endsWith('.cpuprofile'));
    const busy = (s: ProfileSummary) => s.totalMs * (100 - s.idlePct);
    const [busiest] = files
      .map((f) => summarizeProfile(join(dir, name, f)))
      .sort((a, b) => busy(b) - busy(a));
    if (busiest) out.push(formatProfile(name, busiest));
  }
  return out.join('\n\n');
}

async function main(): Promise<void> {
  const started = new Date();
  log(
    `bench: ${config.machine.cores} cores, ${config.machine.memoryGiB} GiB, ${config.runs} run(s) x ${config.durationS}s` +
      `${config.quick ? ' (quick)' : ''}${config.only ? `, only ${[...config.only].join(',')}` : ''}; logs in ${LOG_DIR}`,
  );
  if (wants(config, 'peer') || wants(config, 'logins')) installPeer();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const profileDir = config.profile ? join(RESULTS_DIR, `profile-${stamp}`) : null;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const stack = new Stack(config, profileDir);
  // Ctrl-C still drops the bench's databases and Redis keys.
  process.once('SIGINT', () => {
    log('interrupted: cleaning up');
    void Promise.allSettled([stack.stop(), stopAll()]).finally(() => process.exit(130));
  });
  const figures: Figures = {};
  let failure: unknown = null;
  try {
    log('starting the stack');
    await stack.start(config.workers);
    await runScenarios(stack, figures);
  } catch (error) {
    failure = error;
  } finally {
    log('stopping');
    await stack.stop().catch((error: unknown) => log(`cleanup: ${(error as Error).message}`));
    await stopAll();
  }
  if (failure) {
    console.error(failure instanceof Error ? (failure.stack ?? failure.message) : failure);
    console.error(`process logs: ${LOG_DIR}`);
    process.exitCode = 1;
    return;
  }

  const out = results(figures, started);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(out, null, 2)}\n`;
  writeFileSync(join(RESULTS_DIR, `${stamp}.json`), json);
  const complete = !config.quick && !config.only && !config.profile;
  if (complete) writeFileSync(join(RESULTS_DIR, 'latest.json'), json);

  const body = table(rec.lines, ratioColumn(figures));
  const goals = targetsTable(out.targets);
  console.log(`\n${body}\n\n${goals}\n`);
  log(
    complete
      ? 'wrote bench/results/latest.json and a dated copy'
      : `wrote bench/results/${stamp}.json only (quick, partial or profiling runs leave latest.json alone)`,
  );
  if (complete) {
    const section = [
      `Run ${out.date.slice(0, 16).replace('T', ' ')} UTC on ${out.machine.cores} cores, ${out.machine.memoryGiB} GiB (${out.machine.cpu}), Node ${out.machine.node}; ${config.runs} runs of ${config.durationS} s each, ${config.connections} connections, ${config.workers} workers x concurrency ${config.workerConcurrency}.`,
      '',
      body,
      '',
      goals,
    ].join('\n');
    if (updateReadme(join(REPO_ROOT, 'bench/README.md'), section)) log('updated bench/README.md');
  }
  if (profileDir) console.log(`\n${await profileSummaries(profileDir)}\n\nprofiles: ${profileDir}`);
}

await main();
