import { afterEach, describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';

const h = withHarness({ env: { DB_POOL_SIZE: '4', TWILIO_TIMEOUT_MS: '10000' } });

afterEach(() => {
  h.twilio.setMode({ kind: 'ok' });
});

const PASSWORD = 'correct horse battery';
let ipCounter = 0;
const nextIp = () => `198.51.100.${++ipCounter}`;

async function orgWithCredits(credits: number) {
  const org = await h.createOrganization({ name: `Clinic ${credits}`, country: 'FI' });
  if (credits > 0) await h.topUp(org.id, credits);
  await h.enableTwoFactor(org.apiKey);
  return org;
}

function login(key: string, email: string) {
  return h.request('POST', '/v1/logins', {
    key,
    body: { email, password: PASSWORD, ip: nextIp() },
  });
}

function getChallenge(key: string, id: string) {
  return h.request('GET', `/v1/challenges/${id}`, { key });
}

/** Polls the challenge until `done` holds for its view (generous: the machine may be busy). */
function settled(key: string, id: string, done: (view: any) => boolean) {
  return h.waitFor(async () => {
    const res = await getChallenge(key, id);
    return done(res.body) ? res.body : null;
  }, 60_000);
}

async function balanceOf(key: string) {
  const res = await h.request('GET', '/v1/sms-balance', { key });
  expect(res.status).toBe(200);
  return res.body as {
    balance: number;
    ledger: Array<{ delta: number; reason: string; balanceAfter: number }>;
  };
}

/** The challenge's send job once it has finished, as the queue dashboard shows it. */
async function finishedJob(challengeId: string) {
  const rows = await h.sql<{ id: string }[]>`
    select id from sms_sends where challenge_id = ${challengeId}`;
  expect(rows).toHaveLength(1);
  const jobId = rows[0]!.id;
  const state = await h.waitFor(async () => {
    const s = await h.services.sendQueue.getJobState(jobId);
    return s === 'completed' || s === 'failed' ? s : null;
  });
  const job = await h.services.sendQueue.getJob(jobId);
  return { state, attemptsMade: job?.attemptsMade, failedReason: job?.failedReason };
}

/** Balance never negative, and equal to the sum of the ledger. */
async function expectBalanceConsistent(orgId: string) {
  const [row] = await h.sql`
    select o.sms_balance as balance,
      (select coalesce(sum(delta), 0)::int from sms_ledger l where l.organization_id = o.id) as sum,
      (select count(*)::int from sms_ledger l where l.organization_id = o.id and balance_after < 0) as negative
    from organizations o where o.id = ${orgId}`;
  expect(row!.balance).toBeGreaterThanOrEqual(0);
  expect(row!.balance).toBe(row!.sum);
  expect(row!.negative).toBe(0);
  return row!.balance as number;
}

describe('no SMS credit', () => {
  it('fails the challenge with sms_balance_exhausted, sends nothing, charges nothing', async () => {
    const org = await orgWithCredits(0);
    await h.createUser(org.apiKey, {
      email: 'broke@example.com',
      password: PASSWORD,
      phone: '+358401000100',
    });
    const requestsBefore = h.twilio.requestCount;
    const start = await login(org.apiKey, 'broke@example.com');
    expect(start.status).toBe(200);
    expect(start.body.challenge.status).toBe('pending');
    const failed = await settled(org.apiKey, start.body.challenge.id, (v) => v.status === 'failed');
    expect(failed).toMatchObject({
      status: 'failed',
      failureReason: 'sms_balance_exhausted',
      delivery: { status: 'insufficient_balance' },
    });
    expect(h.twilio.requestCount).toBe(requestsBefore);
    expect(h.twilio.messages.filter((m) => m.to === '+358401000100')).toHaveLength(0);
    const balance = await balanceOf(org.apiKey);
    expect(balance).toEqual(expect.objectContaining({ balance: 0, ledger: [] }));
    expect(await expectBalanceConsistent(org.id)).toBe(0);
    // Recorded, then failed for good: the dashboard lists it as failed, tried once.
    expect(await finishedJob(start.body.challenge.id)).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      failedReason: expect.stringContaining('no SMS credit'),
    });

    const resend = await h.request('POST', `/v1/challenges/${start.body.challenge.id}/resend`, {
      key: org.apiKey,
    });
    expect(resend.status).toBe(409);
    expect(resend.body.code).toBe('challenge_not_pending');
  });
});

describe('a provider refusal (Twilio 21211)', () => {
  it('fails the challenge as sms_rejected with the code, refunds the credit, and takes no resend', async () => {
    const org = await orgWithCredits(5);
    await h.createUser(org.apiKey, {
      email: 'badnumber@example.com',
      password: PASSWORD,
      phone: '+358401000101',
    });
    h.twilio.setMode({
      kind: 'error',
      status: 400,
      code: 21211,
      message: "The 'To' number is not a valid phone number.",
    });
    const requestsBefore = h.twilio.requestCount;
    const start = await login(org.apiKey, 'badnumber@example.com');
    const id = start.body.challenge.id;
    const failed = await settled(org.apiKey, id, (v) => v.status === 'failed');
    expect(failed).toMatchObject({
      status: 'failed',
      failureReason: 'sms_rejected',
      delivery: { status: 'failed', errorCode: '21211' },
    });
    // A 4xx is definitive: exactly one provider call, no retry.
    expect(h.twilio.requestCount).toBe(requestsBefore + 1);
    expect(await finishedJob(id)).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      failedReason: expect.stringContaining('21211'),
    });

    const balance = await h.waitFor(async () => {
      const b = await balanceOf(org.apiKey);
      return b.ledger.length >= 3 ? b : null;
    });
    expect(balance.balance).toBe(5);
    expect(
      balance.ledger.map(({ delta, reason, balanceAfter }) => ({ delta, reason, balanceAfter })),
    ).toEqual([
      { delta: 1, reason: 'refund', balanceAfter: 5 },
      { delta: -1, reason: 'sms_sent', balanceAfter: 4 },
      { delta: 5, reason: 'top_up', balanceAfter: 5 },
    ]);
    expect(await expectBalanceConsistent(org.id)).toBe(5);

    await h.travel(31_000);
    const resend = await h.request('POST', `/v1/challenges/${id}/resend`, { key: org.apiKey });
    expect(resend.status).toBe(409);
    expect(resend.headers.get('content-type')).toContain('application/problem+json');
    expect(resend.body.code).toBe('challenge_not_pending');
    const verify = await h.request('POST', `/v1/challenges/${id}/verify`, {
      key: org.apiKey,
      body: { code: '123456' },
    });
    expect(verify.status).toBe(409);
    expect(verify.body.code).toBe('challenge_not_pending');
    // Nothing more was sent or charged by the refused resend.
    expect(h.twilio.requestCount).toBe(requestsBefore + 1);
    expect((await balanceOf(org.apiKey)).ledger).toHaveLength(3);
  });
});

