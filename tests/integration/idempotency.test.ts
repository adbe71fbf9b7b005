/**
 * The contract's Idempotency-Key on the three routes that cost money or send
 * an SMS: a repeat answers what the first answered and does nothing again.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, createHarness, type Harness } from '../support/index.ts';

let h: Harness;
let org: { id: string; apiKey: string };
let phoneSeq = 1000;

beforeAll(async () => {
  h = await createHarness();
  org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
  await h.topUp(org.id, 100);
  await h.enableTwoFactor(org.apiKey);
});
afterAll(async () => {
  await h?.close();
});

const IP = '203.0.113.9';

let lastPhone = '';
async function newUser(): Promise<string> {
  const n = phoneSeq++;
  lastPhone = `+35840123${n}`;
  const user = await h.createUser(org.apiKey, { email: `u${n}@example.com`, phone: `040 123${n}` });
  return user.id;
}

/** POST through the real app, returning the raw text too (replays must be byte-identical). */
async function post(path: string, key: string | null, body?: unknown, apiKey = org.apiKey) {
  const headers: Record<string, string> = { authorization: `Bearer ${apiKey}` };
  if (key !== null) headers['idempotency-key'] = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await h.app.request(path, {
    method: 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: JSON.parse(text), headers: res.headers };
}

const countChallenges = async (userId: string) =>
  (
    await h.sql<
      { n: number }[]
    >`select count(*)::int as n from challenges where user_id = ${userId}`
  )[0]!.n;
const sendsOf = (userId: string) =>
  h.sql<{ id: string; status: string }[]>`
    select s.id, s.status from sms_sends s join challenges c on c.id = s.challenge_id
    where c.user_id = ${userId} order by s.seq`;
const debitsOf = async (userId: string) =>
  (
    await h.sql<{ n: number }[]>`
      select count(*)::int as n from sms_ledger l join sms_sends s on s.id = l.send_id
      join challenges c on c.id = s.challenge_id
      where c.user_id = ${userId} and l.reason = 'sms_sent'`
  )[0]!.n;

describe('Idempotency-Key on POST /v1/challenges', () => {
  it('refuses a malformed key as invalid_request', async () => {
    const userId = await newUser();
    for (const key of ['k'.repeat(256), 'tab\there']) {
      const res = await post('/v1/challenges', key, { userId, ip: IP });
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_request');
    }
    expect(await countChallenges(userId)).toBe(0);
    const ok = await post('/v1/challenges', 'k'.repeat(255), { userId, ip: IP });
    expect(ok.status).toBe(200);
  });

  it('20 parallel requests with one key: one challenge, one SMS, one debit; the rest the same answer or 409', async () => {
    const userId = await newUser();
    const body = { userId, ip: IP };
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => post('/v1/challenges', 'parallel-1', body)),
    );
    const ok = answers.filter((a) => a.status === 200);
    const inUse = answers.filter((a) => a.status === 409);
    expect(ok.length + inUse.length).toBe(20);
    expect(ok.length).toBeGreaterThanOrEqual(1);
    for (const a of inUse) expect(a.body.code).toBe('idempotency_key_in_use');
    // Every 200 is the same answer, byte for byte.
    expect(new Set(ok.map((a) => a.text)).size).toBe(1);
    expect(await countChallenges(userId)).toBe(1);
    // The stored answer (rendered before the insert that stores it) is the row as written
    // (the worker's claim later moves expires_at on; created_at + 10 min is the insert's).
    const [row] = await h.sql<{ id: string; createdAt: Date }[]>`
      select id, created_at as "createdAt" from challenges where user_id = ${userId}`;
    expect(ok[0]!.body.challenge).toMatchObject({
      id: row!.id,
      expiresAt: new Date(row!.createdAt.getTime() + 10 * 60_000).toISOString(),
      status: 'pending',
      sendsRemaining: 4,
      delivery: { status: 'queued', errorCode: null },
    });

    await h.waitFor(async () => (await sendsOf(userId))[0]?.status === 'sent');
    const sends = await sendsOf(userId);
    expect(sends).toHaveLength(1);
    expect(h.twilio.messages.filter((m) => m.to === lastPhone)).toHaveLength(1);
    expect(await debitsOf(userId)).toBe(1);

    // A repeat after the first finished answers identically, and takes no rate-limit
    // points: more repeats than the user's 10 challenges an hour all answer 200.
    for (let i = 0; i < 12; i++) {
      const again = await post('/v1/challenges', 'parallel-1', { ip: IP, userId });
      expect(again.status).toBe(200);
      expect(again.text).toBe(ok[0]!.text);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
    }
    expect(await countChallenges(userId)).toBe(1);
    expect(await debitsOf(userId)).toBe(1);
  });

  it('the same key with another body or another route is 422 idempotency_key_reused', async () => {
    const userId = await newUser();
    const first = await post('/v1/challenges', 'reuse-1', { userId, ip: IP });
    expect(first.status).toBe(200);
    const other = await post('/v1/challenges', 'reuse-1', { userId, ip: '198.51.100.7' });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
    const resend = await post(`/v1/challenges/${first.body.challenge.id}/resend`, 'reuse-1');
    expect(resend.status).toBe(422);
    expect(resend.body.code).toBe('idempotency_key_reused');
    expect(await countChallenges(userId)).toBe(1);
    // Keys are per organization: another organization's same key is its own.
    const other2 = await h.createOrganization({ name: 'Other', country: 'FI' });
    const elsewhere = await post('/v1/challenges', 'reuse-1', { userId, ip: IP }, other2.apiKey);
    expect(elsewhere.status).toBe(404);
  });

  it('an error answer releases the key; an expired key is new', async () => {
    const userId = await newUser();
    const unknownUser = await post('/v1/challenges', 'err-1', {
      userId: '7c9e6679-7425-40de-944b-e07fc1f90ae7',
      ip: IP,
    });
    expect(unknownUser.status).toBe(404);
    // Released: the same key can carry a corrected request.
    const started = await post('/v1/challenges', 'err-1', { userId, ip: IP });
    expect(started.status).toBe(200);
    const [row] = await h.sql`select response_status from idempotency_keys where key = 'err-1'`;
    expect(row?.response_status).toBe(200);

    h.clock.advance(24 * 60 * 60 * 1000 + 1_000);
    const later = await post('/v1/challenges', 'err-1', { userId, ip: IP });
    expect(later.status).toBe(200);
    expect(later.headers.get('idempotent-replayed')).toBeNull();
    expect(later.body.challenge.id).not.toBe(started.body.challenge.id);
    expect(await countChallenges(userId)).toBe(2);
  });
});

