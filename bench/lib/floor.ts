/**
 * The floors, each part measured alone in a process of its own (bench/lib/ceilings.ts):
 *
 * - the raw floor of each hot path (the pipeline, verify, the common login): the least any
 *   correct program must spend, built from raw primitives (hand-written minimal statements
 *   against the product's schema, the twilio SDK with its own client, one Redis script);
 * - beside each raw part, the same step through the product's own function (createChallenge,
 *   claimSend, ...): the product's own tax, part by part;
 * - the product-statement floor of the pipeline (`Floor`, the sum of the product's parts), kept
 *   as it was.
 *
 * Raw Hono and raw BullMQ are the ceilings' own runs, in both.
 */
import { FLOOR_IP } from './constants.ts';
import { perOp } from './cpu.ts';
import type { Child } from './procs.ts';
import {
  type Ctx,
  ceilingChild,
  command,
  type Measured,
  medianCpu,
  ready,
  repeat,
} from './scenarios.ts';
import type { Org } from './seed.ts';
import { median, round } from './stats.ts';

export const FLOOR_PARTS = ['hono', 'commit', 'bullmq', 'claim', 'twilio', 'outcome'] as const;
export type FloorPart = (typeof FLOOR_PARTS)[number];

export const FLOOR_LABELS: Record<FloorPart, string> = {
  hono: 'one Hono JSON request (raw Hono)',
  commit: 'commit a challenge and its send (createChallenge)',
  bullmq: 'BullMQ add + no-op process (raw BullMQ)',
  claim: 'claim and debit (claimSend)',
  twilio: 'one messages.create through the SDK to the fake',
  outcome: 'record the outcome (recordSendAccepted)',
};

/** Every part of the raw floors, over the three paths. */
export const RAW_PARTS = [
  'hono',
  'commit',
  'bullmq',
  'claim',
  'twilio',
  'outcome',
  'read',
  'approve',
  'wrong',
  'login',
  'signin',
  'window',
] as const;
export type RawPart = (typeof RAW_PARTS)[number];

/** The parts measured twice, raw and through the product (Hono and BullMQ are raw only). */
export const PRODUCT_PARTS = [
  'commit',
  'claim',
  'twilio',
  'outcome',
  'read',
  'approve',
  'wrong',
  'login',
  'signin',
  'window',
] as const satisfies readonly RawPart[];
export type ProductPart = (typeof PRODUCT_PARTS)[number];

/**
 * Each path's steps. The verify scenario sends a wrong code and then the right one for each
 * challenge, so its floor is a request, a read, and half an approval and half a wrong code
 * counted (`PATH_WEIGHTS`). The common login records each sign-in in the audit log (the admin
 * pages list them), so its Postgres step is the read that also writes that row (`signin`); the
 * bare read (`login`) is measured too, beside it in the tax table, not counted.
 */
export const PATHS = {
  pipeline: ['hono', 'commit', 'bullmq', 'claim', 'twilio', 'outcome'],
  verify: ['hono', 'read', 'approve', 'wrong'],
  commonLogin: ['hono', 'window', 'signin'],
} as const satisfies Record<string, readonly RawPart[]>;
export type PathName = keyof typeof PATHS;

/** How much of a path's operation each step is (1 unless named). */
export const PATH_WEIGHTS: Partial<Record<PathName, Partial<Record<RawPart, number>>>> = {
  verify: { approve: 0.5, wrong: 0.5 },
};

/** The share of `path`'s operation that `part` is. */
export const weightOf = (path: PathName, part: RawPart): number => PATH_WEIGHTS[path]?.[part] ?? 1;

export const RAW_LABELS: Record<RawPart, { raw: string; product: string | null }> = {
  hono: { raw: 'one Hono JSON request', product: null },
  commit: { raw: 'one INSERT of a challenge and its send', product: 'createChallenge' },
  bullmq: { raw: 'BullMQ add + no-op process', product: null },
  claim: { raw: 'one statement: debit, ledger row, mark the send', product: 'claimSend' },
  twilio: { raw: 'one messages.create (SDK, minimal client)', product: 'createTwilioProvider' },
  outcome: { raw: 'one UPDATE of the outcome', product: 'recordSendAccepted' },
  read: { raw: 'one point read of the challenge and send', product: 'getChallenge' },
  approve: { raw: 'one statement: approve, write the device', product: 'approveChallenge' },
  wrong: {
    raw: "one statement: count the wrong code on the challenge and the user's run",
    product: 'recordWrongCode',
  },
  login: { raw: 'one point read of the user and device', product: 'loadLoginContext' },
  signin: {
    raw: 'one statement: read the user and device, write the signed_in row',
    product: 'loadContextRecordingSkip',
  },
  window: { raw: 'one Redis script (INCR + PEXPIRE)', product: 'RedisWindows.run' },
};

