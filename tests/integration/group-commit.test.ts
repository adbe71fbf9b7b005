/**
 * The worker's group commit (apps/worker/src/group-commit.ts) on real
 * Postgres, with the product's own claim statement: batches form while one is
 * in flight, share one transaction, keep each statement's guards and order,
 * isolate one item's error, and report a lost commit to every item.
 */
import { randomUUID } from 'node:crypto';
import {
  type ClaimedSend,
  claimSend,
  createDb,
  type Database,
  findOwnClaim,
  isDatabaseUnavailable,
  lockOrganizationsOfSends,
  type Sql,
} from '@twofa/db';
import {
  BatchOutcomeUnknownError,
  type BatchReport,
  GroupCommit,
  isStatementError,
} from '@twofa/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleep, startTcpProxy, viaProxy, withHarness } from '../support/index.ts';

const h = withHarness({ worker: false });
let db: Database;
/** The batchers' own client: one connection, as the worker gives each batcher. */
let one: Database;

beforeAll(() => {
  db = createDb(h.databaseUrl, { max: 3 });
  one = createDb(h.databaseUrl, { max: 1 });
});
afterAll(async () => {
  await Promise.all([db?.close(), one?.close()]);
});

let phoneCounter = 0;

/** An organization with `credits`, and `count` challenges whose sends wait queued (no worker runs). */
async function queuedSends(credits: number, count: number) {
  const org = await h.createOrganization({ name: `Clinic ${credits}/${count}`, country: 'FI' });
  if (credits > 0) await h.topUp(org.id, credits);
  await h.enableTwoFactor(org.apiKey);
  const sendIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const user = await h.createUser(org.apiKey, {
      email: `u${++phoneCounter}@example.com`,
      phone: `+3584010${String(phoneCounter).padStart(5, '0')}`,
    });
    const res = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user.id, ip: '198.51.100.7' },
    });
    expect(res.body.challenge?.id, JSON.stringify(res.body)).toBeTruthy();
    const [send] = await h.sql<{ id: string }[]>`
      select current_send_id as id from challenges where id = ${res.body.challenge.id}`;
    sendIds.push(send!.id);
  }
  return { orgId: org.id, sendIds };
}

function claims(reports: BatchReport[], maxBatch = 50) {
  return new GroupCommit<{ sendId: string; codeHash: string }, ClaimedSend | null>({
    sql: one.sql,
    statement: claimSend,
    maxBatch,
    onBatch: (report) => reports.push(report),
  });
}

const hashOf = (sendId: string) => `hash-${sendId}`;