describe('Idempotency-Key on resend and top-up', () => {
  it('a resend repeated with its key sends one code; a 429 under a key releases it', async () => {
    const userId = await newUser();
    const start = await post('/v1/challenges', null, { userId, ip: IP });
    const id = start.body.challenge.id;
    const tooSoon = await post(`/v1/challenges/${id}/resend`, 'resend-1');
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.body.code).toBe('resend_too_soon');
    await h.travel(31_000);
    const first = await post(`/v1/challenges/${id}/resend`, 'resend-1');
    expect(first.status).toBe(202);
    const again = await post(`/v1/challenges/${id}/resend`, 'resend-1');
    expect(again.status).toBe(202);
    expect(again.text).toBe(first.text);
    await h.travel(31_000);
    const third = await post(`/v1/challenges/${id}/resend`, 'resend-1');
    expect(third.text).toBe(first.text);
    expect(await sendsOf(userId)).toHaveLength(2);
  });

  it('a top-up repeated with its key credits once, per platform', async () => {
    const before = await h.request('GET', `/v1/organizations/${org.id}`, { key: ADMIN_KEY });
    const path = `/v1/organizations/${org.id}/sms-credits`;
    const answers = await Promise.all(
      Array.from({ length: 10 }, () => post(path, 'topup-1', { amount: 7 }, ADMIN_KEY)),
    );
    const ok = answers.filter((a) => a.status === 201);
    expect(answers.every((a) => a.status === 201 || a.status === 409)).toBe(true);
    expect(new Set(ok.map((a) => a.text)).size).toBe(1);
    const after = await h.request('GET', `/v1/organizations/${org.id}`, { key: ADMIN_KEY });
    expect(after.body.smsBalance - before.body.smsBalance).toBe(7);
    const replay = await post(path, 'topup-1', { amount: 7 }, ADMIN_KEY);
    expect(replay.status).toBe(201);
    expect(replay.body).toEqual(ok[0]!.body);
    const reused = await post(path, 'topup-1', { amount: 8 }, ADMIN_KEY);
    expect(reused.status).toBe(422);
    const [ledger] = await h.sql<{ n: number }[]>`
      select count(*)::int as n from sms_ledger where organization_id = ${org.id}
        and reason = 'top_up' and delta = 7`;
    expect(ledger!.n).toBe(1);
  });
});

describe('the OpenAPI document', () => {
  it('documents the optional Idempotency-Key header on the three routes', async () => {
    const doc = (await h.request('GET', '/openapi.json')).body;
    const routes: [string, string][] = [
      ['/v1/challenges', 'post'],
      ['/v1/challenges/{id}/resend', 'post'],
      ['/v1/organizations/{orgId}/sms-credits', 'post'],
    ];
    for (const [path, method] of routes) {
      const params = doc.paths[path][method].parameters as { name: string; in: string }[];
      expect(params).toContainEqual(
        expect.objectContaining({ name: 'idempotency-key', in: 'header', required: false }),
      );
    }
  });
});
