import { scrypt } from 'node:crypto';
import { generateCode, hashSecret, newId } from '@twofa/core';
import type { RequestSpec } from 'autocannon';
import type { CeilingCommand, CeilingEvent } from './ceilings.ts';
import type { BenchConfig } from './config.ts';
import { APP_SECRET } from './constants.ts';
import { perOp } from './cpu.ts';
import { closedLoop, expectStatus, type FlowResult, paced, request } from './flows.ts';
import { httpLoad, jsonPost } from './load.ts';
import type { Peer, PeerUser } from './peer.ts';
import { twoFactorCookie } from './peer.ts';
import { type Child, FatalError, nextMessage, startChild, waitUntil } from './procs.ts';
import { mapLimit, type Org, setSkipList, skipList, type User } from './seed.ts';
import { codeOf } from './sink-client.ts';
import type { Stack } from './stack.ts';
import { type LatencySummary, latencySummary, median } from './stats.ts';

/** An end-user address in no skip list (TEST-NET-3). */
export const OUTSIDE_IP = '203.0.113.10';

export interface Ctx {
  config: BenchConfig;
  stack: Stack;
  log: (line: string) => void;
}

/** Runs `once` warmup+runs times, returning the measured ones; the warmup is thrown away. */
export async function repeat<T>(
  ctx: Ctx,
  label: string,
  once: (durationS: number, run: number) => Promise<T>,
): Promise<T[]> {
  const { warmupS, durationS, runs } = ctx.config;
  ctx.log(`${label}: warmup ${warmupS}s`);
  await once(warmupS, -1);
  const out: T[] = [];
  for (let run = 0; run < runs; run++) {
    out.push(await once(durationS, run));
  }
  return out;
}

export function ceilingChild(name: string, args: string[]): Child {
  return startChild(name, 'bench/lib/ceilings.ts', args, { ipc: true });
}

export const ready = (child: Child) =>
  nextMessage(child, (m) =>
    (m as CeilingEvent).type === 'ready' ? (m as CeilingEvent) : undefined,
  );

export function command<T extends CeilingEvent['type']>(
  child: Child,
  cmd: CeilingCommand,
  type: T,
  timeoutMs = 120_000,
): Promise<Extract<CeilingEvent, { type: T }>> {
  const reply = nextMessage(
    child,
    (m) =>
      (m as CeilingEvent).type === type ? (m as Extract<CeilingEvent, { type: T }>) : undefined,
    timeoutMs,
  );
  child.proc.send(cmd);
  return reply;
}

// ---------------------------------------------------------------------------------------------
// 1. Ceilings

export interface Measured {
  perSec: number;
  /** CPU ms per operation, per component. */
  cpu: Record<string, number>;
}

export interface Ceilings {
  bullmq: Measured[];
  pg: Measured[];
  hono: Measured[];
}

