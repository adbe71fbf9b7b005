/**
 * Scenario 3: Redis stops while the API takes challenges, and later loses
 * everything (FLUSHALL). The design is the transactional outbox: the API keeps
 * answering 200 because the challenge and its send are committed to Postgres
 * first; the workers' reconciler enqueues what Redis lost. Every accepted
 * challenge gets its SMS, none gets two.
 */

import { describe, expect, it } from 'vitest';
import { seedOrganization, startChallenges, waitUntil, withStack } from '../support/index.ts';
import {
  auditSendPipeline,
  messagesPerSend,
  reconcilerRequeued,
  sentCount,
  waitForSettled,
} from './audit.ts';

const stack = withStack({ workers: 2 });
const accepted: string[] = [];

describe('Redis down or emptied', { timeout: 180_000 }, () => {
  it('keeps accepting challenges while Redis is down and sends each once it is back', async () => {
    const org = await seedOrganization(stack, { users: 200, credits: 200, name: 'outage' });
    const before = await startChallenges(stack, org, org.users.slice(0, 50));
    expect(before.filter((s) => s.status !== 200)).toEqual([]);

    await stack.redis.kill();
    const ready = await stack.request('GET', '/ready');
    expect(ready.status).toBe(503);
    const during = await startChallenges(stack, org, org.users.slice(50, 150));
    // The outbox: accepted (200) with the send committed, not refused with 503.
    expect(during.map((s) => s.status)).toEqual(during.map(() => 200));
    const queued = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from sms_sends
      where challenge_id in ${stack.sql(during.map((s) => s.challengeId!))} and status = 'queued'`;
    expect(queued[0]?.n).toBe(100);
    const requeuedBefore = reconcilerRequeued(stack.workers);

    await stack.redis.start();
    const after = await startChallenges(stack, org, org.users.slice(150));
    expect(after.filter((s) => s.status !== 200)).toEqual([]);
    for (const s of [...before, ...during, ...after]) accepted.push(s.challengeId!);

    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    expect(await sentCount(stack.sql, org.id)).toBe(200);
    // Nothing but the reconciler knew about the sends accepted during the outage. Its
    // log line can reach this process after the sends it requeued have settled.
    await waitUntil(
      'the reconciler to log its requeues',
      () => (reconcilerRequeued(stack.workers) - requeuedBefore >= 100 ? true : null),
      { timeoutMs: 10_000 },
    ).catch(() => {});
    expect(reconcilerRequeued(stack.workers) - requeuedBefore).toBeGreaterThanOrEqual(100);
    const perSend = messagesPerSend(stack.twilio.messages);
    expect([...perSend.values()].every((n) => n === 1)).toBe(true);
    await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: accepted,
    });
  });

  it('sends every accepted challenge once after Redis is flushed with jobs waiting', async () => {
    const org = await seedOrganization(stack, { users: 200, credits: 200, name: 'flush' });
    // A backlog of waiting jobs for the flush to destroy: held on the paused queue,
    // then released against slow answers.
    stack.twilio.setMode({ kind: 'ok', delayMs: 1_000 });
    const queue = stack.sendQueue();
    await queue.pause();
    const outcomes = await startChallenges(stack, org);
    expect(outcomes.filter((s) => s.status !== 200)).toEqual([]);
    for (const s of outcomes) accepted.push(s.challengeId!);
    await queue.resume();
    await waitUntil('some sent and a backlog waiting', async () => {
      const [row] = await stack.sql<{ sent: number; queued: number }[]>`
        select count(*) filter (where status = 'sent')::int as sent,
          count(*) filter (where status = 'queued')::int as queued
        from sms_sends where organization_id = ${org.id}`;
      return (row?.sent ?? 0) >= 10 && (row?.queued ?? 0) >= 50;
    });
    const requeuedBefore = reconcilerRequeued(stack.workers);
    await stack.redis.flushAll();
    stack.twilio.setMode({ kind: 'ok' });

    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    expect(await sentCount(stack.sql, org.id)).toBe(200);
    expect(reconcilerRequeued(stack.workers) - requeuedBefore).toBeGreaterThan(0);
    const report = await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: accepted,
    });
    expect(report.byStatus).toEqual({ sent: 400 });
  });
});
