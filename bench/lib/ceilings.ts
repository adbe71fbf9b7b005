/**
 * The substrate's own ceilings, each in a child process of its own, driven over IPC:
 *   hono     raw Hono on @hono/node-server answering a JSON POST with 202
 *   producer BullMQ adds with the product's connection, queue and job options
 *   worker   a BullMQ worker with a no-op processor, the product's worker options
 *   pg       a 4-statement debit-and-record transaction on postgres.js
 * The product adds its own work on top of each; it cannot beat them.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { createRedis, createSendCodeQueue, enqueueSendCode, SEND_CODE_QUEUE } from '@twofa/queue';
import { Worker } from 'bullmq';
import { Hono } from 'hono';
import postgres from 'postgres';

export type CeilingCommand =
  | { cmd: 'run'; durationS: number }
  | { cmd: 'stats' }
  | { cmd: 'reset' };

export type CeilingEvent =
  | { type: 'ready'; port?: number }
  | { type: 'ran'; count: number; startedAt: number; endedAt: number; errors: number }
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
  },
});

const send = (event: CeilingEvent) => process.send?.(event);
const onCommand = (handler: (cmd: CeilingCommand) => Promise<void> | void) =>
  process.on('message', (msg) => void handler(msg as CeilingCommand));
const concurrency = Number(values.concurrency);

/** Runs `op` from `concurrency` loops for `durationS` seconds. */
async function closedLoop(durationS: number, op: () => Promise<unknown>) {
  const startedAt = Date.now();
  const until = startedAt + durationS * 1000;
  let count = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        try {
          await op();
          count++;
        } catch {
          errors++;
        }
      }
    }),
  );
  return { count, errors, startedAt, endedAt: Date.now() };
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

const modes: Record<string, () => Promise<void>> = { hono, producer, worker, pg };
const mode = modes[values.mode ?? ''];
if (!mode) throw new Error(`--mode must be one of ${Object.keys(modes).join(', ')}`);
await mode();