describe('concurrent logins with too little credit', () => {
  it('sends exactly as many codes as there are credits and never goes negative', {
    timeout: 120_000,
  }, async () => {
    const org = await orgWithCredits(3);
    const phones = Array.from({ length: 10 }, (_, i) => `+3584010002${String(i).padStart(2, '0')}`);
    // No passwords: host-started logins (/v1/challenges) arrive together, with no hashing to
    // spread them out, so the ten debits really race for the last credits.
    const users = await Promise.all(
      phones.map((phone, i) => h.createUser(org.apiKey, { email: `crowd${i}@example.com`, phone })),
    );
    const starts = await Promise.all(
      users.map((user) =>
        h.request('POST', '/v1/challenges', {
          key: org.apiKey,
          body: { userId: user.id, ip: nextIp() },
        }),
      ),
    );
    for (const s of starts) expect(s.body.result).toBe('challenge_required');
    // Settled: failed, or handed to the provider (an answer slower than the provider
    // timeout on a busy machine reads as `unknown`: charged, possibly sent).
    const finals = await Promise.all(
      starts.map((s) =>
        settled(org.apiKey, s.body.challenge.id, (v) =>
          ['failed', 'sent', 'unknown', 'insufficient_balance'].includes(v.delivery?.status),
        ),
      ),
    );
    const failed = finals.filter((v) => v.status === 'failed');
    const charged = finals.filter((v) => v.status !== 'failed');
    expect(failed).toHaveLength(7);
    expect(charged).toHaveLength(3);
    for (const v of failed) {
      expect(v).toMatchObject({
        failureReason: 'sms_balance_exhausted',
        delivery: { status: 'insufficient_balance' },
      });
    }
    for (const v of charged) expect(['sent', 'unknown']).toContain(v.delivery.status);
    const delivered = h.twilio.messages.filter((m) => phones.includes(m.to));
    expect(delivered).toHaveLength(3);
    expect(new Set(delivered.map((m) => m.to)).size).toBe(3);

    const balance = await balanceOf(org.apiKey);
    expect(balance.balance).toBe(0);
    expect(balance.ledger.filter((l) => l.reason === 'sms_sent')).toHaveLength(3);
    expect(balance.ledger.filter((l) => l.reason === 'refund')).toHaveLength(0);
    expect(balance.ledger.every((l) => l.balanceAfter >= 0)).toBe(true);
    expect(await expectBalanceConsistent(org.id)).toBe(0);
  });
});

describe('a sent code', () => {
  it('is recorded with the provider message SID and carries the contract text with a standalone 6-digit code', async () => {
    const org = await orgWithCredits(5);
    await h.createUser(org.apiKey, {
      email: 'happy@example.com',
      password: PASSWORD,
      phone: '+358401000103',
    });
    const start = await login(org.apiKey, 'happy@example.com');
    const id = start.body.challenge.id;
    const sent = await settled(org.apiKey, id, (v) => v.delivery?.status === 'sent');
    expect(sent).toMatchObject({ status: 'pending', failureReason: null });
    expect((await finishedJob(id)).state).toBe('completed');

    const messages = h.twilio.messages.filter((m) => m.to === '+358401000103');
    expect(messages).toHaveLength(1);
    const message = messages[0]!;
    // It names who sent it: the organization, "Clinic 5".
    expect(message.body).toMatch(
      /^Clinic 5: your sign-in code is \d{6}\. It expires in 10 minutes\.$/,
    );
    const codes = message.body.replace(/^Clinic 5: /, '').match(/(?<!\d)\d+(?!\d)/g);
    expect(codes).toEqual([expect.stringMatching(/^\d{6}$/), '10']);
    const code = codes![0]!;

    const rows = await h.sql`
      select provider_sid, code_hash, status from sms_sends where challenge_id = ${id}`;
    expect(rows).toHaveLength(1);
    expect(rows[0]!.provider_sid).toBe(message.sid);
    expect(rows[0]!.provider_sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(rows[0]!.status).toBe('sent');
    // Only a keyed hash of the code is at rest.
    expect(rows[0]!.code_hash).not.toContain(code);
    const inDb = await h.sql`
      select count(*)::int as n from sms_sends where code_hash = ${code} or provider_sid = ${code}`;
    expect(inDb[0]!.n).toBe(0);

    const verify = await h.request('POST', `/v1/challenges/${id}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(verify.status).toBe(200);
    expect(verify.body.result).toBe('authenticated');
    expect(await expectBalanceConsistent(org.id)).toBe(4);
  });
});
