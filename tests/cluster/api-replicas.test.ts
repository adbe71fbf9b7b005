/**
 * Two API processes behind HAProxy (round robin, health-checked) and three
 * worker processes on one Redis and one database: a replica stopped and a
 * worker killed mid-run leave the fault suite's audit intact, and the rate
 * limits are shared, so N requests in flight against a limit of L let at most
 * L through however the balancer spreads them.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSendPipeline, messagesPerSend, sendIdOf, waitForSettled } from '../faults/audit.ts';
import {
  freePort,
  jsonRequest,
  type SeededOrganization,
  type ServiceProcess,
  type Stack,
  type StartOutcome,
  seedOrganization,
  startStack,
  waitUntil,
} from '../support/index.ts';
import { type Haproxy, startHaproxy } from './haproxy.ts';
import { countBy, verifyAll } from './support.ts';

/** The per-IP limit both replicas enforce (RATE_LIMIT_IP_LOGINS_PER_MINUTE). */
const LIMIT = 10;
/** WORKER_CONCURRENCY of each worker. */
const CONCURRENCY = 10;

let stack: Stack;
let replicas: ServiceProcess[];
let lb: Haproxy;
/** The stack, but every request goes through the load balancer. */
let viaLb: Stack;
const accepted: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    workers: 0,
    env: {
      RATE_LIMIT_IP_LOGINS_PER_MINUTE: String(LIMIT),
      // A killed worker's jobs are taken over within seconds.
      WORKER_LOCK_DURATION_MS: '3000',
      WORKER_CONCURRENCY: String(CONCURRENCY),
      // The provider's slow answers below must come back as answers: with the tests'
      // usual 2 s timeout a slow send ends `unknown` and frees its slot.
      TWILIO_TIMEOUT_MS: '10000',
    },
  });
  const first = stack.api!;
  const port = await freePort();
  const [second] = await Promise.all([
    stack.startApi({}, { port }),
    ...Array.from({ length: 3 }, () => stack.startWorker()),
  ]);
  replicas = [first, second];
  lb = await startHaproxy(replicas.map((r, i) => ({ name: `api${i + 1}`, port: r.port })));
  viaLb = { ...stack, request: (method, path, opts) => jsonRequest(lb.url, method, path, opts) };
}, 120_000);

afterAll(async () => {
  await lb?.close();
  await stack?.close();
});

/**
 * POST /v1/challenges per user through the balancer, each from an address of its
 * own unless `ip` is given. With `holds`, users from each hold's `from` on wait for its `until`.
 */