/** The pipeline's components, as its CPU readings name them. */
export const COMPONENTS = ['api', 'workers', 'postgres', 'redis', 'sink'] as const;
export type Component = (typeof COMPONENTS)[number];

/**
 * Which pipeline component each part's CPU groups stand for: the API serves the request, commits
 * the challenge and adds the job; the workers take the job, claim, call the provider and record
 * the outcome. Postgres and Redis are themselves everywhere; the load generator is nobody's.
 */
const COMPONENT_OF: Record<RawPart, Record<string, Component>> = {
  hono: { hono: 'api' },
  commit: { client: 'api' },
  bullmq: { producer: 'api', workers: 'workers' },
  claim: { client: 'workers' },
  twilio: { client: 'workers', sink: 'sink' },
  outcome: { client: 'workers' },
  read: { client: 'api' },
  approve: { client: 'api' },
  wrong: { client: 'api' },
  login: { client: 'api' },
  signin: { client: 'api' },
  window: { client: 'api' },
};

function byComponent(part: RawPart, cpu: Record<string, number>): Record<Component, number> {
  const out = Object.fromEntries(COMPONENTS.map((c) => [c, 0])) as Record<Component, number>;
  for (const [group, ms] of Object.entries(cpu)) {
    const component =
      COMPONENT_OF[part][group] ??
      (group === 'postgres' || group === 'redis' ? (group as Component) : null);
    if (component) out[component] += ms;
  }
  return out;
}

/** CPU ms per challenge of the stack (the load generator left out), by component and in all. */
export function stackCpu(cpu: Record<string, number>): number {
  return COMPONENTS.reduce((sum, c) => sum + (cpu[c] ?? 0), 0);
}

export type FloorRuns = Record<ProductPart, Measured[]> & {
  /** The same parts, raw. */
  raw: Record<ProductPart, Measured[]>;
};

/**
 * The parts the product and the raw floor measure twice, each alone, the product's run first.
 * The stack's workers are stopped meanwhile: their reconciler would otherwise pick up the floor's
 * queued sends. Parts that work on what an earlier pair left (claims on the commits' sends,
 * outcomes on the claims', approvals on the commits' challenges) give the product's run half
 * and the raw one the rest. What the parts leave unfinished is failed afterwards, so no later
 * scenario sends it.
 */
