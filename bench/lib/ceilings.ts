/**
 * The substrate's own ceilings, each in a child process of its own, driven over IPC:
 *   hono     raw Hono on @hono/node-server answering a JSON POST with 202
 *   producer BullMQ adds with the product's connection, queue and job options
 *   worker   a BullMQ worker with a no-op processor, the product's worker options
 *   pg       a 4-statement debit-and-record transaction on postgres.js
 * The product adds its own work on top of each; it cannot beat them.
 *
 * And the floor's own parts, the product's functions themselves, each alone:
 *   commit   createChallenge: the statement that commits a challenge and its send
 *   claim    claimSend: the claim-and-debit statement, on the sends `commit` made
 *   twilio   one messages.create through createTwilioProvider (the real SDK) to the fake
 *   outcome  recordSendAccepted: the statement that records the provider took it
 *   read     getChallenge: verify's read of the challenge and its send
 *   approve  approveChallenge: verify's approval and trusted device, on pending challenges
 *   wrong    recordWrongCode: verify's count of a wrong code, on pending challenges, each once
 *   login    loadLoginContext: the common login's read of the user and the device
 *   signin   loadContextRecordingSkip: that read and the signed_in audit row, in one statement
 *   window   RedisWindows.run (apps/api): the common login's one rate-limit script call
 *
 * And the raw floor's parts: hand-written minimal statements against the product's schema, the
 * least any correct program must spend on the same step (raw Hono and raw BullMQ above are theirs
 * too):
 *   raw-commit   one INSERT of a challenge and its send row
 *   raw-claim    one statement that debits the balance, writes the ledger row, marks the send
 *   raw-twilio   one messages.create through the twilio SDK, a minimal undici client, to the fake
 *   raw-outcome  one UPDATE of the send's outcome
 *   raw-read     one point read of a challenge and its send's code hash
 *   raw-approve  one statement that approves a challenge and writes the device row
 *   raw-wrong    one statement that counts a wrong code on the challenge and on the user's run
 *   raw-login    one point read of the user and the device by token hash
 *   raw-signin   that read and the signed_in audit row, in one statement
 *   raw-window   one Redis script (INCR, PEXPIRE on the first point)
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { RedisWindows } from '@twofa/api/fixed-window';
import { codeMessage, generateCode, hashSecret } from '@twofa/core';
import {
  approveChallenge,
  claimSend,
  createChallenge,
  createDb,
  getChallenge,
  loadContextRecordingSkip,
  loadLoginContext,
  recordSendAccepted,
  recordWrongCode,
} from '@twofa/db';
import { createRedis, createSendCodeQueue, enqueueSendCode, SEND_CODE_QUEUE } from '@twofa/queue';
import { createTwilioProvider } from '@twofa/sms';
import { Worker } from 'bullmq';
import { Hono } from 'hono';
import postgres from 'postgres';
import twilio from 'twilio';
import type RequestClient from 'twilio/lib/base/RequestClient';
import { Pool } from 'undici';
import {
  APP_SECRET,
  FAKE_TWILIO_ACCOUNT_SID,
  FAKE_TWILIO_AUTH_TOKEN,
  FLOOR_IP,
  TWILIO_FROM,
} from './constants.ts';

export type CeilingCommand =
  /** `limit`: at most this many ops (parts that work on what an earlier part left). */
  { cmd: 'run'; durationS: number; limit?: number } | { cmd: 'stats' } | { cmd: 'reset' };

export type CeilingEvent =
  | { type: 'ready'; port?: number }
  | {
      type: 'ran';
      count: number;
      startedAt: number;
      endedAt: number;
      errors: number;
      firstError?: string;
    }
  | { type: 'stats'; completed: number; lastAt: number };

const { values } = parseArgs({
  options: {
    mode: { type: 'string' },
    port: { type: 'string', default: '0' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    prefix: { type: 'string', default: 'twofa-bench' },
    db: { type: 'string', default: '' },
    pool: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '50' },
    accounts: { type: 'string', default: '10' },
    orgs: { type: 'string', default: '' },
    sink: { type: 'string', default: '' },
    callback: { type: 'string', default: '' },
  },
});