export async function ceilings(ctx: Ctx): Promise<Ceilings> {
  const { config, stack } = ctx;
  // Raw Hono: the same load shape as the API's, minus everything the API does.
  const hono = ceilingChild('ceiling-hono', ['--mode', 'hono']);
  const { port } = (await ready(hono)) as { port: number };
  const honoRuns = await repeat(ctx, 'ceiling hono', async (durationS): Promise<Measured> => {
    const cpu = await stack.startCpu({ hono: [hono] });
    const r = await httpLoad({
      url: `http://127.0.0.1:${port}`,
      durationS,
      connections: config.connections,
      requests: [
        jsonPost('/accept', {}, { userId: '00000000-0000-4000-8000-000000000000', ip: OUTSIDE_IP }),
      ],
    });
    const used = await cpu();
    if (r.non2xx || r.errors) throw new Error(`raw hono: ${JSON.stringify(r.statusCodes)}`);
    return { perSec: r.perSec, cpu: perOp(used, r.ok) };
  });
  await hono.stop();

  const pg = ceilingChild('ceiling-pg', [
    '--mode',
    'pg',
    '--db',
    stack.db.url,
    '--pool',
    String(config.apiPoolSize),
    '--concurrency',
    String(config.connections),
    '--accounts',
    String(config.organizations),
  ]);
  await ready(pg);
  const pgRuns = await repeat(ctx, 'ceiling postgres', async (durationS): Promise<Measured> => {
    const cpu = await stack.startCpu({ client: [pg] });
    const r = await command(pg, { cmd: 'run', durationS }, 'ran');
    const used = await cpu();
    if (r.errors) throw new Error(`raw postgres: ${r.errors} failed transactions`);
    return { perSec: r.count / ((r.endedAt - r.startedAt) / 1000), cpu: perOp(used, r.count) };
  });
  await pg.stop();

  // Raw BullMQ: one producer process (as the API is one) adding with the product's options,
  // and as many no-op worker processes, of the same concurrency, as the pipeline runs.
  const prefix = `${stack.prefix}-raw`;
  const workers = Array.from({ length: config.workers }, (_, i) =>
    ceilingChild(`ceiling-bullmq-worker-${i + 1}`, [
      '--mode',
      'worker',
      '--redis',
      config.redisUrl,
      '--prefix',
      prefix,
      '--concurrency',
      String(config.workerConcurrency),
    ]),
  );
  const producer = ceilingChild('ceiling-bullmq-producer', [
    '--mode',
    'producer',
    '--redis',
    config.redisUrl,
    '--prefix',
    prefix,
    '--concurrency',
    String(config.connections),
  ]);
  await Promise.all([...workers, producer].map(ready));
  const bullmqRuns = await repeat(ctx, 'ceiling bullmq', async (durationS): Promise<Measured> => {
    for (const w of workers) w.proc.send({ cmd: 'reset' } satisfies CeilingCommand);
    const cpu = await stack.startCpu({ producer: [producer], workers });
    const ran = await command(producer, { cmd: 'run', durationS }, 'ran');
    if (ran.errors) throw new Error(`raw bullmq: ${ran.errors} failed adds`);
    const done = await waitUntil(
      'raw BullMQ jobs to finish',
      async () => {
        const stats = await Promise.all(workers.map((w) => command(w, { cmd: 'stats' }, 'stats')));
        const completed = stats.reduce((a, s) => a + s.completed, 0);
        return completed >= ran.count ? Math.max(...stats.map((s) => s.lastAt)) : null;
      },
      { timeoutMs: 120_000, intervalMs: 50 },
    );
    const used = await cpu();
    return { perSec: ran.count / ((done - ran.startedAt) / 1000), cpu: perOp(used, ran.count) };
  });
  await Promise.all([producer, ...workers].map((c) => c.stop()));
  return { bullmq: bullmqRuns, pg: pgRuns, hono: honoRuns };
}

// ---------------------------------------------------------------------------------------------
// 2 and 5. The challenge pipeline

function challengeRequests(users: User[], ip: string): RequestSpec[] {
  let next = 0;
  return [
    {
      method: 'POST',
      path: '/v1/challenges',
      setupRequest: (req) => {
        const user = users[next++ % users.length]!;
        return {
          ...req,
          headers: { 'content-type': 'application/json', authorization: user.org.auth },
          body: JSON.stringify({ userId: user.id, ip }),
        };
      },
    },
  ];
}

interface Drained {
  total: number;
  lastSentAt: number;
}

/**
 * Waits until every send the users' organizations created since `since` reached the provider and
 * was recorded `sent`. Scoped by organization, so it reads through `sms_sends_org_created` and
 * never scans the whole table (millions of rows under BENCH_DATA=large, polled every 100 ms).
 */
async function drained(
  stack: Stack,
  users: User[],
  since: Date,
  atLeast: number,
): Promise<Drained> {
  const orgIds = [...new Set(users.map((u) => u.org.id))];
  return waitUntil(
    `${atLeast} sends to be recorded sent`,
    async () => {
      const [row] = await stack.sql<
        { total: number; sent: number; bad: number; last: Date | null }[]
      >`
        select count(*)::int as total,
          count(*) filter (where status = 'sent')::int as sent,
          count(*) filter (where status not in ('queued', 'sending', 'sent'))::int as bad,
          max(updated_at) filter (where status = 'sent') as last
        from sms_sends where organization_id = any(${orgIds}::uuid[]) and created_at >= ${since}`;
      if (!row) return null;
      if (row.bad) {
        throw new FatalError(`${row.bad} sends ended neither queued, sending nor sent`);
      }
      if (row.total < atLeast || row.sent < row.total || !row.last) return null;
      return { total: row.total, lastSentAt: row.last.getTime() };
    },
    { timeoutMs: 180_000, intervalMs: 100 },
  );
}

