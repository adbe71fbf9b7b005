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
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { codeMessage, generateCode, hashSecret } from '@twofa/core';
import { claimSend, createChallenge, createDb, recordSendAccepted } from '@twofa/db';
import { createRedis, createSendCodeQueue, enqueueSendCode, SEND_CODE_QUEUE } from '@twofa/queue';
import { createTwilioProvider } from '@twofa/sms';
import { Worker } from 'bullmq';
import { Hono } from 'hono';
import postgres from 'postgres';
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
  const rows = await sql<{ id: string }[]>`
    select s.id from sms_sends s join challenges c on c.id = s.challenge_id
    where s.status = ${status} and c.ip = ${FLOOR_IP} order by s.created_at
    limit ${limit ?? null}`;
  return rows.map((r) => r.id).reverse();
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

const modes: Record<string, () => Promise<void>> = {
  hono,
  producer,
  worker,
  pg,
  commit,
  claim,
  outcome,
  twilio: twilioSend,
};
const mode = modes[values.mode ?? ''];
if (!mode) throw new Error(`--mode must be one of ${Object.keys(modes).join(', ')}`);
await mode();