async function startThroughLb(
  org: SeededOrganization,
  users: readonly { id: string }[],
  {
    concurrency,
    ip,
    holds = [],
  }: {
    concurrency: number;
    ip?: string;
    holds?: readonly { from: number; until: Promise<unknown> }[];
  },
): Promise<StartOutcome[]> {
  const outcomes: StartOutcome[] = [];
  let next = 0;
  const lane = async () => {
    for (;;) {
      const index = next++;
      const user = users[index];
      if (!user) return;
      for (const hold of holds) if (index >= hold.from) await hold.until;
      const res = await viaLb
        .request('POST', '/v1/challenges', {
          key: org.apiKey,
          body: { userId: user.id, ip: ip ?? `203.0.113.${index % 250}` },
          timeoutMs: 15_000,
        })
        .catch((error: Error) => ({
          status: 0,
          body: { error: `${error.message} (${(error.cause as Error)?.message})` },
        }));
      outcomes.push({
        userId: user.id,
        status: res.status,
        challengeId: res.body?.challenge?.id ?? null,
        code: null,
        error: res.status === 0 ? String(res.body?.error) : null,
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return outcomes;
}

/** POST /v1/challenges answers each replica logged, by status. */
function challengeAnswers(replica: ServiceProcess): number[] {
  return replica
    .jsonLogs()
    .filter((l) => l.route === '/v1/challenges' && l.method === 'POST')
    .map((l) => Number(l.status));
}

/**
 * Each replica's answers since `before`, once all `count` are in their logs: a
 * replica logs a request after answering it, and its stdout reaches us later still.
 */
async function answersSince(before: readonly number[], count: number): Promise<number[][]> {
  const since = () => replicas.map((r, i) => challengeAnswers(r).slice(before[i]!));
  await waitUntil(`${count} answers in the replicas' logs`, () =>
    since().reduce((n, answers) => n + answers.length, 0) >= count ? true : null,
  );
  return since();
}

describe('API replicas behind HAProxy with three workers', { timeout: 120_000 }, () => {
  it('loses and doubles nothing when a replica stops and a worker dies mid-run', async () => {
    const org = await seedOrganization(viaLb, { users: 100, credits: 100, name: 'replicas' });
    stack.twilio.setMode({ kind: 'ok', delayMs: 100 });
    const before = replicas.map((r) => challengeAnswers(r).length);
    let slowed!: () => void;
    const slow = new Promise<void>((resolve) => {
      slowed = resolve;
    });
    const disruption = waitUntil(
      '30 challenges accepted',
      async () => {
        const [row] = await stack.sql<{ n: number }[]>`
          select count(*)::int as n from challenges where organization_id = ${org.id}`;
        return (row?.n ?? 0) >= 30;
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    ).then(async () => {
      // The worker dies while every send it claimed is with the provider, so each
      // `unknown` send it leaves is one the fake did receive (as in worker-crash):
      // slow answers fill every worker's slots, then nothing new is claimed. Slow
      // enough that the slots fill however slowly a loaded machine accepts (30
      // answers outstanding at 6 s each need only 5 challenges accepted a second),
      // and within TWILIO_TIMEOUT_MS. The next 40 start only now, so their sends
      // (more than the 30 slots) meet the slow provider however fast the first 30
      // were sent: a fast machine once had all 70 sent before this poll saw 30.
      stack.twilio.setMode({ kind: 'ok', delayMs: 6_000 });
      slowed();
      let seen = '';
      await waitUntil(
        "every worker's slots waiting on the provider",
        async () => {
          const sends = await stack.sql<{ id: string; status: string }[]>`
            select id, status from sms_sends where organization_id = ${org.id}`;
          const sending = sends.filter((x) => x.status === 'sending');
          const atProvider = new Set(stack.twilio.messages.map(sendIdOf));
          const waiting = sending.filter((x) => atProvider.has(x.id)).length;
          seen = `${JSON.stringify(countBy(sends, (x) => x.status))}, ${waiting} sending at the provider`;
          return sending.length === 3 * CONCURRENCY && waiting === sending.length;
        },
        { timeoutMs: 30_000, intervalMs: 10, tail: () => `last seen: ${seen}` },
      );
      // A rolling deploy's step: out of the balancer, drained, then SIGTERM; and a
      // crashed worker.
      await lb.setState('api1', 'maint');
      // Its requests answered before it closes: a request it has not read yet would be
      // cut by the close (Node's server.close() ends connections it sees as idle).
      await waitUntil(
        'api1 to have no requests open',
        async () => (await lb.sessions('api1')) === 0,
        {
          intervalMs: 10,
        },
      );
      await Promise.all([replicas[0]!.stop(), stack.workers[0]!.kill()]);
      stack.twilio.setMode({ kind: 'ok', delayMs: 100 });
    });
    // The last 30 wait for the stop: however fast or slow this machine accepts, some
    // challenges come after it, and all of those go to the second replica.
    const started = await startThroughLb(org, org.users, {
      concurrency: 6,
      holds: [
        { from: 30, until: slow },
        { from: 70, until: disruption },
      ],
    });
    await disruption;
    const ok = started.filter((s) => s.status === 200);
    accepted.push(...ok.map((s) => s.challengeId!));
    // A draining replica answers what it took; the balancer sends the rest elsewhere.
    expect(countBy(started, (s) => String(s.status))).toEqual({ 200: 100 });
    // Both replicas took challenges before the stop, the second all of them after it.
    const served = (await answersSince(before, started.length)).map((a) => a.length);
    expect(served[0]).toBeGreaterThan(0);
    expect(served[1]).toBeGreaterThan(served[0]!);

    stack.twilio.setMode({ kind: 'ok' });
    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    const report = await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: accepted,
    });
    expect(report.challenges).toBe(100);
    expect([...messagesPerSend(stack.twilio.messages).values()].every((n) => n === 1)).toBe(true);
    // A send the dead worker had with the provider is `unknown` (charged, never resent).
    const unknown = report.byStatus.unknown ?? 0;
    expect(report.byStatus.sent! + unknown).toBe(100);
    const sent = started.filter((s) => s.status === 200);
    const delivered = await stack.sql<{ challengeId: string }[]>`
      select challenge_id as "challengeId" from sms_sends
      where organization_id = ${org.id} and status = 'sent'`;
    const sentIds = new Set(delivered.map((d) => d.challengeId));
    await verifyAll(
      lb.url,
      stack.twilio,
      org,
      sent.filter((s) => sentIds.has(s.challengeId!)),
    );

    // Back to two replicas for what follows.
    replicas[0] = await stack.startApi({}, { port: replicas[0]!.port });
    await lb.setState('api1', 'ready');
    await waitUntil('the balancer to use the restarted replica', async () => {
      await viaLb.request('GET', '/health');
      return replicas[0]!.jsonLogs().some((l) => l.route === '/health');
    });
  });

  it('shares the rate limits: N in flight against a limit of L let at most L through', async () => {
    const N = 4 * LIMIT;
    const org = await seedOrganization(viaLb, { users: N, credits: N, name: 'limits' });
    const before = replicas.map((r) => challengeAnswers(r).length);
    // One end-user address for all: the per-IP limit, every request at once.
    const started = await startThroughLb(org, org.users, { concurrency: N, ip: '192.0.2.44' });
    const counts = countBy(started, (s) => String(s.status));
    expect((counts[200] ?? 0) + (counts[429] ?? 0)).toBe(N);
    expect(counts[200]).toBeLessThanOrEqual(LIMIT);
    expect(counts[200]).toBeGreaterThan(0);
    accepted.push(...started.filter((s) => s.status === 200).map((s) => s.challengeId!));

    // Each replica alone saw more than L requests: with counters of its own, each
    // would have let L through.
    const seen = await answersSince(before, N);
    for (const answers of seen) expect(answers.length).toBeGreaterThan(LIMIT);
    const admitted = seen.map((answers) => answers.filter((s) => s === 200).length);
    expect(admitted[0]! + admitted[1]!).toBe(counts[200]);

    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: accepted,
    });
  });
});