export interface PipelineRun {
  /** Challenges accepted, per second from the first request to the last send recorded. */
  perSec: number;
  /** CPU ms per challenge, per component. */
  cpu: Record<string, number>;
  /** What the API alone accepted per second while the workers ran. */
  acceptPerSec: number;
  accepted: number;
  /** Seconds the workers needed after the load stopped. */
  drainS: number;
}

/** Saturation: 50 connections start challenges as fast as the API answers, then drain. */
export async function pipelineSaturation(ctx: Ctx, users: User[], label: string) {
  const { stack, config } = ctx;
  return repeat(ctx, label, async (durationS): Promise<PipelineRun> => {
    const since = new Date();
    const cpu = await stack.startCpu();
    const r = await httpLoad({
      url: stack.apiUrl,
      durationS,
      connections: config.connections,
      requests: challengeRequests(users, OUTSIDE_IP),
    });
    if (r.non2xx || r.errors) {
      throw new Error(`pipeline: unexpected answers ${JSON.stringify(r.statusCodes)}`);
    }
    const loadEnd = r.startedAt + r.durationS * 1000;
    const d = await drained(stack, users, since, r.ok);
    const used = await cpu();
    return {
      perSec: d.total / ((d.lastSentAt - since.getTime()) / 1000),
      cpu: perOp(used, d.total),
      acceptPerSec: r.perSec,
      accepted: r.ok,
      drainS: Math.max(0, (d.lastSentAt - loadEnd) / 1000),
    };
  });
}

export interface LatencyRun extends LatencySummary {
  rate: number;
  missing: number;
}

/**
 * Accept -> provider latency at a steady `rate`: the time from the API's 200 reaching the
 * client to the fake provider taking the SMS (the status callback URL carries the send id).
 */
export async function pipelineLatency(ctx: Ctx, users: User[], rate: number) {
  const { stack } = ctx;
  return repeat(ctx, `pipeline latency at ${rate}/s`, async (durationS): Promise<LatencyRun> => {
    const since = new Date();
    const accepts = new Map<string, number>();
    stack.sink.startRecording();
    let next = 0;
    const r = await paced(rate, durationS, async () => {
      const user = users[next++ % users.length]!;
      const answer = await request<{ challenge: { id: string } }>(`${stack.apiUrl}/v1/challenges`, {
        headers: { authorization: user.org.auth },
        body: { userId: user.id, ip: OUTSIDE_IP },
      });
      expectStatus(answer, 200, 'POST /v1/challenges');
      accepts.set(answer.body.challenge.id, answer.at);
    });
    if (r.failed) throw new Error(`pipeline latency: ${r.failed} failed (${r.firstError})`);
    await drained(stack, users, since, accepts.size);
    // The sink forwards within a millisecond; give the last batch time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const messages = stack.sink.stopRecording();
    const received = new Map(messages.map((m) => [m.sendId, m.receivedAt]));
    const rows = await stack.sql<{ id: string; sendId: string }[]>`
      select id, current_send_id as "sendId" from challenges where id = any(${[...accepts.keys()]})`;
    const latencies: number[] = [];
    let missing = 0;
    for (const row of rows) {
      const at = received.get(row.sendId);
      if (at === undefined) missing++;
      else latencies.push(at - accepts.get(row.id)!);
    }
    return { ...latencySummary(latencies), rate, missing };
  });
}

// ---------------------------------------------------------------------------------------------
// 3. Verify

interface VerifyItem {
  id: string;
  auth: string;
  code: string;
}

export interface VerifyRun {
  perSec: number;
  cpu: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  right: number;
  wrong: number;
  unexpected: Record<string, number>;
  durationS: number;
  ranOut: boolean;
}

const wrongCode = (code: string) => String((Number(code) + 1) % 1_000_000).padStart(6, '0');