const send = (event: CeilingEvent) => process.send?.(event);
const onCommand = (handler: (cmd: CeilingCommand) => Promise<void> | void) =>
  process.on('message', (msg) => void handler(msg as CeilingCommand));
const concurrency = Number(values.concurrency);

/**
 * Runs `op` from `concurrency` loops for `durationS` seconds, or until it returns false (its
 * input ran out). The first error's message is kept for the report.
 */
async function closedLoop(durationS: number, op: () => Promise<unknown>) {
  const startedAt = Date.now();
  const until = startedAt + durationS * 1000;
  let count = 0;
  let errors = 0;
  let firstError: string | undefined;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        try {
          if ((await op()) === false) return;
          count++;
        } catch (error) {
          errors++;
          firstError ??= (error as Error).message;
        }
      }
    }),
  );
  return { count, errors, startedAt, endedAt: Date.now(), ...(firstError && { firstError }) };
}

async function hono() {
  const app = new Hono();
  app.post('/accept', async (c) => {
    const body = await c.req.json<{ userId?: string }>();
    return c.json({ accepted: true, userId: body.userId ?? null }, 202);
  });
  const server = serve({ fetch: app.fetch, port: Number(values.port), hostname: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const address = server.address();
  send({ type: 'ready', port: typeof address === 'object' && address ? address.port : 0 });
  process.once('SIGTERM', () => server.close(() => process.exit(0)));
}

async function producer() {
  const redis = createRedis(values.redis!, 'producer');
  const queue = createSendCodeQueue(redis, values.prefix!);
  await queue.waitUntilReady();
  send({ type: 'ready' });
  onCommand(async (cmd) => {
    if (cmd.cmd !== 'run') return;
    send({
      type: 'ran',
      ...(await closedLoop(cmd.durationS, () => enqueueSendCode(queue, randomUUID()))),
    });
  });
  process.once('SIGTERM', () => void queue.close().finally(() => process.exit(0)));
}

async function worker() {
  let completed = 0;
  let lastAt = 0;
  const w = new Worker(SEND_CODE_QUEUE, async () => 'sent', {
    connection: createRedis(values.redis!, 'worker'),
    prefix: values.prefix!,
    concurrency,
    lockDuration: 30_000,
    maxStalledCount: 2,
  });
  w.on('completed', () => {
    completed++;
    lastAt = Date.now();
  });
  await w.waitUntilReady();
  send({ type: 'ready' });
  onCommand((cmd) => {
    if (cmd.cmd === 'reset') completed = 0;
    if (cmd.cmd === 'stats') send({ type: 'stats', completed, lastAt });
  });
  process.once('SIGTERM', () => void w.close().finally(() => process.exit(0)));
}

async function pg() {
  const sql = postgres(values.db!, { max: Number(values.pool), onnotice: () => {} });
  const accounts = Number(values.accounts);
  await sql`create table if not exists bench_accounts (
    id int primary key, balance int not null check (balance >= 0), updated_at timestamptz)`;
  await sql`create table if not exists bench_sends (
    id uuid primary key, account_id int not null, status text not null, code_hash text,
    created_at timestamptz not null, updated_at timestamptz not null)`;
  await sql`create table if not exists bench_ledger (
    id bigserial primary key, account_id int not null, delta int not null, reason text not null,
    send_id uuid not null, balance_after int not null, created_at timestamptz not null,
    unique (send_id, reason))`;
  await sql`insert into bench_accounts (id, balance)
    select g, 1000000000 from generate_series(1, ${accounts}) g on conflict do nothing`;
  send({ type: 'ready' });
  let next = 0;
  // Check, debit, ledger, record: what the worker's one-statement claim does, as four.
  const tx = () =>
    sql.begin(async (t) => {
      const account = (next++ % accounts) + 1;
      const sendId = randomUUID();
      const now = new Date();
      const [row] = await t`select balance from bench_accounts where id = ${account} for update`;
      if (!row || row.balance < 1) throw new Error('no balance');
      const [debit] = await t`
        update bench_accounts set balance = balance - 1, updated_at = ${now}
        where id = ${account} returning balance`;
      await t`insert into bench_ledger (account_id, delta, reason, send_id, balance_after, created_at)
        values (${account}, -1, 'sms_sent', ${sendId}, ${debit!.balance}, ${now})`;
      await t`insert into bench_sends (id, account_id, status, code_hash, created_at, updated_at)
        values (${sendId}, ${account}, 'sending', ${'x'.repeat(43)}, ${now}, ${now})`;
    });
  onCommand(async (cmd) => {
    if (cmd.cmd !== 'run') return;
    send({ type: 'ran', ...(await closedLoop(cmd.durationS, tx)) });
  });
  process.once('SIGTERM', () => void sql.end({ timeout: 2 }).finally(() => process.exit(0)));
}

/** Runs `op` in a closed loop on each `run` command, until SIGTERM closes the pool. */
function serveRuns(
  close: () => Promise<void>,
  prepare: (limit: number | undefined) => Promise<void>,
  op: () => Promise<unknown>,
) {
  onCommand(async (cmd) => {
    if (cmd.cmd !== 'run') return;
    await prepare(cmd.limit);
    send({ type: 'ran', ...(await closedLoop(cmd.durationS, op)) });
  });
  process.once('SIGTERM', () => void close().finally(() => process.exit(0)));
  send({ type: 'ready' });
}

/** The product's challenge-commit statement, for the seeded users of the bench's organizations. */
async function commit() {
  const db = createDb(values.db!, { max: Number(values.pool), applicationName: 'bench-floor' });
  const orgs = values.orgs!.split(',').filter(Boolean);
  const users = await db.sql<{ id: string; organizationId: string; phone: string }[]>`
    select id, organization_id as "organizationId", phone from users
    where organization_id = any(${orgs}::uuid[]) and phone is not null`;
  if (!users.length) throw new Error('commit: no users with a phone in the given organizations');
  let next = 0;
  serveRuns(
    () => db.close(),
    async () => {},
    async () => {
      const user = users[next++ % users.length]!;
      const row = await createChallenge(db.sql, {
        organizationId: user.organizationId,
        userId: user.id,
        ip: FLOOR_IP,
        phone: user.phone,
        sendId: randomUUID(),
        now: new Date(),
      });
      if (!row) throw new Error('createChallenge stored nothing');
    },
  );
}

/** The floor's own sends in `status`, oldest first: what the next part works on. */
async function floorSends(
  sql: ReturnType<typeof createDb>['sql'],
  status: string,
  limit: number | undefined,
) {
  return (await floorSendRows(sql, status, limit)).map((r) => r.id);
}

/** The same, with each send's organization (a raw statement may carry it, as a job could). */
async function floorSendRows(
  sql: ReturnType<typeof createDb>['sql'],
  status: string,
  limit: number | undefined,
) {
  const rows = await sql<{ id: string; organizationId: string }[]>`
    select s.id, s.organization_id as "organizationId" from sms_sends s
    join challenges c on c.id = s.challenge_id
    where s.status = ${status} and c.ip = ${FLOOR_IP} order by s.created_at
    limit ${limit ?? null}`;
  return rows.reverse();
}

/** The floor's own pending challenges with a send, oldest first (verify's parts). */
async function floorChallenges(
  sql: ReturnType<typeof createDb>['sql'],
  limit: number | undefined,
  options: { untried?: boolean } = {},
) {
  const rows = await sql<{ id: string; organizationId: string; sendId: string }[]>`
    select c.id, c.organization_id as "organizationId", c.current_send_id as "sendId"
    from challenges c
    where c.ip = ${FLOOR_IP} and c.status = 'pending' and c.current_send_id is not null
      ${options.untried ? sql`and c.wrong_attempts = 0` : sql``}
    order by c.created_at limit ${limit ?? null}`;
  return rows.reverse();
}

/** The product's claim-and-debit statement on the sends `commit` queued, each once. */
async function claim() {
  const db = createDb(values.db!, { max: Number(values.pool), applicationName: 'bench-floor' });
  let queued: string[] = [];
  serveRuns(
    () => db.close(),
    async (limit) => {
      queued = await floorSends(db.sql, 'queued', limit);
    },
    async () => {
      const sendId = queued.pop();
      if (!sendId) return false;
      // As the worker does: a fresh code, only its HMAC stored.
      const codeHash = hashSecret(APP_SECRET, 'code', generateCode(), sendId);
      const claimed = await claimSend(db.sql, { sendId, codeHash });
      if (claimed?.outcome !== 'sending') throw new Error(`claim: ${claimed?.outcome ?? 'none'}`);
    },
  );
}

/** The product's outcome record on the sends `claim` left sending, each once. */
async function outcome() {
  const db = createDb(values.db!, { max: Number(values.pool), applicationName: 'bench-floor' });
  let sending: string[] = [];
  serveRuns(
    () => db.close(),
    async (limit) => {
      sending = await floorSends(db.sql, 'sending', limit);
    },
    async () => {
      const sendId = sending.pop();
      if (!sendId) return false;
      await recordSendAccepted(db.sql, {
        sendId,
        providerSid: `SM${randomBytes(16).toString('hex')}`,
      });
    },
  );
}

/** One messages.create per op through the product's Twilio provider, to the bench's fake. */
async function twilioSend() {
  const provider = createTwilioProvider({
    accountSid: FAKE_TWILIO_ACCOUNT_SID,
    authToken: FAKE_TWILIO_AUTH_TOKEN,
    from: TWILIO_FROM,
    apiBaseUrl: values.sink!,
    statusCallbackBaseUrl: values.callback!,
  });
  let next = 0;
  serveRuns(
    async () => {},
    async () => {},
    async () => {
      const n = next++;
      await provider.send({
        to: `+35850${String(n % 1000).padStart(7, '0')}`,
        body: codeMessage(generateCode(), { locale: 'en', publicBaseUrl: values.callback! }),
        sendId: randomUUID(),
      });
    },
  );
}

type Db = ReturnType<typeof createDb>;
const floorDb = (): Db =>
  createDb(values.db!, { max: Number(values.pool), applicationName: 'bench-floor' });
const deviceHash = () => randomBytes(32).toString('base64url');
const deviceExpiry = () => new Date(Date.now() + 30 * 86_400_000);

/** The bench organizations' users with a phone: whom the commit parts start challenges for. */
async function phoneUsers(db: Db) {
  const orgs = values.orgs!.split(',').filter(Boolean);
  const users = await db.sql<{ id: string; organizationId: string; phone: string }[]>`
    select id, organization_id as "organizationId", phone from users
    where organization_id = any(${orgs}::uuid[]) and phone is not null`;
  if (!users.length) throw new Error('commit: no users with a phone in the given organizations');
  return users;
}

/** The raw commit: one INSERT of a challenge and its send row, nothing checked. */
async function rawCommit() {
  const db = floorDb();
  const users = await phoneUsers(db);
  let next = 0;
  serveRuns(
    () => db.close(),
    async () => {},
    async () => {
      const user = users[next++ % users.length]!;
      const now = new Date();
      const rows = await db.sql`
        with c as (
          insert into challenges (id, organization_id, user_id, status, phone, ip, expires_at,
            send_count, last_send_at, current_send_id, created_at, updated_at)
          values (${randomUUID()}, ${user.organizationId}, ${user.id}, 'pending', ${user.phone},
            ${FLOOR_IP}, ${new Date(now.getTime() + 600_000)}, 1, ${now}, ${randomUUID()}, ${now},
            ${now})
          returning id, organization_id, phone, current_send_id, created_at
        )
        insert into sms_sends (id, organization_id, challenge_id, seq, phone, created_at, updated_at)
        select current_send_id, organization_id, id, 1, phone, created_at, created_at from c
        returning id`;
      if (rows.length !== 1) throw new Error('raw commit stored nothing');
    },
  );
}

/** The raw claim: one statement debits the balance, writes the ledger row and marks the send. */
async function rawClaim() {
  const db = floorDb();
  let queued: { id: string; organizationId: string }[] = [];
  serveRuns(
    () => db.close(),
    async (limit) => {
      queued = await floorSendRows(db.sql, 'queued', limit);
    },
    async () => {
      const send = queued.pop();
      if (!send) return false;
      const codeHash = hashSecret(APP_SECRET, 'code', generateCode(), send.id);
      const rows = await db.sql`
        with debit as (
          update organizations set sms_balance = sms_balance - 1
          where id = ${send.organizationId} and sms_balance >= 1
          returning id, sms_balance
        ), ledger as (
          insert into sms_ledger (organization_id, delta, reason, send_id, balance_after, created_at)
          select id, -1, 'sms_sent', ${send.id}, sms_balance, now() from debit
        )
        update sms_sends set status = 'sending', code_hash = ${codeHash}, sending_at = now(),
          provider_attempts = provider_attempts + 1, updated_at = now()
        where id = ${send.id} and status = 'queued' and exists (select 1 from debit)
        returning id`;
      if (rows.length !== 1) throw new Error('raw claim: not claimed');
    },
  );
}

/** The raw outcome: one UPDATE. */
async function rawOutcome() {
  const db = floorDb();
  let sending: string[] = [];
  serveRuns(
    () => db.close(),
    async (limit) => {
      sending = await floorSends(db.sql, 'sending', limit);
    },
    async () => {
      const sendId = sending.pop();
      if (!sendId) return false;
      await db.sql`
        update sms_sends set status = 'sent', provider_sid = ${`SM${randomBytes(16).toString('hex')}`},
          updated_at = now()
        where id = ${sendId}`;
    },
  );
}

/**
 * The raw provider call: the twilio SDK's messages.create with the least request client that
 * does the job (an undici keep-alive pool to the fake's origin, the origin pointed at the fake, the SDK's form data
 * encoded as is), and a status callback URL as the product's messages carry. The SDK's own
 * default client (axios) costs about three times as much CPU: not the least a program must spend.
 */
async function rawTwilio() {
  const base = new URL(values.sink!);
  const auth = `Basic ${Buffer.from(`${FAKE_TWILIO_ACCOUNT_SID}:${FAKE_TWILIO_AUTH_TOKEN}`).toString('base64')}`;
  // One keep-alive connection per loop to the one origin.
  const pool = new Pool(base.origin, { connections: concurrency });
  const httpClient = {
    async request(opts: RequestClient.RequestOptions<unknown>) {
      const uri = new URL(opts.uri);
      const form = new URLSearchParams();
      for (const [key, value] of Object.entries(opts.data ?? {})) form.append(key, String(value));
      const res = await pool.request({
        path: `${uri.pathname}${uri.search}`,
        method: opts.method.toUpperCase() as 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: auth },
        body: form.toString(),
      });
      return { statusCode: res.statusCode, body: await res.body.text(), headers: res.headers };
    },
  };
  const client = twilio(FAKE_TWILIO_ACCOUNT_SID, FAKE_TWILIO_AUTH_TOKEN, {
    httpClient: httpClient as unknown as RequestClient,
  });
  let next = 0;
  serveRuns(
    () => pool.close(),
    async () => {},
    async () => {
      const n = next++;
      const sendId = randomUUID();
      const message = await client.messages.create({
        to: `+35850${String(n % 1000).padStart(7, '0')}`,
        from: TWILIO_FROM,
        body: `Your verification code is ${generateCode()}. It expires in 10 minutes.`,
        statusCallback: `${values.callback}/webhooks/twilio/status?sendId=${sendId}`,
      });
      if (!message.sid) throw new Error('raw twilio: no sid');
    },
  );
}

/** Verify's read, raw or the product's, over the floor's challenges (read only, round robin). */
async function verifyRead(raw: boolean) {
  const db = floorDb();
  const items = await floorChallenges(db.sql, 5_000);
  if (!items.length) throw new Error('read: no floor challenges');
  let next = 0;
  serveRuns(
    () => db.close(),
    async () => {},
    async () => {
      const item = items[next++ % items.length]!;
      if (raw) {
        const [row] = await db.sql`
          select c.status, c.user_id, c.expires_at, c.wrong_attempts, c.current_send_id,
            s.code_hash
          from challenges c left join sms_sends s on s.id = c.current_send_id
          where c.organization_id = ${item.organizationId} and c.id = ${item.id}`;
        if (!row) throw new Error('raw read: none');
      } else if (!(await getChallenge(db.sql, item.organizationId, item.id))) {
        throw new Error('getChallenge: none');
      }
    },
  );
}

/** Verify's approval, raw or the product's, on the floor's pending challenges, each once. */
async function approve(raw: boolean) {
  const db = floorDb();
  let pending: { id: string; organizationId: string; sendId: string }[] = [];
  serveRuns(
    () => db.close(),
    async (limit) => {
      pending = await floorChallenges(db.sql, limit);
    },
    async () => {
      const item = pending.pop();
      if (!item) return false;
      if (raw) {
        const rows = await db.sql`
          with approved as (
            update challenges set status = 'approved', approved_at = now(), updated_at = now()
            where organization_id = ${item.organizationId} and id = ${item.id}
              and status = 'pending' and expires_at > now()
            returning organization_id, user_id
          )
          insert into trusted_devices (organization_id, user_id, token_hash, expires_at, created_at)
          select organization_id, user_id, ${deviceHash()}, ${deviceExpiry()}, now() from approved
          returning id`;
        if (rows.length !== 1) throw new Error('raw approve: not approved');
      } else {
        const approval = await approveChallenge(db.sql, {
          organizationId: item.organizationId,
          challengeId: item.id,
          sendId: item.sendId,
          deviceTokenHash: deviceHash(),
          deviceExpiresAt: deviceExpiry(),
        });
        if (!approval) throw new Error('approveChallenge: not approved');
      }
    },
  );
}

/**
 * Verify's count of a wrong code, raw or the product's, on the floor's untried pending
 * challenges, each once (they stay pending, for the approvals after). The product's user lock
 * is set out of reach, as the raw statement has none: both count the user's run.
 */
async function wrongCode(raw: boolean) {
  const db = floorDb();
  let pending: { id: string; organizationId: string }[] = [];
  serveRuns(
    () => db.close(),
    async (limit) => {
      pending = await floorChallenges(db.sql, limit, { untried: true });
    },
    async () => {
      const item = pending.pop();
      if (!item) return false;
      if (raw) {
        const rows = await db.sql`
          with c as (
            update challenges set wrong_attempts = wrong_attempts + 1, updated_at = now()
            where organization_id = ${item.organizationId} and id = ${item.id}
              and status = 'pending' and expires_at > now() and wrong_attempts < 5
            returning user_id
          )
          update users u set consecutive_code_failures = u.consecutive_code_failures + 1,
            updated_at = now()
          from c where u.organization_id = ${item.organizationId} and u.id = c.user_id
          returning u.id`;
        if (rows.length !== 1) throw new Error('raw wrong: not counted');
      } else {
        const counted = await recordWrongCode(db.sql, {
          organizationId: item.organizationId,
          challengeId: item.id,
          maxConsecutiveFailures: 1_000_000_000,
        });
        if (!counted) throw new Error('recordWrongCode: not counted');
      }
    },
  );
}

type FloorDevice = { organizationId: string; userId: string; tokenHash: string };

/** The bench's trusted devices: whose logins the login parts read. */
async function floorDevices(db: Db) {
  const devices = await db.sql<FloorDevice[]>`
    select organization_id as "organizationId", user_id as "userId", token_hash as "tokenHash"
    from trusted_devices where revoked_at is null and expires_at > now() limit 2000`;
  if (!devices.length) throw new Error('login: no trusted devices');
  return devices;
}

/** Runs `op` on the bench's trusted devices, round robin, a login each. */
async function serveLogins(op: (sql: Db['sql'], device: FloorDevice) => Promise<void>) {
  const db = floorDb();
  const devices = await floorDevices(db);
  let next = 0;
  serveRuns(
    () => db.close(),
    async () => {},
    () => op(db.sql, devices[next++ % devices.length]!),
  );
}

/** The raw read of the user and the presented device by token hash. */
const rawUserAndDevice = (sql: Db['sql'], d: FloorDevice) => sql`
  select u.id, u.phone, u.two_factor_disabled, u.locked_until,
    d.user_id as device_user, d.expires_at, d.revoked_at
  from users u left join trusted_devices d on d.token_hash = ${d.tokenHash}
  where u.organization_id = ${d.organizationId} and u.id = ${d.userId}`;

/**
 * The common login as it must be done: the read of the user and the presented device, and the
 * signed_in row, in one statement; raw, or the product's (loadContextRecordingSkip).
 */
function signIn(raw: boolean) {
  return serveLogins(async (sql, d) => {
    if (raw) {
      const [row] = await sql`
        with u as (${rawUserAndDevice(sql, d)}), a as (
          insert into audit_events (organization_id, type, actor, ip, data)
          select ${d.organizationId}::uuid, 'signed_in', 'user', ${FLOOR_IP}::text,
            jsonb_build_object('userId', u.id, 'method', 'trusted_device')
          from u where u.device_user = u.id and u.revoked_at is null and u.expires_at > now()
          returning 1
        )
        select u.*, exists (select 1 from a) as recorded from u`;
      if (!row?.recorded) throw new Error('raw signin: not recorded');
      return;
    }
    const loaded = await loadContextRecordingSkip(sql, {
      organizationId: d.organizationId,
      userId: d.userId,
      deviceTokenHash: d.tokenHash,
      ip: FLOOR_IP,
      skip: { reason: 'trusted_device', facts: 'trusted_device' },
    });
    if (!loaded?.recorded) throw new Error('loadContextRecordingSkip: not recorded');
  });
}

/** The common login's read of the user and the presented device, raw or the product's. */
function loginRead(raw: boolean) {
  return serveLogins(async (sql, d) => {
    if (raw) {
      const [row] = await rawUserAndDevice(sql, d);
      if (!row) throw new Error('raw login read: none');
      return;
    }
    const ctx = await loadLoginContext(sql, d.organizationId, { userId: d.userId }, d.tokenHash);
    if (!ctx?.device) throw new Error('loadLoginContext: no device');
  });
}

/** One Redis script a request: the raw fixed window, or the product's (RedisWindows). */
async function rateWindow(raw: boolean) {
  const redis = createRedis(values.redis!, 'producer');
  if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
  const windows = new RedisWindows(redis);
  redis.defineCommand('benchWindow', {
    numberOfKeys: 1,
    lua: `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`,
  });
  const scripted = redis as typeof redis & {
    benchWindow(key: string, ms: number): Promise<number>;
  };
  let next = 0;
  serveRuns(
    async () => {
      redis.disconnect();
    },
    async () => {},
    async () => {
      // As many clients as a busy minute has: 1,000 addresses, round robin.
      const key = `${values.prefix}:floor-window:203.0.113.${next++ % 1000}`;
      if (raw) await scripted.benchWindow(key, 60_000);
      else {
        const [refused] = await windows.run({
          give: [],
          keep: [{ key, points: 1_000_000_000, durationMs: 60_000 }],
          take: [],
        });
        if (refused) throw new Error('RedisWindows refused');
      }
    },
  );
}

const modes: Record<string, () => Promise<void>> = {
  hono,
  producer,
  worker,
  pg,
  commit,
  claim,
  outcome,
  twilio: twilioSend,
  read: () => verifyRead(false),
  approve: () => approve(false),
  wrong: () => wrongCode(false),
  login: () => loginRead(false),
  signin: () => signIn(false),
  window: () => rateWindow(false),
  'raw-commit': rawCommit,
  'raw-claim': rawClaim,
  'raw-twilio': rawTwilio,
  'raw-outcome': rawOutcome,
  'raw-read': () => verifyRead(true),
  'raw-approve': () => approve(true),
  'raw-wrong': () => wrongCode(true),
  'raw-login': () => loginRead(true),
  'raw-signin': () => signIn(true),
  'raw-window': () => rateWindow(true),
};
const mode = modes[values.mode ?? ''];
if (!mode) throw new Error(`--mode must be one of ${Object.keys(modes).join(', ')}`);
await mode();
