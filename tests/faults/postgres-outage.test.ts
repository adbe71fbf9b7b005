/**
 * Scenario 4: Postgres goes away mid-run and comes back. The shared cluster is
 * never touched: the API and workers reach it through a TCP proxy that drops
 * every connection and refuses new ones, which is what its clients see of a
 * restart. The API answers 503 database_unavailable meanwhile and recovers on
 * its own; the workers retry with backoff; the audit holds.
 */

import { describe, expect, it } from 'vitest';
import {
  type SeededOrganization,
  type StartOutcome,
  seedOrganization,
  sleep,
  startChallenges,
  waitUntil,
  withStack,
} from '../support/index.ts';
import { auditSendPipeline, waitForSettled } from './audit.ts';

const USERS = 200;
const OUTAGE_MS = 3_000;
const STALL_MS = 500;

const stack = withStack({
  workers: 2,
  postgresProxy: true,
  env: { SEND_RETRY_BASE_DELAY_MS: '200' },
  // Debug: each claim's fate is logged by send id.
  workerEnv: { LOG_LEVEL: 'debug' },
});

type LogLine = Record<string, unknown>;

/**
 * Every claim's fate and every job's end, by send id, from the workers' logs:
 * claimed / not claimable, ambiguous (failed without an answer), then
 * own claim found / not committed / not ours, job failed, marked unknown, handed
 * to the provider. Printed for any send the audit finds wrong.
 */
function fatesBySend(logs: readonly LogLine[]): Map<string, string[]> {
  const fates = new Map<string, string[]>();
  for (const l of logs) {
    const sendId = String(l.sendId ?? l.jobId ?? '');
    if (!sendId) continue;
    let fate: string | null = null;
    if (l.msg === 'claim fate') fate = `${l.fate}${l.err ? ` (${l.err})` : ''}`;
    else if (l.msg === 'claim checked after a lost connection') fate = `checked: ${l.fate}`;
    else if (l.msg === 'job failed') fate = `job failed: ${l.err}`;
    else if (l.msg === 'code handed to provider') fate = 'handed to provider';
    else if (typeof l.msg === 'string' && l.msg.startsWith('send found mid-call'))
      fate = 'marked unknown';
    if (!fate) continue;
    const list = fates.get(sendId) ?? [];
    list.push(`attempt ${l.attempt ?? '?'}: ${fate}`);
    fates.set(sendId, list);
  }
  return fates;
}

async function startOne(org: SeededOrganization, userId: string) {
  return stack.request('POST', '/v1/challenges', {
    key: org.apiKey,
    body: { userId, ip: '198.51.100.7' },
  });
}