/**
 * Pending challenges as the worker leaves them once the provider took the SMS (status sent, the
 * code's HMAC stored), written in bulk: the pipeline alone cannot make enough of them within
 * the time budget. The right codes are known because the bench makes them.
 */
async function seedPendingChallenges(
  stack: Stack,
  users: User[],
  n: number,
): Promise<VerifyItem[]> {
  const items: VerifyItem[] = [];
  const rows = {
    id: [] as string[],
    send: [] as string[],
    org: [] as string[],
    user: [] as string[],
    phone: [] as string[],
    hash: [] as string[],
  };
  for (let i = 0; i < n; i++) {
    const user = users[i % users.length]!;
    const id = newId();
    const sendId = newId();
    const code = generateCode();
    rows.id.push(id);
    rows.send.push(sendId);
    rows.org.push(user.org.id);
    rows.user.push(user.id);
    rows.phone.push(user.phone);
    rows.hash.push(hashSecret(APP_SECRET, 'code', code, sendId));
    items.push({ id, auth: user.org.auth, code });
  }
  await stack.sql`
    with input as (
      select * from unnest(${rows.id}::uuid[], ${rows.send}::uuid[], ${rows.org}::uuid[],
        ${rows.user}::uuid[], ${rows.phone}::text[], ${rows.hash}::text[])
        as t(id, send_id, org_id, user_id, phone, code_hash)
    ), c as (
      insert into challenges (id, organization_id, user_id, status, phone, ip, expires_at,
        send_count, last_send_at, current_send_id, created_at, updated_at)
      select id, org_id, user_id, 'pending', phone, ${OUTSIDE_IP}, now() + interval '10 minutes',
        1, now(), send_id, now(), now() from input
    )
    insert into sms_sends (id, organization_id, challenge_id, seq, phone, status, code_hash,
      provider_attempts, sending_at, created_at, updated_at)
    select send_id, org_id, id, 1, phone, 'sent', code_hash, 1, now(), now(), now() from input`;
  // Thousands of rows in one statement, right before the measured runs: without fresh
  // statistics the planner guesses from an empty table, which production never does.
  await stack.sql`analyze challenges, sms_sends`;
  return items;
}

/**
 * Pending challenges, each verified once with a wrong code and then with the right one: half
 * and half. First those the pipeline scenarios left, whose codes came from the fake provider
 * (the database holds only HMACs); then, if more are needed, seeded ones.
 */
export async function verify(
  ctx: Ctx,
  orgs: Org[],
  users: User[],
  codes: Map<string, string>,
  poolSize: number,
) {
  const { stack, config } = ctx;
  const auth = new Map(orgs.map((o) => [o.id, o.auth]));
  const rows = await stack.sql<{ id: string; orgId: string; sendId: string }[]>`
    select c.id, c.organization_id as "orgId", c.current_send_id as "sendId"
    from challenges c join sms_sends s on s.id = c.current_send_id
    where c.status = 'pending' and s.status = 'sent' and c.wrong_attempts = 0
      and c.expires_at > now() + interval '2 minutes'`;
  const pool: VerifyItem[] = [];
  for (const row of rows) {
    const code = codes.get(row.sendId);
    const key = auth.get(row.orgId);
    if (code && key) pool.push({ id: row.id, auth: key, code });
  }
  const fromPipeline = pool.length;
  if (pool.length < poolSize) {
    pool.push(...(await seedPendingChallenges(stack, users, poolSize - pool.length)));
  }
  // Spread the pipeline's challenges over all runs.
  pool.sort(() => Math.random() - 0.5);
  ctx.log(
    `verify: ${fromPipeline} pending challenges from the pipeline, ${pool.length - fromPipeline} seeded`,
  );
  // The warmup takes half a share; every measured run gets the same number.
  const share = Math.floor(pool.length / (config.runs + 0.5));
  return repeat(ctx, 'verify', async (durationS, run): Promise<VerifyRun> => {
    const items = pool.splice(0, run < 0 ? Math.floor(share / 2) : share);
    let last = items[0]!;
    let ranOut = false;
    const control: { stop?: () => void } = {};
    const take = () => {
      const item = items.pop();
      if (item) {
        last = item;
        return item;
      }
      if (!ranOut) {
        ranOut = true;
        setImmediate(() => control.stop?.());
      }
      return last;
    };
    // Spread the builder's request: it carries the host and port the Host header is made of.
    const spec = (req: RequestSpec, item: VerifyItem, code: string): RequestSpec => ({
      ...req,
      method: 'POST',
      path: `/v1/challenges/${item.id}/verify`,
      headers: { 'content-type': 'application/json', authorization: item.auth },
      body: JSON.stringify({ code }),
    });
    const cpu = await stack.startCpu();
    const r = await httpLoad({
      url: stack.apiUrl,
      durationS,
      connections: config.connections,
      control,
      requests: [
        {
          setupRequest: (req, context) => {
            const item = take();
            context.item = item;
            return spec(req, item, wrongCode(item.code));
          },
        },
        {
          setupRequest: (req, context) =>
            spec(req, context.item as VerifyItem, (context.item as VerifyItem).code),
        },
      ],
    });
    const right = r.statusCodes['200'] ?? 0;
    const wrong = r.statusCodes['422'] ?? 0;
    const unexpected = Object.fromEntries(
      Object.entries(r.statusCodes).filter(([code]) => code !== '200' && code !== '422'),
    );
    const used = await cpu();
    return {
      perSec: (right + wrong) / r.durationS,
      cpu: perOp(used, right + wrong),
      p50Ms: r.p50Ms,
      p99Ms: r.p99Ms,
      right,
      wrong,
      unexpected,
      durationS: r.durationS,
      ranOut,
    };
  });
}

