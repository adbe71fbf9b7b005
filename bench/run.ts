/**
 * `npm run bench`: the challenge pipeline against its own substrate and a peer. Starts what it
 * needs (a database and queue prefix of its own, the fake SMS provider, the API, worker
 * processes, the ceilings' processes, the peer), drives load from this process over loopback,
 * prints one JSON line per figure and a table, and writes bench/results/. See bench/README.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { loadBenchConfig, wants } from './lib/config.ts';
import {
  COMPONENT_PARTS,
  COMPONENTS,
  FLOOR_LABELS,
  FLOOR_PARTS,
  type Floor,
  floorOf,
  floorRuns,
  PATHS,
  type PathName,
  PRODUCT_PARTS,
  RAW_LABELS,
  RAW_PARTS,
  type RawFloor,
  rawFloorOf,
  stackCpu,
} from './lib/floor.ts';
import {
  type AdminReadRun,
  adminReads,
  explainHot,
  type LargeCounts,
  seedLarge,
} from './lib/large.ts';
import { type MixedFigures, mixedLogins } from './lib/mixed.ts';
import { installPeer, Peer, type PeerUser } from './lib/peer.ts';
import { LOG_DIR, REPO_ROOT, stopAll } from './lib/procs.ts';
import { formatProfile, type ProfileSummary, summarizeProfile } from './lib/profile.ts';
import { promptRounds, registerPromptApps } from './lib/prompt.ts';
import {
  missingFields,
  Recorder,
  type ScenarioLine,
  type Target,
  table,
  targetsTable,
  updateReadme,
} from './lib/report.ts';
import type { RssReading } from './lib/rss.ts';
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
import { type SoakResult, type SoakSample, soak, type Trend } from './lib/soak.ts';
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
  const needFlows = wants(config, 'peer') || wants(config, 'logins') || wants(config, 'prompt');
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

type Cpu = Record<string, number>;
type Latency = { p50: number; p95: number; p99: number; rate: number };

interface Figures {
  bullmq?: number;
  pg?: number;
  hono?: number;
  /** CPU ms per op of the ceilings, per component. */
  ceilingCpu?: { bullmq: Cpu; pg: Cpu; hono: Cpu };
  floor?: Floor;
  /** The raw floor of each path, with the product's figure beside each raw part. */
  rawFloor?: RawFloor;
  pipeline?: number;
  /** CPU ms per challenge of the pipeline, per component. */
  pipelineCpu?: Cpu;
  acceptPerSec?: number;
  latency?: Latency;
  /** Accept -> provider at 80% of the saturated rate. */
  latency80?: Latency;
  verify?: { perSec: number; p99Ms: number; cpu: Cpu };
  common?: Record<number, { perSec: number; p99Ms: number; cpu: Cpu }>;
  workers?: Record<number, number>;
  second?: { ours: number; peer: number; oursP99: number; peerP99: number; oursCpu: Cpu };
  full?: { ours: number; peer: number; oursP99: number; peerP99: number };
  /** The hosted prompt's full round, and the API's second step measured beside it. */
  prompt?: { perSec: number; p99Ms: number; cpu: Cpu; apiPerSec: number; apiCpu: Cpu };
  hash?: { oursMs: number; peerMs: number };
  /** Peak RSS of the API and each worker, per scenario. */
  rss?: Record<string, RssReading>;
  soak?: SoakResult;
  large?: Large;
  /** The mixed login run: app, SMS and backup-code users. */
  mixed?: MixedFigures & { noSmsShare: number; smsPerLogin: number; perSec: number; cpu: Cpu };
}

type AdminReads = Record<'ledger' | 'audit' | 'users', { perSec: number; p99Ms: number }>;

/** BENCH_DATA=large: the same scenarios again once the tables hold a year of traffic. */
interface Large {
  seedSeconds: number;
  counts: LargeCounts;
  pipeline?: number;
  /** CPU ms per challenge of the large pass's pipeline, per component. */
  pipelineCpu?: Cpu;
  verify?: number;
  /** The worst list size, as the empty-database target takes it. */
  common?: number;
  adminEmpty: AdminReads;
  admin: AdminReads;
  explain: { name: string; plan: string; usesIndex: boolean }[];
  /** The same passes on a fresh stack and an empty database, right after the large pass. */
  emptyAfter?: DataPass;
}

/** The label of the control pass: an empty database in the large pass's machine state. */
const EMPTY_AFTER = 'empty database right after';

const ADMIN_READS = {
  ledger: 'ledger (GET /v1/sms-balance)',
  audit: 'audit page (GET /v1/audit-events, 50)',
  users: 'user list page (GET /settings/users)',
} as const;

const worstCommon = (common: Figures['common']) =>
  common ? Math.min(...Object.values(common).map((c) => c.perSec)) : undefined;

/** Runs `fn` while sampling the API's and the workers' RSS; keeps the peaks under `name`. */
async function withRss<T>(
  stack: Stack,
  f: Figures,
  name: string,
  fn: () => Promise<T>,
): Promise<{ value: T; peakRssMiB: RssReading }> {
  const stop = stack.startRss();
  try {
    const value = await fn();
    const peakRssMiB = stop();
    f.rss = { ...f.rss, [name]: peakRssMiB };
    return { value, peakRssMiB };
  } catch (error) {
    stop();
    throw error;
  }
}