describe('Postgres restarted mid-run', { timeout: 180_000 }, () => {
  it('answers 503 while it is down, recovers without a restart, and loses or doubles nothing', async () => {
    const org = await seedOrganization(stack, { users: USERS, credits: USERS * 2 });
    // A backlog parked on the paused queue, then released: every worker slot churns
    // through claim, provider call and record, so statements are in flight at the cut.
    const queue = stack.sendQueue();
    await queue.pause();
    const first = await startChallenges(stack, org, org.users.slice(0, 150));
    expect(first.filter((s) => s.status !== 200)).toEqual([]);
    stack.twilio.setMode({ kind: 'ok', delayMs: 10 });
    await queue.resume();
    // Keep challenges coming in through the outage, a few at a time.
    const during = startChallenges(stack, org, org.users.slice(150), {
      concurrency: 2,
      pauseMs: 50,
    });
    await waitUntil('workers churning', () => stack.twilio.messages.length >= 30, {
      intervalMs: 2,
    });
    // First the connections go silent: statements reach Postgres and commit, their
    // answers never come back. Then they drop, and new ones are refused.
    stack.pgProxy!.stall();
    await sleep(STALL_MS);
    await stack.pgProxy!.cut();
    const down = await startOne(org, org.users[0]!.id);
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ code: 'database_unavailable' });
    const ready = await stack.request('GET', '/ready');
    expect(ready.status).toBe(503);
    await sleep(OUTAGE_MS);
    await stack.pgProxy!.restore();

    // The same API process serves again once Postgres is back.
    await waitUntil('the API to answer 200 again', async () => {
      const res = await stack.request('GET', '/ready');
      return res.status === 200;
    });
    // No process died of the outage (a worker that did would leave its claimed sends `sending`).
    expect(stack.workers.map((w) => w.exit)).toEqual(stack.workers.map(() => null));
    const outcomes: StartOutcome[] = [...first, ...(await during)];
    // Only two answers are acceptable from the API: accepted, or the database is away.
    expect(outcomes.filter((s) => s.status !== 200 && s.code !== 'database_unavailable')).toEqual(
      [],
    );
    const refused = outcomes.filter((s) => s.status === 503);
    // A client retries what was refused, as it would.
    for (const s of refused) {
      const retry = await startOne(org, s.userId);
      expect(retry.status).toBe(200);
      outcomes.push({ ...s, status: 200, challengeId: retry.body.challenge.id });
    }

    const fateLogs = () => fatesBySend(stack.workers.flatMap((w) => w.jsonLogs()));
    /** On a failure, what the workers did with each send that did not end `sent`. */
    const explain = async (error: unknown) => {
      const odd = await stack.sql<{ id: string; status: string }[]>`
        select id, status from sms_sends where status <> 'sent' order by id`;
      const fates = fateLogs();
      for (const send of odd) {
        console.log(
          `send ${send.id} ${send.status}: ${(fates.get(send.id) ?? ['no log']).join('; ')}`,
        );
      }
      throw error;
    };
    const restored = Date.now();
    await waitForSettled(stack.sql, { timeoutMs: 90_000 }).catch(explain);
    const settledMs = Date.now() - restored;
    const report = await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: outcomes.filter((s) => s.status === 200).map((s) => s.challengeId!),
    }).catch(explain);
    // Every user who was answered 200 has an SMS; a send can only end unknown, never lost.
    expect(report.sends).toBeGreaterThanOrEqual(USERS);
    expect((report.byStatus.sent ?? 0) + (report.byStatus.unknown ?? 0)).toBe(report.sends);

    // The workers met the outage and retried their jobs rather than dropping them.
    const workerLogs = stack.workers.flatMap((w) => w.jsonLogs());
    const retried = workerLogs.filter(
      (l) => l.msg === 'job failed' || l.msg === 'reconciler run failed; will try again',
    );
    expect(retried.length).toBeGreaterThan(0);
    // Claims that committed while their answers were lost were recognized as the worker's
    // own and sent, not marked unknown (the audit's SMS == debits - refunds checks it).
    const claimsChecked = workerLogs.filter(
      (l) => l.msg === 'claim checked after a lost connection',
    );
    if (process.env.DEBUG_FAULTS) {
      const counts: Record<string, number> = {};
      for (const l of workerLogs) counts[String(l.msg)] = (counts[String(l.msg)] ?? 0) + 1;
      console.log(counts);
    }
    expect(claimsChecked.filter((l) => l.committed).length).toBeGreaterThan(0);
    const fateCounts: Record<string, number> = {};
    for (const l of workerLogs) {
      if (l.msg === 'claim fate' || l.msg === 'claim checked after a lost connection') {
        const key = l.msg === 'claim fate' ? String(l.fate) : `checked ${l.fate}`;
        fateCounts[key] = (fateCounts[key] ?? 0) + 1;
      }
    }
    console.log(
      `postgres outage: settled ${settledMs} ms after the restore; claim fates ${JSON.stringify(fateCounts)}; ` +
        `${refused.length} starts refused with 503; ${claimsChecked.length} claims ` +
        `checked after a lost connection (${claimsChecked.filter((l) => l.committed).length} ` +
        `had committed); outcomes ${JSON.stringify(report.byStatus)}`,
    );
  });
});