// ---------------------------------------------------------------------------------------------
// 4. The common login: no SMS needed

export interface CommonRun {
  perSec: number;
  cpu: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
}

export interface CommonOrg {
  org: Org;
  users: { user: User; deviceToken: string }[];
}

/** Sets the organization's skip list, checks both kinds of request need no SMS, and returns the load. */
async function prepareCommon(ctx: Ctx, target: CommonOrg, cidrs: number): Promise<RequestSpec[]> {
  const { stack } = ctx;
  const list = skipList(cidrs);
  await setSkipList(stack.sql, target.org, list);
  const insideIp = list[list.length - 1]!.replace(/0\/24$/, '77');
  const probe = async (ip: string, deviceToken: string | undefined, reason: string) => {
    const { user } = target.users[0]!;
    const answer = await request(`${stack.apiUrl}/v1/challenges`, {
      headers: { authorization: target.org.auth },
      body: { userId: user.id, ip, ...(deviceToken && { deviceToken }) },
    });
    expectStatus(answer, 200, 'common login probe');
    if (answer.body.reason !== reason) {
      throw new Error(`common login probe: expected ${reason}, got ${JSON.stringify(answer.body)}`);
    }
  };
  // Organization settings are cached for a second.
  await waitUntil(
    `the ${cidrs}-CIDR skip list to apply`,
    () => probe(insideIp, undefined, 'trusted_network').then(() => true),
    { timeoutMs: 10_000, intervalMs: 200 },
  );
  await probe(OUTSIDE_IP, target.users[0]!.deviceToken, 'trusted_device');
  let next = 0;
  return [
    {
      method: 'POST',
      path: '/v1/challenges',
      setupRequest: (req) => {
        const i = next++;
        const { user, deviceToken } = target.users[(i >> 1) % target.users.length]!;
        const body =
          i % 2 === 0
            ? { userId: user.id, ip: insideIp }
            : { userId: user.id, ip: OUTSIDE_IP, deviceToken };
        return {
          ...req,
          headers: { 'content-type': 'application/json', authorization: target.org.auth },
          body: JSON.stringify(body),
        };
      },
    },
  ];
}

/**
 * Half the requests come from an address inside the organization's skip list (the last block,
 * so a linear scan would pay for all of them), half from outside it with a valid device token.
 * One organization per list size; the sizes take turns run by run, so a noisy moment hits them
 * alike rather than all the runs of one size.
 */
