/**
 * Scenario 2: one, two and four worker processes on one queue give the same
 * outcomes, only faster. Each round parks its challenges' jobs on a paused
 * queue, then resumes it and times the run to all-sent. Throughput is printed,
 * not asserted (the machine is shared; the benchmark measures it properly).
 */

import { describe, expect, it } from 'vitest';
import { seedOrganization, startChallenges, waitUntil, withStack } from '../support/index.ts';
import { auditSendPipeline, waitForSettled } from './audit.ts';

const CHALLENGES = 200;
/** Provider latency: with it, a worker's throughput is bound by its concurrency, as in production. */
const PROVIDER_DELAY_MS = 250;

const stack = withStack({ workers: 1, env: { WORKER_CONCURRENCY: '10' } });

describe('workers scale horizontally', { timeout: 180_000 }, () => {
  it('gives the same outcomes with 1, 2 and 4 workers', async () => {
    stack.twilio.setMode({ kind: 'ok', delayMs: PROVIDER_DELAY_MS });
    const queue = stack.sendQueue();
    const throughput: Record<number, number> = {};
    const accepted: string[] = [];
    for (const workers of [1, 2, 4]) {
      while (stack.workers.length < workers) await stack.startWorker();
      const org = await seedOrganization(stack, {
        users: CHALLENGES,
        credits: CHALLENGES,
        name: `${workers} workers`,
      });
      await queue.pause();
      const started = await startChallenges(stack, org);
      expect(started.filter((s) => s.status !== 200)).toEqual([]);
      accepted.push(...started.map((s) => s.challengeId!));
      await waitUntil('all jobs parked on the paused queue', async () => {
        const counts = await queue.getJobCounts('wait');
        return counts.wait === CHALLENGES;
      });
      const t0 = Date.now();
      await queue.resume();
      await waitForSettled(stack.sql, { timeoutMs: 60_000 });
      const [row] = await stack.sql<{ sent: number; last: Date }[]>`
        select count(*) filter (where status = 'sent')::int as sent, max(updated_at) as last
        from sms_sends where organization_id = ${org.id}`;
      expect(row?.sent).toBe(CHALLENGES);
      throughput[workers] = CHALLENGES / ((row!.last.getTime() - t0) / 1000);
    }

    const report = await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: accepted,
    });
    expect(report.byStatus).toEqual({ sent: 3 * CHALLENGES });
    const line = [1, 2, 4]
      .map((n) => `${n} worker${n > 1 ? 's' : ''}: ${throughput[n]!.toFixed(1)}/s`)
      .join(', ');
    console.log(
      `send throughput (${CHALLENGES} challenges, provider ${PROVIDER_DELAY_MS} ms): ${line}; ` +
        `4:1 ratio ${(throughput[4]! / throughput[1]!).toFixed(2)}`,
    );
  });
});
