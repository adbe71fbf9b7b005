/**
 * The floor: the raw cost of each step a challenge cannot avoid, each measured alone in a process
 * of its own (bench/lib/ceilings.ts), with the product's own functions where the step is the
 * product's (so the floor follows the product). Raw Hono and raw BullMQ are the ceilings' own
 * runs; the four here are the challenge commit, the claim-and-debit, one Twilio SDK call to the
 * fake and the outcome record.
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

/** The pipeline's components, as its CPU readings name them. */
export const COMPONENTS = ['api', 'workers', 'postgres', 'redis', 'sink'] as const;
export type Component = (typeof COMPONENTS)[number];

/**
 * Which pipeline component each part's CPU groups stand for: the API serves the request, commits
 * the challenge and adds the job; the workers take the job, claim, call the provider and record
 * the outcome. Postgres and Redis are themselves everywhere; the load generator is nobody's.
 */
const COMPONENT_OF: Record<FloorPart, Record<string, Component>> = {
  hono: { hono: 'api' },
  commit: { client: 'api' },
  bullmq: { producer: 'api', workers: 'workers' },
  claim: { client: 'workers' },
  twilio: { client: 'workers', sink: 'sink' },
  outcome: { client: 'workers' },
};

function byComponent(part: FloorPart, cpu: Record<string, number>): Record<Component, number> {
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

export interface FloorRuns {
  commit: Measured[];
  claim: Measured[];
  twilio: Measured[];
  outcome: Measured[];
}

/**
 * The four parts that are the product's own statements and provider call. The stack's workers
 * are stopped meanwhile: their reconciler would otherwise pick up the floor's queued sends. What
 * the parts leave unfinished is failed afterwards, so no later scenario sends it.
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
  // The API's shape for the commit, the workers' (all their jobs at once) for the rest.
  const workerPool = Math.min(workerLoops, 20);
  const part = async (
    name: 'commit' | 'claim' | 'outcome' | 'twilio',
    args: string[],
    supply: (() => Promise<number>) | null,
  ): Promise<Measured[]> => {
    const child = ceilingChild(`floor-${name}`, ['--mode', name, ...args]);
    await ready(child);
    // Parts that work on what an earlier one left split it evenly over the runs, the warmup
    // taking half a share, so no run starts empty.
    const total = supply ? await supply() : 0;
    const share = Math.floor(total / (config.runs + 0.5));
    try {
      return await repeat(ctx, `floor ${name}`, async (durationS, run): Promise<Measured> => {
        const limit = supply ? (run < 0 ? Math.floor(share / 2) : share) : undefined;
        const groups: Record<string, Child[]> =
          name === 'twilio' ? { client: [child], sink: [stack.sinkChild] } : { client: [child] };
        const cpu = await stack.startCpu(groups);
        const r = await command(
          child,
          { cmd: 'run', durationS, ...(limit !== undefined && { limit }) },
          'ran',
        );
        const used = await cpu();
        if (r.errors) throw new Error(`floor ${name}: ${r.errors} failed (${r.firstError})`);
        if (!r.count)
          throw new Error(`floor ${name}: nothing to do (${total} left by the part before)`);
        return { perSec: r.count / ((r.endedAt - r.startedAt) / 1000), cpu: perOp(used, r.count) };
      });
    } finally {
      await child.stop();
    }
  };
  const floorSends = (status: string) => async () => {
    const [row] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from sms_sends s join challenges c on c.id = s.challenge_id
      where s.status = ${status} and c.ip = ${FLOOR_IP}`;
    return row?.n ?? 0;
  };
  try {
    const commit = await part(
      'commit',
      [
        ...dbArgs(config.apiPoolSize, config.connections),
        '--orgs',
        orgs.map((o) => o.id).join(','),
      ],
      null,
    );
    const claim = await part('claim', dbArgs(workerPool, workerLoops), floorSends('queued'));
    const outcome = await part('outcome', dbArgs(workerPool, workerLoops), floorSends('sending'));
    const twilio = await part(
      'twilio',
      ['--concurrency', String(workerLoops), '--sink', stack.sink.url, '--callback', stack.apiUrl],
      null,
    );
    return { commit, claim, twilio, outcome };
  } finally {
    // Left queued or sending, the reconciler would send or settle them during later scenarios.
    await stack.sql`
      update sms_sends s set status = 'failed', error_code = 'bench_floor_leftover',
        updated_at = now()
      from challenges c
      where c.id = s.challenge_id and c.ip = ${FLOOR_IP} and s.status in ('queued', 'sending')`;
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

export function floorOf(runs: Record<FloorPart, Measured[]>, cores: number): Floor {
  const parts = {} as Record<FloorPart, FloorPartFigure>;
  const total = Object.fromEntries(COMPONENTS.map((c) => [c, 0])) as Record<Component, number>;
  for (const part of FLOOR_PARTS) {
    const list = runs[part];
    const components = byComponent(part, medianCpu(list));
    for (const c of COMPONENTS) total[c] += components[c];
    parts[part] = {
      perSec: median(list.map((r) => r.perSec)),
      cpuMs: round(
        COMPONENTS.reduce((sum, c) => sum + components[c], 0),
        3,
      ),
      byComponent: components,
    };
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