export async function commonLogin(
  ctx: Ctx,
  targets: { cidrs: number; target: CommonOrg }[],
): Promise<Map<number, CommonRun[]>> {
  const { stack, config } = ctx;
  const loads = new Map<number, RequestSpec[]>();
  for (const { cidrs, target } of targets)
    loads.set(cidrs, await prepareCommon(ctx, target, cidrs));
  const once = async (requests: RequestSpec[], durationS: number): Promise<CommonRun> => {
    const cpu = await stack.startCpu();
    const r = await httpLoad({
      url: stack.apiUrl,
      durationS,
      connections: config.connections,
      requests,
    });
    const used = await cpu();
    if (r.non2xx || r.errors) throw new Error(`common login: ${JSON.stringify(r.statusCodes)}`);
    return { perSec: r.perSec, p50Ms: r.p50Ms, p99Ms: r.p99Ms, cpu: perOp(used, r.ok) };
  };
  ctx.log(`common login: warmup ${config.warmupS}s per list size`);
  for (const requests of loads.values()) await once(requests, config.warmupS);
  const runs = new Map<number, CommonRun[]>([...loads.keys()].map((k) => [k, []]));
  for (let run = 0; run < config.runs; run++) {
    for (const [cidrs, requests] of loads)
      runs.get(cidrs)!.push(await once(requests, config.durationS));
  }
  return runs;
}

// ---------------------------------------------------------------------------------------------
// 6. The peer: the second step, and whole logins

export interface PairRun {
  ours: FlowResult;
  peer: FlowResult;
  /** CPU ms per flow of ours, per component. */
  oursCpu: Record<string, number>;
}

/** Our second step: start a challenge (the host checked the password), get the SMS, verify. */
export function oursSecondStep(ctx: Ctx, users: User[]) {
  const { stack } = ctx;
  return async (vu: number) => {
    const user = users[vu]!;
    const sms = stack.sink.next(user.phone);
    try {
      const start = await request(`${stack.apiUrl}/v1/challenges`, {
        headers: { authorization: user.org.auth },
        body: { userId: user.id, ip: OUTSIDE_IP },
      });
      expectStatus(start, 200, 'POST /v1/challenges');
      await ourVerify(ctx, user, start.body.challenge.id, sms);
    } catch (error) {
      stack.sink.cancel(user.phone);
      throw error;
    }
  };
}

async function ourVerify(
  ctx: Ctx,
  user: User,
  challengeId: string,
  sms: Promise<{ body: string }>,
) {
  const code = codeOf((await sms).body);
  const answer = await request(`${ctx.stack.apiUrl}/v1/challenges/${challengeId}/verify`, {
    headers: { authorization: user.org.auth },
    body: { code },
  });
  expectStatus(answer, 200, 'verify');
}

/** Our whole login: password, then the second step. */
function oursFullLogin(ctx: Ctx, users: User[]) {
  const { stack } = ctx;
  return async (vu: number) => {
    const user = users[vu]!;
    const sms = stack.sink.next(user.phone);
    try {
      const login = await request(`${stack.apiUrl}/v1/logins`, {
        headers: { authorization: user.org.auth },
        body: { email: user.email, password: user.password, ip: OUTSIDE_IP },
      });
      expectStatus(login, 200, 'POST /v1/logins');
      if (login.body.result !== 'challenge_required') throw new Error('login needed no challenge');
      await ourVerify(ctx, user, login.body.challenge.id, sms);
    } catch (error) {
      stack.sink.cancel(user.phone);
      throw error;
    }
  };
}

async function peerOtp(ctx: Ctx, peer: Peer, user: PeerUser, cookie: string) {
  const headers = { ...peer.origin, cookie };
  const sms = ctx.stack.sink.next(user.phone);
  try {
    const sent = await request(`${peer.url}/api/auth/two-factor/send-otp`, { headers, body: {} });
    expectStatus(sent, 200, 'peer send-otp');
    const code = codeOf((await sms).body);
    const verified = await request(`${peer.url}/api/auth/two-factor/verify-otp`, {
      headers,
      body: { code },
    });
    expectStatus(verified, 200, 'peer verify-otp');
  } catch (error) {
    ctx.stack.sink.cancel(user.phone);
    throw error;
  }
}

