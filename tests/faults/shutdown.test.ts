/**
 * Scenario 7: graceful shutdown. SIGTERM to a worker with a batch of sends at
 * the provider: those finish and are recorded sent, nothing new is taken, and
 * it exits 0 before its shutdown deadline (which would exit 1). SIGTERM to the
 * API with requests in flight: each is answered, nothing is accepted without
 * an answer, and it exits 0.
 */

import { beforeAll, describe, expect, it } from 'vitest';
import {
  type SeededOrganization,
  type StartOutcome,
  seedOrganization,
  startChallenges,
  waitUntil,
  withStack,
} from '../support/index.ts';
import { auditSendPipeline, sendIdOf, waitForSettled } from './audit.ts';

const CONCURRENCY = 10;
const WORKER_USERS = 60;
const API_USERS = 150;

const stack = withStack({
  workers: 0,
  env: {
    WORKER_CONCURRENCY: String(CONCURRENCY),
    TWILIO_TIMEOUT_MS: '10000',
    // Past this the process exits 1: exit code 0 means it drained in time.
    SHUTDOWN_TIMEOUT_MS: '15000',
  },
});
let org: SeededOrganization;
const accepted: string[] = [];

beforeAll(async () => {
  org = await seedOrganization(stack, {
    users: WORKER_USERS + API_USERS,
    credits: WORKER_USERS + API_USERS,
  });
}, 60_000);

describe('graceful shutdown', { timeout: 120_000 }, () => {
  it('lets a worker finish the sends it holds, take no more, and exit 0', async () => {
    const started = await startChallenges(stack, org, org.users.slice(0, WORKER_USERS));
    expect(started.filter((s) => s.status !== 200)).toEqual([]);
    accepted.push(...started.map((s) => s.challengeId!));
    stack.twilio.setMode({ kind: 'ok', delayMs: 2_000 });
    const worker = await stack.startWorker();

    // Signal while a full batch waits on the provider.
    const inFlight = await waitUntil(
      'a full batch in flight',
      async () => {
        if (stack.twilio.messages.length < CONCURRENCY) return null;
        const sending = await stack.sql<{ id: string }[]>`
          select id from sms_sends where status = 'sending'`;
        const atProvider = new Set(stack.twilio.messages.map(sendIdOf));
        if (sending.length !== CONCURRENCY || !sending.every((s) => atProvider.has(s.id))) {
          return null;
        }
        return sending.map((s) => s.id);
      },
      { intervalMs: 10 },
    );
    worker.signal('SIGTERM');
    const exit = await worker.exited;
    expect(exit).toEqual({ code: 0, signal: null });

    const sends = await stack.sql<{ id: string; status: string }[]>`
      select id, status from sms_sends`;
    const sent = sends.filter((s) => s.status === 'sent').map((s) => s.id);
    // What it held, it finished and recorded; nothing else was taken.
    expect(sent.sort()).toEqual([...inFlight].sort());
    expect(sends.filter((s) => s.status === 'queued').length).toBe(WORKER_USERS - CONCURRENCY);
    expect(stack.twilio.messages.length).toBe(CONCURRENCY);
    const messages = worker.jsonLogs().map((l) => l.msg);
    expect(messages).toContain('draining: finishing active jobs, taking no new ones');
    expect(messages.at(-1)).toBe('stopped');
  });

  it('lets the API answer the requests it has, take no new ones, and exit 0', async () => {
    stack.twilio.setMode({ kind: 'ok' });
    const api = stack.api!;
    const users = org.users.slice(WORKER_USERS);
    const outcomes: Promise<StartOutcome[]> = startChallenges(stack, org, users, {
      concurrency: 20,
    });
    await waitUntil('the API busy with requests', async () => {
      const [row] = await stack.sql<{ n: number }[]>`select count(*)::int as n from challenges`;
      return (row?.n ?? 0) >= WORKER_USERS + 20;
    });
    api.signal('SIGTERM');
    const exit = await api.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const results = await outcomes;

    // Answered 200, or never let in (the connection was refused or closed unanswered):
    // no 5xx, and no challenge stored without its answer.
    const answered = results.filter((r) => r.status !== 0);
    expect(answered.filter((r) => r.status !== 200)).toEqual([]);
    expect(answered.length).toBeGreaterThan(0);
    expect(results.filter((r) => r.status === 0).length).toBeGreaterThan(0);
    const stored = await stack.sql<{ id: string }[]>`
      select id from challenges where user_id in ${stack.sql(users.map((u) => u.id))}`;
    expect(stored.map((c) => c.id).sort()).toEqual(answered.map((r) => r.challengeId!).sort());
    accepted.push(...answered.map((r) => r.challengeId!));
    const messages = api.jsonLogs().map((l) => l.msg);
    expect(messages.at(-1)).toBe('stopped');
  });

  it('sends everything accepted once a worker is back', async () => {
    await Promise.all([stack.startApi(), stack.startWorker()]);
    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    const report = await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: accepted,
    });
    expect(report.byStatus).toEqual({ sent: report.sends });
  });
});