async function runScenarios(stack: Stack, f: Figures): Promise<void> {
  const ctx: Ctx = { config, stack, log };
  log('seeding organizations and users');
  const data = await seed(stack);
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
    f.ceilingCpu = { bullmq: medianCpu(c.bullmq), pg: medianCpu(c.pg), hono: medianCpu(c.hono) };
    // The floors: each step raw, and through the product's own statements and provider call,
    // each alone.
    const parts = await floorRuns(ctx, data.orgs);
    for (const part of ['commit', 'claim', 'twilio', 'outcome'] as const) {
      add(`floor: ${FLOOR_LABELS[part]}`, 'ops/s', parts[part]);
    }
    for (const part of ['read', 'approve', 'wrong', 'login', 'signin', 'window'] as const) {
      add(`floor: ${RAW_LABELS[part].product} (product)`, 'ops/s', parts[part]);
    }
    for (const part of PRODUCT_PARTS) {
      add(`raw floor: ${RAW_LABELS[part].raw}`, 'ops/s', parts.raw[part]);
    }
    f.floor = floorOf({ hono: c.hono, bullmq: c.bullmq, ...parts }, config.machine.cores);
    const { raw, ...product } = parts;
    f.rawFloor = rawFloorOf({ hono: c.hono, bullmq: c.bullmq, ...raw }, product);
    log(
      `floor: ${f.floor.cpuMsPerChallenge} CPU ms per challenge, ${round(f.floor.perSec, 0)}/s on ${config.machine.cores} cores; raw: ${JSON.stringify(f.rawFloor.cpuMs)}`,
    );
  }
  // Codes are learnt from the fake provider as the pipeline sends them, for verify.
  stack.sink.keepCodes(wants(config, 'verify'));

  const pipelineRuns = new Map<number, PipelineRun[]>();
  const soakS = wants(config, 'soak') ? config.soakS : 0;
  const needPipeline = wants(config, 'pipeline') || wants(config, 'verify') || soakS > 0;
  let pipelineRss: RssReading | null = null;
  if (needPipeline) {
    const measured = await withRss(stack, f, 'pipeline', () =>
      pipelineSaturation(ctx, data.pipelineUsers, `pipeline, ${config.workers} workers`),
    );
    const runs = measured.value;
    pipelineRss = measured.peakRssMiB;
    pipelineRuns.set(config.workers, runs);
    f.pipelineCpu = medianCpu(runs);
    f.pipeline = rec.add(
      `pipeline: challenge -> SMS recorded (${config.workers} workers)`,
      'challenges/s',
      runs.map((r) => r.perSec),
      {
        acceptPerSec: round(med(runs.map((r) => r.acceptPerSec)), 0),
        drainS: round(med(runs.map((r) => r.drainS)), 2),
        cpuMsPerChallenge: f.pipelineCpu,
        stackCpuMsPerChallenge: round(stackCpu(f.pipelineCpu), 3),
        peakRssMiB: pipelineRss,
      },
    ).median;
    f.acceptPerSec = med(runs.map((r) => r.acceptPerSec));
    const latencyAt = async (rate: number, label: string): Promise<Latency> => {
      const lat = await pipelineLatency(ctx, data.pipelineUsers, rate);
      const p99 = rec.add(
        `pipeline: accept -> provider p99 at ${rate}/s (${label})`,
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
        `pipeline: accept -> provider p50 at ${rate}/s (${label})`,
        'ms',
        lat.map((l) => l.p50),
      );
      return { p50: med(lat.map((l) => l.p50)), p95: med(lat.map((l) => l.p95)), p99, rate };
    };
    f.latency = await latencyAt(Math.max(1, Math.floor(f.pipeline / 2)), 'half saturation');
    f.latency80 = await latencyAt(Math.max(1, Math.floor(f.pipeline * 0.8)), '80% of saturation');
  }

  if (wants(config, 'scaling')) {
    f.workers = {};
    for (const n of config.scalingWorkers) {
      let runs = pipelineRuns.get(n);
      let peakRssMiB = n === config.workers ? pipelineRss : null;
      if (!runs) {
        await stack.setWorkers(n);
        const measured = await withRss(stack, f, `scaling ${n}`, () =>
          pipelineSaturation(ctx, data.pipelineUsers, `pipeline, ${n} workers`),
        );
        runs = measured.value;
        peakRssMiB = measured.peakRssMiB;
      }
      f.workers[n] = rec.add(
        `scaling: pipeline with ${n} worker process(es)`,
        'challenges/s',
        runs.map((r) => r.perSec),
        {
          acceptPerSec: round(med(runs.map((r) => r.acceptPerSec)), 0),
          cpuMsPerChallenge: medianCpu(runs),
          peakRssMiB,
        },
      ).median;
    }
    await stack.setWorkers(config.workers);
  }

  if (wants(config, 'verify')) {
    const { value: runs, peakRssMiB } = await withRss(stack, f, 'verify', () =>
      verify(ctx, data.orgs, data.pipelineUsers, stack.sink.takeCodes(), config.verifyPool),
    );
    const verifyCpu = medianCpu(runs);
    const perSec = rec.add(
      'verify: right and wrong codes, half each',
      'req/s',
      runs.map((r) => r.perSec),
      {
        unexpected: runs.map((r) => r.unexpected),
        ranOut: runs.some((r) => r.ranOut),
        cpuMsPerRequest: verifyCpu,
        peakRssMiB,
      },
    ).median;
    const p99Ms = rec.add(
      'verify: p99',
      'ms',
      runs.map((r) => r.p99Ms),
    ).median;
    f.verify = { perSec, p99Ms, cpu: verifyCpu };
  }
  stack.sink.keepCodes(false);

  if (wants(config, 'common')) {
    f.common = {};
    const sizes = [1, 100, 10_000];
    const { value: all, peakRssMiB } = await withRss(stack, f, 'common', () =>
      commonLogin(
        ctx,
        sizes.map((cidrs) => ({ cidrs, target: data.common[cidrs]! })),
      ),
    );
    for (const size of sizes) {
      const runs = all.get(size)!;
      const cpu = medianCpu(runs);
      const perSec = rec.add(
        `common login: no SMS, ${size} CIDRs`,
        'req/s',
        runs.map((r) => r.perSec),
        { cpuMsPerRequest: cpu, peakRssMiB },
      ).median;
      const p99Ms = rec.add(
        `common login: p99, ${size} CIDRs`,
        'ms',
        runs.map((r) => r.p99Ms),
      ).median;
      f.common[size] = { perSec, p99Ms, cpu };
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
        const {
          value: { runs, mintedInline },
          peakRssMiB,
        } = await withRss(stack, f, 'second step', () => secondStep(ctx, peer, users, peerUsers));
        const oursCpu = medianCpu(runs.map((r) => ({ cpu: r.oursCpu })));
        const ours = rec.add(
          'second step: ours (challenge + SMS + verify)',
          'flows/s',
          runs.map((r) => r.ours.perSec),
          { cpuMsPerFlow: oursCpu, peakRssMiB },
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
        f.second = { ours, peer: theirs, oursP99, peerP99, oursCpu };
      }
      if (wants(config, 'logins')) {
        f.hash = { oursMs: await hashMs(OUR_HASH), peerMs: await hashMs(PEER_HASH) };
        const { value: runs, peakRssMiB } = await withRss(stack, f, 'full login', () =>
          fullLogins(ctx, peer, users, peerUsers),
        );
        const ours = rec.add(
          'full login: ours (password + second step)',
          'logins/s',
          runs.map((r) => r.ours.perSec),
          {
            hash: 'scrypt N=2^15 r=8 p=1 (32 MiB)',
            hashMs: round(f.hash.oursMs, 1),
            cpuMsPerLogin: medianCpu(runs.map((r) => ({ cpu: r.oursCpu }))),
            peakRssMiB,
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

  if (wants(config, 'prompt')) {
    const apps = await registerPromptApps(ctx, data.orgs);
    const { value: runs, peakRssMiB } = await withRss(stack, f, 'prompt', () =>
      promptRounds(ctx, data.flowUsers, apps),
    );
    const cpu = medianCpu(runs.map((r) => ({ cpu: r.promptCpu })));
    const apiCpu = medianCpu(runs.map((r) => ({ cpu: r.apiCpu })));
    const perSec = rec.add(
      'prompt: full round (PAR + authorize + code step + token)',
      'rounds/s',
      runs.map((r) => r.prompt.perSec),
      { cpuMsPerRound: cpu, peakRssMiB },
    ).median;
    const apiPerSec = rec.add(
      'prompt: the API second step beside it (challenge + SMS + verify)',
      'flows/s',
      runs.map((r) => r.api.perSec),
      { cpuMsPerFlow: apiCpu },
    ).median;
    const p99Ms = rec.add(
      'prompt: round p99',
      'ms',
      runs.map((r) => r.prompt.p99),
    ).median;
    f.prompt = { perSec, p99Ms, cpu, apiPerSec, apiCpu };
  }

  if (wants(config, 'mixed')) {
    const { value: mixed, peakRssMiB } = await withRss(stack, f, 'mixed logins', () =>
      mixedLogins(ctx),
    );
    const runs = mixed.runs;
    const share = rec.add(
      'mixed logins: share that needed no SMS',
      'x',
      runs.map((r) => r.noSms / r.logins),
      {
        mix: mixed.mix,
        logins: runs.map((r) => r.logins),
        sms: runs.map((r) => r.sms),
        byMethod: runs.map((r) => r.byMethod),
        peakRssMiB,
      },
    ).median;
    const smsPerLogin = rec.add(
      'mixed logins: SMS the fake took per login',
      'x',
      runs.map((r) => r.sms / r.logins),
    ).median;
    const cpu = medianCpu(runs);
    const perSec = rec.add(
      'mixed logins: logins (10 at a time)',
      'logins/s',
      runs.map((r) => r.perSec),
      { cpuMsPerLogin: cpu },
    ).median;
    f.mixed = { ...mixed, noSmsShare: share, smsPerLogin, perSec, cpu };
  }

  if (soakS > 0 && f.pipeline) {
    // A memory soak, not a saturation test: each challenge also brings about 1.1 more API
    // requests (half a verify, half a receipt, a tenth of a resend), and an open loop past the
    // API's capacity piles up connections until they time out (UND_ERR_CONNECT_TIMEOUT). A
    // quarter of the pipeline's saturated rate keeps the API at about half its load.
    const rate = Math.max(1, Math.floor(f.pipeline / 4));
    const result = await soak(ctx, data.pipelineUsers, rate, soakS);
    f.soak = result;
    const last = result.samples[result.samples.length - 1];
    rec.add(
      `soak: API RSS, last / at ${result.baselineS} s (${soakS} s at ${rate}/s)`,
      'x',
      result.apiRssGrowth === null ? [] : [result.apiRssGrowth],
      { samples: result.samples, done: result.done, unexpected: result.unexpected, last },
    );
    rec.add(
      `soak: worst worker RSS, last / at ${result.baselineS} s`,
      'x',
      result.workerRssGrowth === null ? [] : [result.workerRssGrowth],
    );
    const span = `${result.fitFromS}-${result.fitToS} s`;
    rec.add(
      `soak: API RSS by trend, fitted ${span}`,
      'x',
      result.apiGrowthByTrend === null ? [] : [result.apiGrowthByTrend],
      { trend: result.trend.api, heapTrend: result.heapTrend.api },
    );
    rec.add(
      `soak: worst worker RSS by trend, fitted ${span}`,
      'x',
      result.workerGrowthByTrend === null ? [] : [result.workerGrowthByTrend],
      { trend: result.trend.workers, heapTrend: result.heapTrend.workers },
    );
  }

  if (config.large) await largeData(ctx, f, data);
}

/**
 * Admin reads on the empty database, then the seed, then pipeline, verify and the common login
 * (those this run measured) and the admin reads again, and the hot statements' plans.
 */
type SeedData = Awaited<ReturnType<typeof seed>>;

/** What one pass measures on one database: the scenarios this run measured, and the admin reads. */
interface DataPass {
  pipeline?: number;
  /** CPU ms per challenge of the pass's pipeline, per component. */
  pipelineCpu?: Cpu;
  verify?: number;
  /** The worst list size, as the empty-database target takes it. */
  common?: number;
  admin: AdminReads;
}

/** The admin reads on `ctx`'s stack, recorded under `label`. */
async function adminPass(ctx: Ctx, f: Figures, orgs: SeedData['orgs'], label: string) {
  const { value: runs, peakRssMiB } = await withRss(ctx.stack, f, `admin reads ${label}`, () =>
    adminReads(ctx, orgs),
  );
  const out = {} as AdminReads;
  for (const kind of ['ledger', 'audit', 'users'] as const) {
    const list: AdminReadRun[] = runs[kind];
    const perSec = rec.add(
      `admin reads: ${ADMIN_READS[kind]}, ${label}`,
      'req/s',
      list.map((r) => r.perSec),
      { cpuMsPerRequest: medianCpu(list), peakRssMiB },
    ).median;
    const p99Ms = rec.add(
      `admin reads: ${ADMIN_READS[kind]} p99, ${label}`,
      'ms',
      list.map((r) => r.p99Ms),
    ).median;
    out[kind] = { perSec, p99Ms };
  }
  return out;
}

/**
 * Pipeline, verify and the common login (those this run measured), then the admin reads, on
 * `ctx`'s stack and `data`, recorded as `large data: ...` with `label` (`''` for the large pass).
 */
async function dataPass(ctx: Ctx, f: Figures, data: SeedData, label: string): Promise<DataPass> {
  const { stack } = ctx;
  const name = (what: string) => `large data: ${label ? `${label}, ` : ''}${what}`;
  const pass = {} as DataPass;
  const vsEmpty = (value: number, empty: number | undefined) =>
    empty ? { vsEmpty: round(value / empty, 3) } : {};
  if (f.pipeline !== undefined) {
    stack.sink.keepCodes(f.verify !== undefined);
    const { value: runs, peakRssMiB } = await withRss(stack, f, name('pipeline'), () =>
      pipelineSaturation(ctx, data.pipelineUsers, name('pipeline')),
    );
    const cpu = medianCpu(runs);
    pass.pipelineCpu = cpu;
    pass.pipeline = med(runs.map((r) => r.perSec));
    rec.add(
      name(`pipeline (${config.workers} workers)`),
      'challenges/s',
      runs.map((r) => r.perSec),
      {
        cpuMsPerChallenge: cpu,
        stackCpuMsPerChallenge: round(stackCpu(cpu), 3),
        peakRssMiB,
        ...vsEmpty(pass.pipeline, f.pipeline),
      },
    );
  }
  if (f.verify !== undefined) {
    const { value: runs, peakRssMiB } = await withRss(stack, f, name('verify'), () =>
      verify(ctx, data.orgs, data.pipelineUsers, stack.sink.takeCodes(), config.verifyPool),
    );
    pass.verify = med(runs.map((r) => r.perSec));
    rec.add(
      name('verify, right and wrong codes'),
      'req/s',
      runs.map((r) => r.perSec),
      {
        unexpected: runs.map((r) => r.unexpected),
        cpuMsPerRequest: medianCpu(runs),
        peakRssMiB,
        ...vsEmpty(pass.verify, f.verify.perSec),
      },
    );
  }
  stack.sink.keepCodes(false);
  if (f.common !== undefined) {
    const sizes = [1, 100, 10_000];
    const { value: all, peakRssMiB } = await withRss(stack, f, name('common'), () =>
      commonLogin(
        ctx,
        sizes.map((cidrs) => ({ cidrs, target: data.common[cidrs]! })),
      ),
    );
    const rates: number[] = [];
    for (const size of sizes) {
      const runs = all.get(size)!;
      const perSec = rec.add(
        name(`common login, ${size} CIDRs`),
        'req/s',
        runs.map((r) => r.perSec),
        {
          cpuMsPerRequest: medianCpu(runs),
          peakRssMiB,
          ...vsEmpty(med(runs.map((r) => r.perSec)), f.common[size]?.perSec),
        },
      ).median;
      rates.push(perSec);
    }
    pass.common = Math.min(...rates);
  }
  pass.admin = await adminPass(ctx, f, data.orgs, label || 'large data');
  return pass;
}

async function largeData(ctx: Ctx, f: Figures, data: SeedData) {
  const { stack } = ctx;
  const adminEmpty = await adminPass(ctx, f, data.orgs, 'empty database');
  const scale = config.quick ? 0.01 : 1;
  log(`large data: seeding at scale ${scale}`);
  const seeded = await seedLarge(stack.sql, data.orgs, { scale, log });
  log(`large data: seeded in ${round(seeded.seconds, 1)} s: ${JSON.stringify(seeded.counts)}`);
  const large: Large = {
    seedSeconds: round(seeded.seconds, 1),
    counts: seeded.counts,
    adminEmpty,
    admin: adminEmpty,
    explain: [],
  };
  f.large = large;
  // Fresh processes, as the control's are below: after twenty minutes of load the first ones
  // run slower (the fake provider's CPU per message, which no table touches, read 1.65x the
  // control's when the large pass ran on them), and that is not the data's doing.
  log('large data: restarting the API, the workers and the fake provider');
  await stack.restart(config.workers);
  const pass = await dataPass(ctx, f, data, '');
  Object.assign(large, pass);
  log('large data: EXPLAIN of the hot statements');
  large.explain = await explainHot(stack.sql);
  for (const e of large.explain) log(`  ${e.usesIndex ? 'index   ' : 'SEQ SCAN'}  ${e.name}`);
  // The control: the empty-database passes ran many minutes before, on a machine the seed had
  // not yet filled with gigabytes of dirty pages and cache. A fresh stack on a new, empty
  // database, measured now, shares the large pass's machine state and differs only in the data.
  log('large data: the control, a fresh stack on an empty database, right after');
  const control = new Stack(config, null);
  try {
    await control.start(config.workers);
    const controlCtx: Ctx = { ...ctx, stack: control };
    const controlData = await seed(control);
    large.emptyAfter = await dataPass(controlCtx, f, controlData, EMPTY_AFTER);
  } finally {
    await control.stop();
  }
}

/** The README section of the hot statements' plans on the large data. */
function explainSection(large: Large): string {
  return [
    `Seeded ${Object.entries(large.counts)
      .map(([k, v]) => `${v.toLocaleString('en-US')} ${k}`)
      .join(', ')} in ${large.seedSeconds} s.`,
    '',
    ...large.explain.flatMap((e) => [
      `#### ${e.name}: ${e.usesIndex ? 'index' : 'SEQ SCAN on a big table'}`,
      '',
      '```text',
      e.plan,
      '```',
      '',
    ]),
  ].join('\n');
}

function ratio(a: number | undefined, b: number | undefined): number | null {
  return a !== undefined && b !== undefined && b > 0 ? round(a / b, 3) : null;
}

const ms = (v: number) => `${round(v, 3)} ms`;

/** CPU ms per request of the worst list size of the common login (the most CPU a request). */
function commonCpuMs(common: Figures['common']): number | undefined {
  if (!common) return undefined;
  return Math.max(...Object.values(common).map((c) => stackCpu(c.cpu)));
}

/**
 * Why a path is over its raw floor, in one line: the components furthest over their own raw
 * part (measured in the path's own run), and the parts where the product's statement costs the
 * most over the raw one (measured alone).
 */
function overRaw(raw: RawFloor, path: PathName, cpu: Cpu | undefined): string {
  const components = cpu
    ? COMPONENTS.map((c) => ({ c, ours: cpu[c] ?? 0, floor: raw.byComponent[path][c] }))
        .filter((x) => x.ours - x.floor > 0.005)
        .sort((a, b) => b.ours - b.floor - (a.ours - a.floor))
        .slice(0, 3)
        .map((x) => `${x.c} ${ms(x.ours)} vs ${ms(x.floor)}`)
    : [];
  const taxed = PATHS[path]
    .flatMap((part) => {
      const p = raw.parts[part];
      return p.product && p.tax !== null
        ? [{ part, extra: p.product.cpuMs - p.raw.cpuMs, tax: p.tax }]
        : [];
    })
    .filter((x) => x.extra > 0.005)
    .sort((a, b) => b.extra - a.extra)
    .slice(0, 2)
    .map((x) => `${RAW_LABELS[x.part].product} ${x.tax}x raw`);
  return [
    components.length ? `over the raw part: ${components.join(', ')}` : '',
    taxed.length ? `statement tax: ${taxed.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
}

/**
 * The pipeline's CPU per challenge, large over empty, component by component, beside the
 * control: the fake provider's CPU per message, which no table touches. A control that rose
 * as much as a component says the machine, not the data, changed between the passes (the
 * large pass runs minutes later, after a seed of gigabytes).
 */
function largeCpuNote(large: Cpu | undefined, empty: Cpu | undefined): string | undefined {
  if (!large || !empty) return undefined;
  const r = (c: string) =>
    empty[c] && large[c] !== undefined ? `${round(large[c]! / empty[c]!, 2)}x` : '-';
  return `CPU per challenge, large over empty: postgres ${r('postgres')}, api ${r('api')}, workers ${r('workers')}, redis ${r('redis')}; control (the fake provider, no data): ${r('sink')}`;
}

function targets(f: Figures): Target[] {
  const out: Target[] = [];
  const raw = f.rawFloor;
  const vsRaw = (
    name: string,
    path: PathName,
    limit: number,
    measured: number | undefined,
    cpu: Cpu | undefined,
  ) => {
    if (!raw) return;
    const r = ratio(measured, raw.cpuMs[path]);
    out.push({
      name,
      target: `<= ${limit.toFixed(1)}x raw floor`,
      actual: r === null ? '-' : `${r}x (${ms(measured!)} vs ${ms(raw.cpuMs[path])})`,
      pass: r === null ? null : r <= limit,
      note: overRaw(raw, path, cpu),
    });
  };
  vsRaw(
    'pipeline CPU per challenge vs its raw floor',
    'pipeline',
    2.0,
    f.pipelineCpu && stackCpu(f.pipelineCpu),
    f.pipelineCpu,
  );
  vsRaw(
    'verify CPU per request vs its raw floor',
    'verify',
    1.5,
    f.verify && stackCpu(f.verify.cpu),
    f.verify?.cpu,
  );
  const worstCpu = commonCpuMs(f.common);
  vsRaw(
    'common login CPU per request vs its raw floor (worst list size)',
    'commonLogin',
    1.5,
    worstCpu,
    f.common && Object.values(f.common).find((c) => stackCpu(c.cpu) === worstCpu)?.cpu,
  );
  if (f.second) {
    const r = ratio(f.second.ours, f.second.peer);
    const flowMs = stackCpu(f.second.oursCpu);
    out.push({
      name: 'second step vs better-auth',
      target: '>= 4x',
      actual: r === null ? '-' : `${r}x`,
      pass: r === null ? null : r >= 4,
      note: `ours ${round(f.second.ours, 0)} flows/s at ${ms(flowMs)} CPU each${raw ? `, ${round(flowMs / (raw.cpuMs.pipeline + raw.cpuMs.verify), 2)}x the raw pipeline + verify` : ''}`,
    });
    out.push({
      name: 'second step p99 vs better-auth',
      target: 'lower',
      actual: `${round(f.second.oursP99, 1)} vs ${round(f.second.peerP99, 1)} ms`,
      pass: f.second.oursP99 < f.second.peerP99,
    });
  }
  if (f.common) {
    const rates = Object.values(f.common).map((c) => c.perSec);
    const worst = Math.min(...rates);
    const spreadPct = (Math.max(...rates) - worst) / Math.max(...rates);
    out.push({
      name: 'common login flat from 1 to 10,000 CIDRs',
      target: 'within 20%',
      actual: `${round(spreadPct * 100, 1)}% apart`,
      pass: spreadPct <= 0.2,
    });
  }
  if (f.prompt) {
    const r = ratio(f.prompt.perSec, f.prompt.apiPerSec);
    out.push({
      name: "hosted prompt round vs the API's second step",
      target: '>= 0.5x',
      actual:
        r === null
          ? '-'
          : `${r}x (${round(f.prompt.perSec, 1)} vs ${round(f.prompt.apiPerSec, 1)}/s)`,
      pass: r === null ? null : r >= 0.5,
      note: `${ms(stackCpu(f.prompt.cpu))} stack CPU a round vs ${ms(stackCpu(f.prompt.apiCpu))} a second step`,
    });
  }
  out.push({
    name: 'p99 accept -> provider at 80% of saturation',
    target: '< 25 ms',
    actual: f.latency80 ? `${round(f.latency80.p99, 1)} ms at ${f.latency80.rate}/s` : '-',
    pass: f.latency80 ? f.latency80.p99 < 25 : null,
    note: f.latency80
      ? `p50 ${round(f.latency80.p50, 1)}, p95 ${round(f.latency80.p95, 1)} ms; at half saturation p99 ${round(f.latency?.p99 ?? Number.NaN, 1)} ms`
      : '',
  });
  if (f.large) {
    const L = f.large;
    const C = L.emptyAfter;
    /**
     * Large against the control (a fresh stack on an empty database right after the large
     * pass, so the same machine state) when it ran; the earlier empty pass, minutes before and
     * before the seed, is named beside it.
     */
    const vs = (
      name: string,
      large: number | undefined,
      control: number | undefined,
      earlier: number | undefined,
      note?: string,
    ) => {
      // A scenario this run left out has neither figure.
      if (large === undefined && earlier === undefined) return;
      const empty = C ? control : earlier;
      const r = ratio(large, empty);
      const before = C && earlier ? `vs the earlier empty pass ${ratio(large, earlier)}x` : '';
      out.push({
        name: `large data: ${name} vs empty database${C ? ' (right after)' : ''}`,
        target: '>= 0.90x',
        actual: r === null ? '-' : `${r}x (${round(large!, 0)} vs ${round(empty!, 0)}/s)`,
        pass: r === null ? null : r >= 0.9,
        note: [before, note].filter(Boolean).join('; '),
      });
    };
    vs(
      'pipeline',
      L.pipeline,
      C?.pipeline,
      f.pipeline,
      largeCpuNote(L.pipelineCpu, C?.pipelineCpu ?? f.pipelineCpu),
    );
    vs('verify', L.verify, C?.verify, f.verify?.perSec);
    vs('common login (worst list size)', L.common, C?.common, worstCommon(f.common));
    for (const kind of ['ledger', 'audit', 'users'] as const) {
      vs(
        `admin ${ADMIN_READS[kind]}`,
        L.admin[kind].perSec,
        C?.admin[kind].perSec,
        L.adminEmpty[kind].perSec,
      );
    }
    const seq = L.explain.filter((e) => !e.usesIndex).map((e) => e.name);
    out.push({
      name: 'large data: hot statements use an index',
      target: 'all',
      actual: `${L.explain.length - seq.length} of ${L.explain.length}`,
      pass: L.explain.length ? seq.length === 0 : null,
      note: seq.length ? `seq scans: ${seq.join(', ')}` : '',
    });
  }
  if (f.soak) {
    const { apiRssGrowth, workerRssGrowth, samples, trend, heapTrend, fitFromS, fitToS } = f.soak;
    const trace = (pick: (s: SoakSample) => number | null | undefined) =>
      samples.map((s) => pick(s) ?? '-').join(' ');
    const slope = (t: Trend | null | undefined, what = 'RSS') =>
      t ? `${what} ${t.slopeMiBPerMin} MiB/min, ${t.slopeMiBPer10k} MiB per 10,000 challenges` : '';
    const worker = trend.workers.reduce<{ t: Trend; i: number } | null>(
      (worst, t, i) => (t && (!worst || t.growth > worst.t.growth) ? { t, i } : worst),
      null,
    );
    const window = `${fitFromS}-${fitToS} s`;
    out.push({
      name: `soak: API RSS by trend (fitted ${window})`,
      target: '<= 1.10x',
      actual:
        f.soak.apiGrowthByTrend === null
          ? '-'
          : `${f.soak.apiGrowthByTrend}x (${trend.api?.fittedStartMiB} -> ${trend.api?.fittedEndMiB} MiB; last/baseline ${apiRssGrowth}x)`,
      pass: f.soak.apiGrowthByTrend === null ? null : f.soak.apiGrowthByTrend <= 1.1,
      note: [
        slope(trend.api),
        slope(heapTrend.api, 'heap after GC'),
        `RSS MiB every sample: ${trace((s) => s.api)}`,
        `heap after GC: ${trace((s) => s.heapAfterGc?.api)}`,
      ]
        .filter(Boolean)
        .join('; '),
    });
    out.push({
      name: `soak: worker RSS by trend (fitted ${window}, worst)`,
      target: '<= 1.10x',
      actual:
        f.soak.workerGrowthByTrend === null
          ? '-'
          : `${f.soak.workerGrowthByTrend}x (last/baseline ${workerRssGrowth}x)`,
      pass: f.soak.workerGrowthByTrend === null ? null : f.soak.workerGrowthByTrend <= 1.1,
      note: worker
        ? [
            `worker ${worker.i + 1}: ${slope(worker.t)}`,
            slope(heapTrend.workers[worker.i], 'heap after GC'),
            `RSS MiB every sample: ${trace((s) => s.workers[worker.i])}`,
            `heap after GC: ${trace((s) => s.heapAfterGc?.workers[worker.i])}`,
          ]
            .filter(Boolean)
            .join('; ')
        : '',
    });
    const odd = Object.entries(f.soak.unexpected);
    const { starts, verifies, resends, receipts } = f.soak.done;
    out.push({
      name: 'soak: every answer as expected',
      target: 'none unexpected',
      actual: `${starts} starts, ${verifies} verifies, ${resends} resends, ${receipts} receipts`,
      pass: odd.length === 0,
      note: odd.map(([k, v]) => `${v}x ${k}`).join(', '),
    });
  }
  return out;
}

/** The floor's parts, and the pipeline's components beside their own part of the floor. */
function floorTables(f: Figures): string {
  const floor = f.floor;
  if (!floor) return '';
  const render = (rows: string[][], right: number[]) => {
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    const line = (r: string[]) =>
      `| ${r.map((c, i) => (right.includes(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
    const rule = `|${widths.map((w, i) => (right.includes(i) ? `${'-'.repeat(w + 1)}:` : '-'.repeat(w + 2))).join('|')}|`;
    return [line(rows[0]!), rule, ...rows.slice(1).map(line)].join('\n');
  };
  const n = (v: number, d = 3) => (Number.isFinite(v) ? round(v, d).toFixed(d) : '-');
  const parts = render(
    [
      ['floor part', 'ops/s alone', 'CPU ms/op', ...COMPONENTS],
      ...FLOOR_PARTS.map((p) => [
        FLOOR_LABELS[p],
        Math.round(floor.parts[p].perSec).toLocaleString('en-US'),
        n(floor.parts[p].cpuMs),
        ...COMPONENTS.map((c) => n(floor.parts[p].byComponent[c])),
      ]),
      [
        'floor: the sum',
        `${Math.round(floor.perSec).toLocaleString('en-US')}/s on ${config.machine.cores} cores`,
        n(floor.cpuMsPerChallenge),
        ...COMPONENTS.map((c) => n(floor.byComponent[c])),
      ],
    ],
    [1, 2, 3, 4, 5, 6, 7],
  );
  const cpu = f.pipelineCpu;
  const components = cpu
    ? render(
        [
          ['component', 'its part of the floor', 'floor CPU ms', 'pipeline CPU ms', 'x floor'],
          ...COMPONENTS.map((c) => [
            c,
            COMPONENT_PARTS[c],
            n(floor.byComponent[c]),
            n(cpu[c] ?? 0),
            floor.byComponent[c] > 0 ? `${n((cpu[c] ?? 0) / floor.byComponent[c], 2)}x` : '-',
          ]),
          [
            'stack',
            'all of it',
            n(floor.cpuMsPerChallenge),
            n(stackCpu(cpu)),
            `${n(stackCpu(cpu) / floor.cpuMsPerChallenge, 2)}x`,
          ],
        ],
        [2, 3, 4],
      )
    : '';
  const raw = f.rawFloor;
  const tax = raw
    ? render(
        [
          ['path', 'part', 'raw', 'raw CPU ms', 'product', 'product CPU ms', 'tax'],
          ...(Object.keys(PATHS) as PathName[]).flatMap((path) => [
            ...PATHS[path].map((part) => {
              const p = raw.parts[part];
              return [
                path,
                part,
                RAW_LABELS[part].raw,
                n(p.raw.cpuMs),
                RAW_LABELS[part].product ?? '(the same, raw)',
                p.product ? n(p.product.cpuMs) : '-',
                p.tax === null ? '-' : `${n(p.tax, 2)}x`,
              ];
            }),
            [
              path,
              'the floor',
              'sum of the lesser of each pair',
              n(raw.cpuMs[path]),
              "the product's statements",
              n(raw.productCpuMs[path]),
              `${n(raw.productCpuMs[path] / raw.cpuMs[path], 2)}x`,
            ],
          ]),
        ],
        [3, 5, 6],
      )
    : '';
  const measured = raw
    ? [
        ['pipeline', f.pipelineCpu && stackCpu(f.pipelineCpu)],
        ['verify', f.verify && stackCpu(f.verify.cpu)],
        ['commonLogin', commonCpuMs(f.common)],
      ]
        .filter((x): x is [PathName, number] => x[1] !== undefined)
        .map(
          ([path, cpu]) =>
            `${path}: ${n(cpu)} CPU ms per ${path === 'pipeline' ? 'challenge' : 'request'} = ${n(cpu / raw.cpuMs[path], 2)}x its raw floor (${n(raw.cpuMs[path])} ms), ${n(cpu / raw.productCpuMs[path], 2)}x the product's statements alone`,
        )
        .join('\n')
    : '';
  const against = [
    f.pipeline !== undefined &&
      `pipeline ${Math.round(f.pipeline)} challenges/s = ${pctOf(f.pipeline, floor.perSec)} of the floor's rate (${Math.round(floor.perSec)}/s)`,
    f.second &&
      `second step ${Math.round(f.second.ours)} flows/s = ${pctOf(f.second.ours, floor.perSec)} of the floor's rate, ${n(stackCpu(f.second.oursCpu))} CPU ms per flow = ${n(stackCpu(f.second.oursCpu) / floor.cpuMsPerChallenge, 2)}x the floor`,
  ].filter(Boolean);
  return [tax, measured, parts, components, against.join('\n')].filter(Boolean).join('\n\n');
}

const pctOf = (a: number, b: number) => `${round((a / b) * 100, 1)}%`;

/** What each table row is compared against: the ceiling it cannot beat. */
function ratioColumn(f: Figures) {
  return (line: ScenarioLine): string => {
    const s = line.scenario;
    const pct = (r: number | null) =>
      r === null
        ? ''
        : `${round(r * 100, 1)}% of ${s.startsWith('verify') ? 'pg tx' : s.startsWith('common') ? 'Hono' : 'BullMQ'}`;
    if (line.unit === 'ms' || line.unit === 'x' || s.startsWith('floor')) return '';
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
    floor: f.floor
      ? {
          cpuMsPerChallenge: f.floor.cpuMsPerChallenge,
          perSec: n(f.floor.perSec),
          parts: Object.fromEntries(FLOOR_PARTS.map((p) => [p, f.floor!.parts[p].cpuMs])),
          partsPerSec: Object.fromEntries(FLOOR_PARTS.map((p) => [p, n(f.floor!.parts[p].perSec)])),
          byComponent: f.floor.byComponent,
          raw: f.rawFloor
            ? {
                parts: Object.fromEntries(
                  RAW_PARTS.map((p) => [p, f.rawFloor!.parts[p].raw.cpuMs]),
                ),
                floorParts: Object.fromEntries(
                  RAW_PARTS.map((p) => [p, f.rawFloor!.parts[p].floor.cpuMs]),
                ),
                productParts: Object.fromEntries(
                  RAW_PARTS.map((p) => [p, f.rawFloor!.parts[p].product?.cpuMs ?? null]),
                ),
                tax: Object.fromEntries(RAW_PARTS.map((p) => [p, f.rawFloor!.parts[p].tax])),
                partsPerSec: Object.fromEntries(
                  RAW_PARTS.map((p) => [p, n(f.rawFloor!.parts[p].raw.perSec)]),
                ),
                pipelineCpuMs: f.rawFloor.cpuMs.pipeline,
                verifyCpuMs: f.rawFloor.cpuMs.verify,
                commonLoginCpuMs: f.rawFloor.cpuMs.commonLogin,
                productCpuMs: f.rawFloor.productCpuMs,
                byComponent: f.rawFloor.byComponent,
              }
            : null,
        }
      : null,
    pipeline: {
      perSec: n(f.pipeline),
      cpuMsPerChallenge: f.pipelineCpu ? round(stackCpu(f.pipelineCpu), 3) : null,
      cpuMsPerChallengeByComponent: f.pipelineCpu ?? null,
      p99AcceptToProviderMsAt80: n(f.latency80?.p99, 1),
      p95AcceptToProviderMsAt80: n(f.latency80?.p95, 1),
      p50AcceptToProviderMsAt80: n(f.latency80?.p50, 1),
      latencyAt80PerSec: f.latency80?.rate ?? null,
      p99AcceptToProviderMs: n(f.latency?.p99, 1),
      p95AcceptToProviderMs: n(f.latency?.p95, 1),
      p50AcceptToProviderMs: n(f.latency?.p50, 1),
      latencyAtPerSec: f.latency?.rate ?? null,
      apiAcceptPerSec: n(f.acceptPerSec),
    },
    verify: {
      perSec: n(f.verify?.perSec),
      p99Ms: n(f.verify?.p99Ms, 1),
      cpuMsPerRequest: f.verify ? round(stackCpu(f.verify.cpu), 3) : null,
    },
    commonLogin: {
      cidrs1PerSec: n(f.common?.[1]?.perSec),
      cidrs100PerSec: n(f.common?.[100]?.perSec),
      cidrs10000PerSec: n(f.common?.[10_000]?.perSec),
      cidrs1P99Ms: n(f.common?.[1]?.p99Ms, 1),
      cidrs100P99Ms: n(f.common?.[100]?.p99Ms, 1),
      cidrs10000P99Ms: n(f.common?.[10_000]?.p99Ms, 1),
      cpuMsPerRequest: n(commonCpuMs(f.common), 3),
    },
    logins: {
      mixed: f.mixed
        ? {
            noSmsShare: f.mixed.noSmsShare,
            smsPerLogin: f.mixed.smsPerLogin,
            sms: f.mixed.runs.map((r) => r.sms),
            logins: f.mixed.runs.map((r) => r.logins),
            byMethod: f.mixed.runs.map((r) => r.byMethod),
            mix: f.mixed.mix,
            perSec: n(f.mixed.perSec, 1),
            cpuMsPerLogin: round(stackCpu(f.mixed.cpu), 3),
          }
        : null,
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
    prompt: f.prompt
      ? {
          roundsPerSec: n(f.prompt.perSec, 1),
          cpuMsPerRound: round(stackCpu(f.prompt.cpu), 3),
          cpuMsPerRoundByComponent: f.prompt.cpu,
          p99Ms: n(f.prompt.p99Ms, 1),
          apiSecondStepPerSec: n(f.prompt.apiPerSec, 1),
          apiSecondStepCpuMsPerFlow: round(stackCpu(f.prompt.apiCpu), 3),
          vsApiSecondStep: ratio(f.prompt.perSec, f.prompt.apiPerSec),
        }
      : null,
    large: f.large
      ? {
          pipelinePerSec: n(f.large.pipeline),
          verifyPerSec: n(f.large.verify),
          commonLoginPerSec: n(f.large.common),
          adminReads: Object.fromEntries(
            (['ledger', 'audit', 'users'] as const).map((k) => [
              k,
              {
                emptyPerSec: n(f.large!.adminEmpty[k].perSec),
                largePerSec: n(f.large!.admin[k].perSec),
                emptyP99Ms: n(f.large!.adminEmpty[k].p99Ms, 1),
                largeP99Ms: n(f.large!.admin[k].p99Ms, 1),
              },
            ]),
          ),
          emptyAfter: f.large.emptyAfter
            ? {
                pipelinePerSec: n(f.large.emptyAfter.pipeline),
                verifyPerSec: n(f.large.emptyAfter.verify),
                commonLoginPerSec: n(f.large.emptyAfter.common),
                adminPerSec: Object.fromEntries(
                  (['ledger', 'audit', 'users'] as const).map((k) => [
                    k,
                    n(f.large!.emptyAfter!.admin[k].perSec),
                  ]),
                ),
              }
            : null,
          vsEmptyAfter: f.large.emptyAfter
            ? {
                pipeline: ratio(f.large.pipeline, f.large.emptyAfter.pipeline),
                verify: ratio(f.large.verify, f.large.emptyAfter.verify),
                commonLogin: ratio(f.large.common, f.large.emptyAfter.common),
                ledger: ratio(f.large.admin.ledger.perSec, f.large.emptyAfter.admin.ledger.perSec),
                audit: ratio(f.large.admin.audit.perSec, f.large.emptyAfter.admin.audit.perSec),
                users: ratio(f.large.admin.users.perSec, f.large.emptyAfter.admin.users.perSec),
              }
            : null,
          vsEmpty: {
            pipeline: ratio(f.large.pipeline, f.pipeline),
            verify: ratio(f.large.verify, f.verify?.perSec),
            commonLogin: ratio(f.large.common, worstCommon(f.common)),
            ledger: ratio(f.large.admin.ledger.perSec, f.large.adminEmpty.ledger.perSec),
            audit: ratio(f.large.admin.audit.perSec, f.large.adminEmpty.audit.perSec),
            users: ratio(f.large.admin.users.perSec, f.large.adminEmpty.users.perSec),
          },
          seedSeconds: f.large.seedSeconds,
          counts: f.large.counts,
          explain: f.large.explain.map((e) => ({ name: e.name, usesIndex: e.usesIndex })),
        }
      : null,
    soak: f.soak
      ? {
          apiRssGrowth: f.soak.apiRssGrowth,
          workerRssGrowth: f.soak.workerRssGrowth,
          apiGrowthByTrend: f.soak.apiGrowthByTrend,
          workerGrowthByTrend: f.soak.workerGrowthByTrend,
          fitFromS: f.soak.fitFromS,
          fitToS: f.soak.fitToS,
          trend: f.soak.trend,
          heapTrend: f.soak.heapTrend,
          samples: f.soak.samples,
          baselineS: f.soak.baselineS,
          seconds: f.soak.seconds,
          perSec: f.soak.rate,
          done: f.soak.done,
          unexpected: f.soak.unexpected,
        }
      : null,
    peakRssMiB: f.rss ?? null,
    ratios: {
      pipelineCpuVsFloor: ratio(
        f.pipelineCpu && stackCpu(f.pipelineCpu),
        f.floor?.cpuMsPerChallenge,
      ),
      pipelineCpuVsRawFloor: ratio(
        f.pipelineCpu && stackCpu(f.pipelineCpu),
        f.rawFloor?.cpuMs.pipeline,
      ),
      verifyCpuVsRawFloor: ratio(f.verify && stackCpu(f.verify.cpu), f.rawFloor?.cpuMs.verify),
      commonLoginCpuVsRawFloor: ratio(commonCpuMs(f.common), f.rawFloor?.cpuMs.commonLogin),
      pipelineVsFloorRate: ratio(f.pipeline, f.floor?.perSec),
      secondStepVsFloorRate: ratio(f.second?.ours, f.floor?.perSec),
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
  const missing = missingFields(out);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = `${JSON.stringify(out, null, 2)}\n`;
  writeFileSync(join(RESULTS_DIR, `${stamp}.json`), json);
  const complete = !config.quick && !config.only && !config.profile && missing.length === 0;
  if (complete) writeFileSync(join(RESULTS_DIR, 'latest.json'), json);

  const body = table(rec.lines, ratioColumn(figures));
  const goals = targetsTable(out.targets);
  const floor = floorTables(figures);
  console.log(`\n${body}\n\n${floor ? `${floor}\n\n` : ''}${goals}\n`);
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
      ...(floor ? [floor, ''] : []),
      goals,
    ].join('\n');
    if (updateReadme(join(REPO_ROOT, 'bench/README.md'), section)) log('updated bench/README.md');
    if (
      figures.large &&
      updateReadme(join(REPO_ROOT, 'bench/README.md'), explainSection(figures.large), 'explain')
    ) {
      log("wrote the hot statements' plans into bench/README.md");
    }
    // The tables as the repository's formatter writes them, so `npm run lint` stays clean.
    execFileSync(
      process.execPath,
      [
        join(REPO_ROOT, 'node_modules/@biomejs/biome/bin/biome'),
        'format',
        '--write',
        'bench/README.md',
      ],
      { cwd: REPO_ROOT, stdio: 'ignore' },
    );
  }
  if (profileDir) console.log(`\n${await profileSummaries(profileDir)}\n\nprofiles: ${profileDir}`);
  if (missing.length) {
    console.error(`the results lack fields: ${missing.join(', ')}`);
    process.exitCode = 1;
  }
}

await main();