describe('group commit', () => {
  it('claims concurrent sends of one organization in one transaction, each debited once, in order', async () => {
    const { orgId, sendIds } = await queuedSends(4, 6);
    const reports: BatchReport[] = [];
    const batcher = claims(reports);
    const results = await Promise.all(
      sendIds.map((sendId) => batcher.run({ sendId, codeHash: hashOf(sendId) })),
    );
    expect(reports).toEqual([{ size: 6, result: 'committed' }]);
    // Four credits: the first four in arrival order are charged, 3, 2, 1, 0 left; the rest find none.
    expect(results.map((r) => r?.outcome)).toEqual([
      'sending',
      'sending',
      'sending',
      'sending',
      'insufficient_balance',
      'insufficient_balance',
    ]);
    expect(results.map((r) => r?.balance)).toEqual([3, 2, 1, 0, null, null]);
    const ledger = await h.sql<{ sendId: string; balanceAfter: number; xmin: string }[]>`
      select send_id as "sendId", balance_after as "balanceAfter", xmin::text as xmin
      from sms_ledger where organization_id = ${orgId} and reason = 'sms_sent'
      order by created_at`;
    expect(ledger.map((l) => l.sendId)).toEqual(sendIds.slice(0, 4));
    expect(ledger.map((l) => l.balanceAfter)).toEqual([3, 2, 1, 0]);
    // One transaction wrote them all.
    expect(new Set(ledger.map((l) => l.xmin)).size).toBe(1);
    const sends = await h.sql<{ id: string; status: string; codeHash: string | null }[]>`
      select id, status, code_hash as "codeHash" from sms_sends where id in ${h.sql(sendIds)}`;
    for (const s of sends) expect(s.codeHash).toBe(hashOf(s.id));
    // The guards hold inside a batch as alone: a second claim of the same sends takes nothing.
    const again = await Promise.all(
      sendIds.map((sendId) => batcher.run({ sendId, codeHash: 'another' })),
    );
    expect(again).toEqual(sendIds.map(() => null));
    const [org] = await h.sql<{ balance: number }[]>`
      select sms_balance as balance from organizations where id = ${orgId}`;
    expect(org!.balance).toBe(0);
  });

  it('leaves the challenge row unwritten when a claim is charged; fails it when there is no credit', async () => {
    const { sendIds } = await queuedSends(1, 2);
    const challengeOf = async (sendId: string) => {
      const [row] = await h.sql<{ xmin: string; status: string; failureReason: string | null }[]>`
        select c.xmin::text as xmin, c.status, c.failure_reason as "failureReason"
        from challenges c join sms_sends s on s.challenge_id = c.id where s.id = ${sendId}`;
      return row!;
    };
    const before = await Promise.all(sendIds.map(challengeOf));
    const charged = await claimSend(db.sql, { sendId: sendIds[0]!, codeHash: hashOf(sendIds[0]!) });
    expect(charged?.outcome).toBe('sending');
    // The common claim touches the send, the balance and the ledger: no new challenge version.
    expect(await challengeOf(sendIds[0]!)).toEqual(before[0]);
    const broke = await claimSend(db.sql, { sendId: sendIds[1]!, codeHash: hashOf(sendIds[1]!) });
    expect(broke?.outcome).toBe('insufficient_balance');
    expect(await challengeOf(sendIds[1]!)).toMatchObject({
      status: 'failed',
      failureReason: 'sms_balance_exhausted',
    });
  });

  it('sends the first item at once and gathers the ones that arrive while it runs, up to maxBatch', async () => {
    const { sendIds } = await queuedSends(10, 6);
    const reports: BatchReport[] = [];
    const batcher = claims(reports, 3);
    const first = batcher.run({ sendId: sendIds[0]!, codeHash: hashOf(sendIds[0]!) });
    // The first batch is in flight (its statement written) before the others arrive.
    await new Promise((resolve) => setImmediate(resolve));
    const rest = sendIds
      .slice(1)
      .map((sendId) => batcher.run({ sendId, codeHash: hashOf(sendId) }));
    const results = await Promise.all([first, ...rest]);
    expect(reports.map((r) => r.size)).toEqual([1, 3, 2]);
    expect(results.map((r) => r?.outcome)).toEqual(sendIds.map(() => 'sending'));
  });

  it("runs every item alone again when one item's statement fails, so only that one fails", async () => {
    const { orgId, sendIds } = await queuedSends(5, 3);
    const reports: BatchReport[] = [];
    const batcher = claims(reports);
    const items = [sendIds[0]!, 'not-a-uuid', sendIds[1]!, sendIds[2]!];
    const settled = await Promise.allSettled(
      items.map((sendId) => batcher.run({ sendId, codeHash: hashOf(sendId) })),
    );
    expect(reports).toEqual([{ size: 4, result: 'rerun' }]);
    expect(settled.map((s) => s.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    const failed = settled[1] as PromiseRejectedResult;
    expect(isStatementError(failed.reason)).toBe(true);
    expect((failed.reason as { code: string }).code).toBe('22P02');
    const ledger = await h.sql<{ sendId: string }[]>`
      select send_id as "sendId" from sms_ledger
      where organization_id = ${orgId} and reason = 'sms_sent'`;
    // The rolled-back batch left nothing behind: each good send debited once, by its rerun.
    expect(ledger.map((l) => l.sendId).sort()).toEqual([...sendIds].sort());
  });

  it('rejects every item with BatchOutcomeUnknownError when the connection dies mid-batch', async () => {
    const reports: BatchReport[] = [];
    const batcher = new GroupCommit<number, number>({
      sql: one.sql,
      maxBatch: 10,
      onBatch: (report) => reports.push(report),
      statement: async (sql, n) => {
        const [row] = await sql<{ n: number }[]>`
          select ${n}::int as n, pg_sleep(case when ${n}::int = 0 then 5 else 0 end)`;
        return row!.n;
      },
    });
    const settled = Promise.allSettled([0, 1, 2].map((n) => batcher.run(n)));
    // Ends the batch's backend from outside, as a server restart would.
    await h.waitFor(async () => {
      const killed = await h.sql`
        select pg_terminate_backend(pid) from pg_stat_activity
        where datname = current_database() and query like '%pg_sleep%' and pid <> pg_backend_pid()
          and state = 'active'`;
      return killed.length > 0 ? true : null;
    }, 10_000);
    const results = await settled;
    expect(reports).toEqual([{ size: 3, result: 'unknown' }]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const reason = (r as PromiseRejectedResult).reason;
      expect(reason).toBeInstanceOf(BatchOutcomeUnknownError);
      // Its cause stays readable: the worker retries it as an unavailable database.
      expect(isDatabaseUnavailable(reason)).toBe(true);
    }
    // The pool serves the next batch on a new connection.
    expect(await batcher.run(7)).toBe(7);
  });

  it('writes BEGIN, the statements and COMMIT at once: answers lost, the batch commits, each item hears it may have', async () => {
    const { sendIds } = await queuedSends(5, 3);
    const url = new URL(h.databaseUrl);
    const proxy = await startTcpProxy({ host: url.hostname, port: Number(url.port || 5432) });
    const proxied = createDb(viaProxy(h.databaseUrl, proxy.port), { max: 1 });
    try {
      // A connection describes each statement the first time it runs it, a round trip of its own.
      expect(await claimSend(proxied.sql, { sendId: randomUUID(), codeHash: 'x' })).toBeNull();
      const reports: BatchReport[] = [];
      const batcher = new GroupCommit<{ sendId: string; codeHash: string }, ClaimedSend | null>({
        sql: proxied.sql,
        statement: claimSend,
        maxBatch: 10,
        onBatch: (report) => reports.push(report),
      });
      // Statements reach Postgres, answers never come back; then the connection drops.
      proxy.stall();
      const settled = Promise.allSettled(
        sendIds.map((sendId) => batcher.run({ sendId, codeHash: hashOf(sendId) })),
      );
      await sleep(500);
      await proxy.cut();
      const results = await settled;
      expect(reports).toEqual([{ size: 3, result: 'unknown' }]);
      for (const r of results) {
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(BatchOutcomeUnknownError);
      }
      // It did commit, all of it: each claim is found by its own code hash.
      for (const sendId of sendIds) {
        const own = await findOwnClaim(db.sql, { sendId, codeHash: hashOf(sendId) });
        expect(own?.claimed?.outcome).toBe('sending');
      }
    } finally {
      await proxied.close();
      await proxy.close();
    }
  });

  it('locks the organizations of a batch in one order, so crossed batches wait instead of deadlocking', async () => {
    const x = await queuedSends(5, 2);
    const y = await queuedSends(5, 2);
    type Item = { sendId: string; codeHash: string } | 'pause';
    // A claim of X, a pause, a claim of Y; the other batch the other way round. Claiming as
    // they go, each would hold one organization and wait for the other's.
    const statement = (sql: Sql, item: Item) =>
      item === 'pause' ? sql`select pg_sleep(0.3)` : claimSend(sql, item);
    const lockFirst = (sql: Sql, items: Item[]) =>
      lockOrganizationsOfSends(
        sql,
        items.flatMap((i) => (i === 'pause' ? [] : [i.sendId])),
      );
    const other = createDb(h.databaseUrl, { max: 1 });
    try {
      const reports: BatchReport[] = [];
      const batchers = [one, other].map(
        (d) =>
          new GroupCommit<Item, unknown>({
            sql: d.sql,
            statement,
            lockFirst,
            maxBatch: 10,
            onBatch: (r) => reports.push(r),
          }),
      );
      const claim = (sendId: string) => ({ sendId, codeHash: hashOf(sendId) });
      const [a, b] = batchers as [GroupCommit<Item, unknown>, GroupCommit<Item, unknown>];
      const runs = [
        ...[claim(x.sendIds[0]!), 'pause' as const, claim(y.sendIds[0]!)].map((i) => a.run(i)),
        ...[claim(y.sendIds[1]!), 'pause' as const, claim(x.sendIds[1]!)].map((i) => b.run(i)),
      ];
      await Promise.all(runs);
      expect(reports).toEqual([
        { size: 3, result: 'committed' },
        { size: 3, result: 'committed' },
      ]);
      const [row] = await h.sql<{ debits: number }[]>`
        select count(*)::int as debits from sms_ledger
        where reason = 'sms_sent' and send_id in ${h.sql([...x.sendIds, ...y.sendIds])}`;
      expect(row!.debits).toBe(4);
    } finally {
      await other.close();
    }
  });

  it('takes only a client with one connection', () => {
    expect(() => new GroupCommit({ sql: db.sql, statement: claimSend, maxBatch: 5 })).toThrow(
      /max: 1/,
    );
  });

  it('tells statement errors from lost connections', () => {
    expect(isStatementError(new Error('plain'))).toBe(false);
    const server = Object.assign(new Error('deadlock'), { name: 'PostgresError', code: '40P01' });
    expect(isStatementError(server)).toBe(true);
    const shutdown = Object.assign(new Error('bye'), { name: 'PostgresError', code: '57P01' });
    expect(isStatementError(shutdown)).toBe(false);
    const closed = Object.assign(new Error('closed'), { code: 'CONNECTION_CLOSED' });
    expect(isStatementError(closed)).toBe(false);
  });
});