/** The peer's second step, from the state its sign-in leaves after a right password. */
function peerSecondStep(
  ctx: Ctx,
  peer: Peer,
  users: PeerUser[],
  cookies: string[][],
  minted: { inline: number },
) {
  return async (vu: number) => {
    const user = users[vu]!;
    let cookie = cookies[vu]!.pop();
    if (!cookie) {
      minted.inline++;
      cookie = await peer.pastPassword(user.id);
    }
    await peerOtp(ctx, peer, user, cookie);
  };
}

function peerFullLogin(ctx: Ctx, peer: Peer, users: PeerUser[]) {
  return async (vu: number) => {
    const user = users[vu]!;
    const signIn = await request(`${peer.url}/api/auth/sign-in/email`, {
      headers: peer.origin,
      body: { email: user.email, password: user.password },
    });
    expectStatus(signIn, 200, 'peer sign-in');
    if (!signIn.body.twoFactorRedirect) throw new Error('peer sign-in asked no second factor');
    await peerOtp(ctx, peer, user, twoFactorCookie(signIn.cookies));
  };
}

/** Ours and the peer's runs alternate, so a noisy neighbour hits both alike. */
async function alternate(
  ctx: Ctx,
  label: string,
  vus: number,
  ours: (vu: number) => Promise<void>,
  peer: (vu: number) => Promise<void>,
  beforePeerRun: (durationS: number, previous: PairRun | null) => Promise<void> = async () => {},
): Promise<PairRun[]> {
  let previous: PairRun | null = null;
  return repeat(ctx, label, async (durationS): Promise<PairRun> => {
    const cpu = await ctx.stack.startCpu();
    const o = await closedLoop(vus, durationS, ours);
    const oursCpu = perOp(await cpu(), Math.max(1, o.completed));
    await beforePeerRun(durationS, previous);
    const p = await closedLoop(vus, durationS, peer);
    for (const [who, r] of [
      ['ours', o],
      ['peer', p],
    ] as const) {
      if (r.failed)
        throw new Error(`${label} (${who}): ${r.failed} failed, first: ${r.firstError}`);
    }
    previous = { ours: o, peer: p, oursCpu };
    return previous;
  });
}

export async function secondStep(ctx: Ctx, peer: Peer, users: User[], peerUsers: PeerUser[]) {
  const vus = users.length;
  const cookies: string[][] = peerUsers.map(() => []);
  const minted = { inline: 0 };
  const runs = await alternate(
    ctx,
    'second step, ours vs peer',
    vus,
    oursSecondStep(ctx, users),
    peerSecondStep(ctx, peer, peerUsers, cookies, minted),
    async (durationS, previous) => {
      // Mint enough two_factor cookies beforehand so the measured loop makes none; the last
      // run's rate sizes the supply.
      const expectedPerSec = Math.max(previous?.peer.perSec ?? 0, 200);
      const perVu = Math.ceil((expectedPerSec * durationS * 1.5) / vus) + 2;
      await mapLimit(peerUsers, 10, async (user, i) => {
        const have = cookies[i]!;
        while (have.length < perVu) have.push(await peer.pastPassword(user.id));
      });
    },
  );
  return { runs, mintedInline: minted.inline };
}

export async function fullLogins(ctx: Ctx, peer: Peer, users: User[], peerUsers: PeerUser[]) {
  return alternate(
    ctx,
    'full login, ours vs peer',
    ctx.config.loginVus,
    oursFullLogin(ctx, users),
    peerFullLogin(ctx, peer, peerUsers),
  );
}

/** One scrypt hash's time on this machine with the given parameters, median of 5. */
export async function hashMs(params: { N: number; r: number; p: number; keyLen: number }) {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    await new Promise<void>((resolve, reject) =>
      scrypt(
        'correct horse battery staple',
        'saltsaltsaltsalt',
        params.keyLen,
        { N: params.N, r: params.r, p: params.p, maxmem: 256 * 1024 * 1024 },
        (err) => (err ? reject(err) : resolve()),
      ),
    );
    times.push(performance.now() - t0);
  }
  return median(times);
}

/** Per component, the median over runs of CPU ms per operation. */
export function medianCpu(runs: { cpu: Record<string, number> }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const key of Object.keys(runs[0]?.cpu ?? {})) {
    out[key] = Math.round(median(runs.map((r) => r.cpu[key] ?? 0)) * 1000) / 1000;
  }
  return out;
}
