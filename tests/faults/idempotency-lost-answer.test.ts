/**
 * The client's edge: a challenge committed while its answer is lost, then
 * retried with the same Idempotency-Key, costs one challenge, one SMS and one
 * debit. Two ways to lose the answer: a connection in front of the API that
 * forwards the request and drops the answer, and the Postgres connection
 * going silent then cut while statements commit (the API answers 503, or
 * never answers, though the work may be committed).
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type SeededOrganization,
  type Stack,
  seedOrganization,
  sleep,
  startStack,
  startTcpProxy,
  waitUntil,
} from '../support/index.ts';
import { auditSendPipeline, messagesPerSend, waitForSettled } from './audit.ts';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ workers: 1, postgresProxy: true });
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const IP = '198.51.100.7';

async function post(baseUrl: string, org: SeededOrganization, userId: string, timeoutMs = 10_000) {
  const res = await fetch(`${baseUrl}/v1/challenges`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${org.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': `login-${userId}`,
    },
    body: JSON.stringify({ userId, ip: IP }),
    signal: AbortSignal.timeout(timeoutMs),
  });
  return { status: res.status, text: await res.text() };
}

/** A client that retries with its key until it gets an answer that is not "try again". */
async function retryUntilAnswered(org: SeededOrganization, userId: string) {
  let last: { status: number; text: string } | string | null = null;
  for (let attempt = 0; attempt < 120; attempt++) {
    const res = await post(stack.api!.url, org, userId).catch((e: Error) => e.message);
    if (typeof res !== 'string' && res.status !== 409 && res.status !== 503) return res;
    last = res;
    await sleep(500);
  }
  const rows = await stack.sql`select * from idempotency_keys where key = ${`login-${userId}`}`;
  throw new Error(
    `no answer for ${userId}: ${JSON.stringify(last)} ${JSON.stringify(rows)} exit=${JSON.stringify(stack.api?.exit)} ${stack.api?.tail()}`,
  );
}

async function challengesOf(userIds: string[]) {
  return stack.sql<{ userId: string; id: string }[]>`
    select user_id as "userId", id from challenges where user_id in ${stack.sql(userIds)}`;
}

describe('a lost answer retried with its Idempotency-Key', { timeout: 240_000 }, () => {
  it('answer dropped in front of the API after the commit: one challenge, one SMS, one debit', async () => {
    const org = await seedOrganization(stack, { users: 10, credits: 50, name: 'Socket Clinic' });
    const userIds = org.users.map((u) => u.id);
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: stack.api!.port });
    proxy.stall();
    const lost = await Promise.all(
      userIds.map((id) =>
        post(`http://127.0.0.1:${proxy.port}`, org, id, 2_000).then(
          () => 'answered',
          () => 'lost',
        ),
      ),
    );
    expect(lost.every((l) => l === 'lost')).toBe(true);
    await proxy.close();
    // The work was committed though no client heard of it.
    await waitUntil('the challenges committed', async () => {
      return (await challengesOf(userIds)).length === userIds.length;
    });

    const retries = await Promise.all(userIds.map((id) => retryUntilAnswered(org, id)));
    const rows = await challengesOf(userIds);
    expect(rows).toHaveLength(userIds.length);
    const byUser = new Map(rows.map((r) => [r.userId, r.id]));
    retries.forEach((res, i) => {
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text).challenge.id).toBe(byUser.get(userIds[i]!));
    });

    await waitForSettled(stack.sql);
    await waitUntil('every SMS sent', async () => {
      const [row] = await stack.sql<{ n: number }[]>`
        select count(*)::int as n from sms_sends s join challenges c on c.id = s.challenge_id
        where c.user_id in ${stack.sql(userIds)} and s.status = 'sent'`;
      return row?.n === userIds.length;
    });
    const phones = new Set(org.users.map((u) => u.phone));
    expect(stack.twilio.messages.filter((m) => phones.has(m.to))).toHaveLength(userIds.length);
    const [debits] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from sms_ledger
      where organization_id = ${org.id} and reason = 'sms_sent'`;
    expect(debits!.n).toBe(userIds.length);
  });

  it('Postgres goes silent then drops mid-request: retries with the key do nothing twice', async () => {
    const org = await seedOrganization(stack, { users: 40, credits: 100, name: 'Pg Clinic' });
    const userIds = org.users.map((u) => u.id);
    // Requests in flight when the database connection goes silent: some commit and lose
    // their answer (503 or no answer at all), some never reach Postgres.
    const first = Promise.all(
      userIds.map(async (id, i) => {
        await sleep(i * 10);
        return post(stack.api!.url, org, id, 20_000).catch(() => null);
      }),
    );
    await sleep(150);
    stack.pgProxy!.stall();
    await sleep(500);
    await stack.pgProxy!.cut();
    await sleep(1_000);
    await stack.pgProxy!.restore();
    const firstAnswers = await first;
    const lostAnswers = firstAnswers.filter((a) => a === null || a.status !== 200).length;
    // Without lost answers the scenario proves nothing.
    expect(lostAnswers).toBeGreaterThan(0);

    const answers = await Promise.all(userIds.map((id) => retryUntilAnswered(org, id)));
    for (const a of answers) expect(a.status).toBe(200);
    const rows = await challengesOf(userIds);
    // One challenge per user, and it is the one every retry answered with.
    expect(rows).toHaveLength(userIds.length);
    const byUser = new Map(rows.map((r) => [r.userId, r.id]));
    answers.forEach((a, i) => {
      expect(JSON.parse(a.text).challenge.id).toBe(byUser.get(userIds[i]!));
    });
    // A first answer that did arrive is the same, byte for byte, as the retry's.
    firstAnswers.forEach((a, i) => {
      if (a?.status === 200) expect(answers[i]!.text).toBe(a.text);
    });

    await waitForSettled(stack.sql, { timeoutMs: 90_000 });
    const report = await auditSendPipeline(stack.sql, { messages: stack.twilio.messages });
    const phones = new Set(org.users.map((u) => u.phone));
    const mine = stack.twilio.messages.filter((m) => phones.has(m.to));
    const perSend = messagesPerSend(mine);
    expect([...perSend.values()].every((n) => n === 1)).toBe(true);
    const [debits] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from sms_ledger
      where organization_id = ${org.id} and reason = 'sms_sent'`;
    expect(debits!.n).toBe(userIds.length);
    expect(report.challenges).toBe(10 + userIds.length);
  });
});