export async function floorRuns(ctx: Ctx, orgs: Org[]): Promise<FloorRuns> {
  const { config, stack } = ctx;
  const workers = stack.workers.length;
  await stack.setWorkers(0);
  const workerLoops = config.workers * config.workerConcurrency;
  const dbArgs = (pool: number, loops: number) => [
    '--db',
    stack.db.url,
    '--pool',
    String(pool),
    '--concurrency',
    String(loops),
  ];
  // The API's shape for its own parts, the workers' (all their jobs at once) for theirs.
  const workerPool = Math.min(workerLoops, 20);
  const apiArgs = dbArgs(config.apiPoolSize, config.connections);
  const part = async (
    mode: string,
    args: string[],
    supply: (() => Promise<number>) | null,
    groups: (child: Child) => Record<string, Child[]> = (child) => ({ client: [child] }),
  ): Promise<Measured[]> => {
    const child = ceilingChild(`floor-${mode}`, ['--mode', mode, ...args]);
    await ready(child);
    // Parts that work on what an earlier one left split it evenly over the runs, the warmup
    // taking half a share, so no run starts empty.
    const total = supply ? await supply() : 0;
    const share = Math.floor(total / (config.runs + 0.5));
    try {
      return await repeat(ctx, `floor ${mode}`, async (durationS, run): Promise<Measured> => {
        const limit = supply ? (run < 0 ? Math.floor(share / 2) : share) : undefined;
        const cpu = await stack.startCpu(groups(child));
        const r = await command(
          child,
          { cmd: 'run', durationS, ...(limit !== undefined && { limit }) },
          'ran',
        );
        const used = await cpu();
        if (r.errors) throw new Error(`floor ${mode}: ${r.errors} failed (${r.firstError})`);
        if (!r.count)
          throw new Error(`floor ${mode}: nothing to do (${total} left by the part before)`);
        return { perSec: r.count / ((r.endedAt - r.startedAt) / 1000), cpu: perOp(used, r.count) };
      });
    } finally {
      await child.stop();
    }
  };
  const count = async (status: string) => {
    const [row] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from sms_sends s join challenges c on c.id = s.challenge_id
      where s.status = ${status} and c.ip = ${FLOOR_IP}`;
    return row?.n ?? 0;
  };
  const pendingChallenges = async () => {
    const [row] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from challenges
      where ip = ${FLOOR_IP} and status = 'pending' and current_send_id is not null`;
    return row?.n ?? 0;
  };
  const untriedChallenges = async () => {
    const [row] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from challenges
      where ip = ${FLOOR_IP} and status = 'pending' and current_send_id is not null
        and wrong_attempts = 0`;
    return row?.n ?? 0;
  };
  const half = (n: () => Promise<number>) => async () => Math.floor((await n()) / 2);
  // Product first, raw second, for each step.
  const pair = async (
    name: ProductPart,
    args: string[],
    supply: (() => Promise<number>) | null,
    groups?: (child: Child) => Record<string, Child[]>,
  ): Promise<[Measured[], Measured[]]> => [
    await part(name, args, supply && half(supply), groups),
    await part(`raw-${name}`, args, supply, groups),
  ];
  try {
    const orgArgs = ['--orgs', orgs.map((o) => o.id).join(',')];
    const [commit, rawCommit] = await pair('commit', [...apiArgs, ...orgArgs], null);
    const workerArgs = dbArgs(workerPool, workerLoops);
    const [claim, rawClaim] = await pair('claim', workerArgs, () => count('queued'));
    const [outcome, rawOutcome] = await pair('outcome', workerArgs, () => count('sending'));
    const [twilio, rawTwilio] = await pair(
      'twilio',
      ['--concurrency', String(workerLoops), '--sink', stack.sink.url, '--callback', stack.apiUrl],
      null,
      (child) => ({ client: [child], sink: [stack.sinkChild] }),
    );
    const [read, rawRead] = await pair('read', apiArgs, null);
    // Before the approvals: a wrong code leaves its challenge pending, for them.
    const [wrong, rawWrong] = await pair('wrong', apiArgs, untriedChallenges);
    const [approve, rawApprove] = await pair('approve', apiArgs, pendingChallenges);
    const [login, rawLogin] = await pair('login', apiArgs, null);
    const [signin, rawSignin] = await pair('signin', apiArgs, null);
    const windowArgs = [
      '--redis',
      config.redisUrl,
      '--prefix',
      stack.prefix,
      '--concurrency',
      String(config.connections),
    ];
    const [window, rawWindow] = await pair('window', windowArgs, null);
    return {
      commit,
      claim,
      twilio,
      outcome,
      read,
      approve,
      wrong,
      login,
      signin,
      window,
      raw: {
        commit: rawCommit,
        claim: rawClaim,
        twilio: rawTwilio,
        outcome: rawOutcome,
        read: rawRead,
        approve: rawApprove,
        wrong: rawWrong,
        login: rawLogin,
        signin: rawSignin,
        window: rawWindow,
      },
    };
  } finally {
    // Left queued or sending, the reconciler would send or settle them during later scenarios.
    await stack.sql`
      update sms_sends s set status = 'failed', error_code = 'bench_floor_leftover',
        updated_at = now()
      from challenges c
      where c.id = s.challenge_id and c.ip = ${FLOOR_IP} and s.status in ('queued', 'sending')`;
    // The wrong codes counted on the users' runs (the raw approvals end none): ended, so the
    // scenarios' own wrong codes do not lock them.
    await stack.sql`
      update users u set consecutive_code_failures = 0
      where u.consecutive_code_failures > 0
        and exists (select 1 from challenges c where c.user_id = u.id and c.ip = ${FLOOR_IP})`;
    await stack.setWorkers(workers);
  }
}

export interface FloorPartFigure {
  perSec: number;
  /** CPU ms per op, the stack's side (load generator left out). */
  cpuMs: number;
  byComponent: Record<Component, number>;
}

export interface Floor {
  parts: Record<FloorPart, FloorPartFigure>;
  /** The sum of the parts: CPU ms a challenge cannot do without. */
  cpuMsPerChallenge: number;
  /** What the floor allows on this machine: cores x 1,000 CPU ms a second over it. */
  perSec: number;
  /** The floor, component by component. */
  byComponent: Record<Component, number>;
}

/** One part's figure: the median run's rate, and CPU ms per op of the stack's side. */
function partFigure(part: RawPart, list: Measured[]): FloorPartFigure {
  const components = byComponent(part, medianCpu(list));
  return {
    perSec: median(list.map((r) => r.perSec)),
    cpuMs: round(
      COMPONENTS.reduce((sum, c) => sum + components[c], 0),
      3,
    ),
    byComponent: components,
  };
}

export function floorOf(runs: Record<FloorPart, Measured[]>, cores: number): Floor {
  const parts = {} as Record<FloorPart, FloorPartFigure>;
  const total = Object.fromEntries(COMPONENTS.map((c) => [c, 0])) as Record<Component, number>;
  for (const part of FLOOR_PARTS) {
    parts[part] = partFigure(part, runs[part]);
    for (const c of COMPONENTS) total[c] += parts[part].byComponent[c];
  }
  const cpuMsPerChallenge = round(
    FLOOR_PARTS.reduce((sum, p) => sum + parts[p].cpuMs, 0),
    3,
  );
  return {
    parts,
    cpuMsPerChallenge,
    perSec: cpuMsPerChallenge > 0 ? (cores * 1000) / cpuMsPerChallenge : Number.NaN,
    byComponent: Object.fromEntries(COMPONENTS.map((c) => [c, round(total[c], 3)])) as Record<
      Component,
      number
    >,
  };
}

/** Which parts of the floor each component's share stands for, for the table. */
export const COMPONENT_PARTS: Record<Component, string> = {
  api: 'Hono request + commit + BullMQ add',
  workers: 'BullMQ process + claim + Twilio call + outcome (client side)',
  postgres: 'the three statements',
  redis: 'BullMQ add + process',
  sink: 'the fake taking the message',
};

export interface RawPartFigures {
  raw: FloorPartFigure;
  /**
   * What the floor counts for this step: the lesser of the raw and the product's figure. Both
   * are correct programs, so the least any must spend is at most either; a raw part measured
   * above the product's own (a noisy run, a heavier client) does not raise the floor.
   */
  floor: FloorPartFigure;
  /** The same step through the product's own function; null where the product uses it raw. */
  product: FloorPartFigure | null;
  /** Product CPU ms over raw: the product's own tax on this step. */
  tax: number | null;
}

export interface RawFloor {
  parts: Record<RawPart, RawPartFigures>;
  /** Per path, the sum of its parts' floor CPU ms (each the lesser of raw and product). */
  cpuMs: Record<PathName, number>;
  /** Per path, the sum of the product's parts (raw where the product has none of its own). */
  productCpuMs: Record<PathName, number>;
  /** Per path, the floor component by component. */
  byComponent: Record<PathName, Record<Component, number>>;
}

/** The raw floor of each path, with the product's figure and tax beside each raw part. */
export function rawFloorOf(
  raw: Record<RawPart, Measured[]>,
  product: Partial<Record<RawPart, Measured[]>>,
): RawFloor {
  const parts = {} as Record<RawPart, RawPartFigures>;
  for (const part of RAW_PARTS) {
    const r = partFigure(part, raw[part]);
    const list = product[part];
    const p = list?.length ? partFigure(part, list) : null;
    parts[part] = {
      raw: r,
      floor: p && p.cpuMs < r.cpuMs ? p : r,
      product: p,
      tax: p && r.cpuMs > 0 ? round(p.cpuMs / r.cpuMs, 2) : null,
    };
  }
  const sum = (path: PathName, pick: (f: RawPartFigures) => number) =>
    round(
      PATHS[path].reduce((total, part) => total + weightOf(path, part) * pick(parts[part]), 0),
      3,
    );
  const paths = Object.keys(PATHS) as PathName[];
  return {
    parts,
    cpuMs: Object.fromEntries(paths.map((p) => [p, sum(p, (f) => f.floor.cpuMs)])) as Record<
      PathName,
      number
    >,
    productCpuMs: Object.fromEntries(
      paths.map((p) => [p, sum(p, (f) => (f.product ?? f.raw).cpuMs)]),
    ) as Record<PathName, number>,
    byComponent: Object.fromEntries(
      paths.map((path) => [
        path,
        Object.fromEntries(
          COMPONENTS.map((c) => [
            c,
            round(
              PATHS[path].reduce(
                (total, part) => total + weightOf(path, part) * parts[part].floor.byComponent[c],
                0,
              ),
              3,
            ),
          ]),
        ),
      ]),
    ) as Record<PathName, Record<Component, number>>,
  };
}
