/**
 * Scenario 1: a worker process is SIGKILLed while a batch of sends is with the
 * provider, then a new worker starts. The jobs it held are taken over once
 * their locks lapse; the sends that were mid-call become `unknown` (charged,
 * never resent), and no send gets a second SMS. Past the settle window the
 * reconciler finds each of them in the provider's record and settles it `sent`.
 */

import { describe, expect, it } from 'vitest';
import { seedOrganization, startChallenges, waitUntil, withStack } from '../support/index.ts';
import { auditSendPipeline, messagesPerSend, sendIdOf, waitForSettled } from './audit.ts';

const CHALLENGES = 200;
const CONCURRENCY = 20;
const SLOW_MS = 3_000;

const stack = withStack({
  workers: 0,
  env: {
    WORKER_CONCURRENCY: String(CONCURRENCY),
    // A lapsed lock is noticed within seconds, not the production 30 s.
    WORKER_LOCK_DURATION_MS: '3000',
    TWILIO_TIMEOUT_MS: '10000',
  },
});

describe('a worker killed mid-batch', { timeout: 180_000 }, () => {
  it('leaves mid-call sends unknown and charged, resends nothing, loses nothing', async () => {
    const org = await seedOrganization(stack, { users: CHALLENGES, credits: CHALLENGES + 50 });
    const started = await startChallenges(stack, org);
    expect(started.filter((s) => s.status !== 200)).toEqual([]);

    // Every answer takes SLOW_MS, so a batch of CONCURRENCY sends sits with the provider.
    stack.twilio.setMode({ kind: 'ok', delayMs: SLOW_MS });
    const first = await stack.startWorker();
    // Kill while the second batch waits on the provider: every claimed send's request has
    // reached it, so "unknown" means "the provider has it" and the SMS count must still
    // match the ledger.
    await waitUntil(
      'a second batch of sends in flight',
      async () => {
        if (stack.twilio.messages.length < 2 * CONCURRENCY) return false;
        const sending = await stack.sql<{ id: string }[]>`
          select id from sms_sends where status = 'sending'`;
        const atProvider = new Set(stack.twilio.messages.map(sendIdOf));
        return sending.length > 0 && sending.every((s) => atProvider.has(s.id));
      },
      { timeoutMs: 60_000, intervalMs: 10 },
    );
    await first.kill();
    expect(first.exit?.signal).toBe('SIGKILL');
    const inFlight = (
      await stack.sql<{ id: string }[]>`select id from sms_sends where status = 'sending'`
    ).map((s) => s.id);
    expect(inFlight.length).toBeGreaterThan(0);
    const atProvider = new Set(stack.twilio.messages.map(sendIdOf));
    expect(inFlight.filter((id) => !atProvider.has(id))).toEqual([]);
    const [sentBeforeKill] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from sms_sends where status = 'sent'`;
    expect(sentBeforeKill?.n).toBeGreaterThan(0);

    stack.twilio.setMode({ kind: 'ok', delayMs: 50 });
    // This worker never settles (its window is past the test's end), so the sends stay
    // `unknown` for as long as the checks below look; a third worker settles them.
    const second = await stack.startWorker({ SMS_SETTLE_AFTER_MS: '600000' });
    await waitForSettled(stack.sql, { timeoutMs: 90_000 });

    const report = await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: started.map((s) => s.challengeId!),
    });
    expect(report.sends).toBe(CHALLENGES);
    // Exactly the sends that were with the provider when the worker died, each still
    // charged, each with the one SMS the provider took, and none sent again.
    const unknown = await stack.sql<{ id: string }[]>`
      select id from sms_sends where status = 'unknown'`;
    expect(unknown.map((s) => s.id).sort()).toEqual([...inFlight].sort());
    expect(report.byStatus).toEqual({
      sent: CHALLENGES - inFlight.length,
      unknown: inFlight.length,
    });
    const perSend = messagesPerSend(stack.twilio.messages);
    for (const id of inFlight) expect(perSend.get(id)).toBe(1);
    expect(stack.twilio.messages.length).toBe(CHALLENGES);

    // The new worker took the dead one's jobs over rather than the reconciler's 2-minute net.
    const takenOver = second
      .jsonLogs()
      .filter((l) => l.msg === 'send found mid-call after a restart; marked unknown, not resent');
    expect(takenOver.length).toBe(inFlight.length);

    // And the challenge says so.
    const [one] = await stack.sql<{ challengeId: string }[]>`
      select challenge_id as "challengeId" from sms_sends where id = ${inFlight[0]!}`;
    const view = await stack.request('GET', `/v1/challenges/${one!.challengeId}`, {
      key: org.apiKey,
    });
    expect(view.body).toMatchObject({ status: 'pending', delivery: { status: 'unknown' } });

    // Then the settle pass asks the provider (past SMS_SETTLE_AFTER_MS after each claim; 30 s
    // by default, 2 s in a worker started for it, so the test waits seconds, not half a
    // minute): every one of them is in its record, so each is settled `sent` with the sid of
    // the one SMS it took, nothing refunded, nothing resent.
    await stack.startWorker({ SMS_SETTLE_AFTER_MS: '2000' });
    await waitUntil(
      'every unknown send settled',
      async () => {
        const [row] = await stack.sql<{ n: number }[]>`
          select count(*)::int as n from sms_sends where status = 'unknown'`;
        return row?.n === 0;
      },
      { timeoutMs: 90_000, intervalMs: 250 },
    );
    const settled = await stack.sql<{ id: string; status: string; sid: string | null }[]>`
      select id, status, provider_sid as sid from sms_sends where id in ${stack.sql(inFlight)}`;
    const sidOf = new Map(stack.twilio.messages.map((m) => [sendIdOf(m), m.sid]));
    for (const send of settled) {
      expect(send.status).toBe('sent');
      expect(send.sid).toBe(sidOf.get(send.id));
    }
    const events = await stack.sql<{ data: { sendId: string; outcome: string } }[]>`
      select data from audit_events where type = 'sms_unknown_settled'`;
    expect(events.map((e) => e.data.sendId).sort()).toEqual([...inFlight].sort());
    expect(new Set(events.map((e) => e.data.outcome))).toEqual(new Set(['sent']));
    const after = await auditSendPipeline(stack.sql, {
      messages: stack.twilio.messages,
      acceptedChallengeIds: started.map((s) => s.challengeId!),
    });
    expect(after.byStatus).toEqual({ sent: CHALLENGES });
    expect(after.refunds).toBe(0);
    expect(stack.twilio.messages.length).toBe(CHALLENGES);
  });
});
