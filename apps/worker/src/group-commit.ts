import { isDatabaseUnavailable, type Sql } from '@twofa/db';

/**
 * Runs one guarded statement per item, the way the caller would alone, but
 * lets the items of concurrent jobs share a transaction and its commit.
 */
export interface Committer<I, O> {
  run(item: I): Promise<O>;
}

/**
 * Rejects every item of a batch whose connection failed before its commit was
 * answered: the batch may have committed or not, for all of its items alike.
 * Each caller finds out from the rows (a claim by its code's hash) or retries
 * an idempotent statement; never reads it as "nothing happened".
 */
export class BatchOutcomeUnknownError extends Error {
  override name = 'BatchOutcomeUnknownError';
  constructor(
    readonly size: number,
    cause: unknown,
  ) {
    super(
      `a group commit of ${size} lost its connection; it may have committed (${(cause as Error)?.message ?? String(cause)})`,
      { cause },
    );
  }
}

/**
 * An error Postgres itself answered for a statement of a live transaction
 * (a deadlock, a constraint): that transaction is rolled back for certain.
 * Anything else (a lost or ended connection, a server shutting down, an error
 * of the client library) leaves the commit in doubt.
 */
export function isStatementError(error: unknown): boolean {
  return (
    error instanceof Error &&
    error.name === 'PostgresError' &&
    typeof (error as { code?: unknown }).code === 'string' &&
    !isDatabaseUnavailable(error)
  );
}

/** Each item on its own statement and commit: the worker without group commit. */
export function directCommitter<I, O>(
  sql: Sql,
  statement: (sql: Sql, item: I) => Promise<O>,
): Committer<I, O> {
  return { run: (item) => statement(sql, item) };
}

export interface BatchReport {
  size: number;
  /**
   * alone: a batch of one, its statement run as without group commit; committed: one
   * transaction for all; rerun: rolled back by one item's error, each then run alone;
   * unknown: the commit is in doubt.
   */
  result: 'alone' | 'committed' | 'rerun' | 'unknown';
}

export interface GroupCommitOptions<I, O> {
  /**
   * A client of the batcher's own with one connection (`max: 1`): its statements, BEGIN
   * and COMMIT included, go down that connection in the order they are made. (postgres.js's
   * `sql.begin` waits for BEGIN's answer and, on a connection that closed, writes its
   * ROLLBACK to the closed socket, which throws outside any promise and ends the process;
   * `sql.reserve` loses connections when connecting fails.)
   */
  sql: Sql;
  /** One item's statement, exactly as it runs alone: it must hold its own guards. */
  statement(sql: Sql, item: I): Promise<O>;
  /**
   * A statement written first in each batch of several, before the items': to take the
   * rows the items will lock in one fixed order, so that two batches locking several
   * of the same rows wait for each other instead of deadlocking.
   */
  lockFirst?(sql: Sql, items: I[]): Promise<unknown>;
  /** Items per transaction at most. */
  maxBatch: number;
  onBatch?(report: BatchReport): void;
}

interface Waiting<I, O> {
  item: I;
  resolve(value: O): void;
  reject(error: unknown): void;
}

/**
 * Group commit: one batch in flight at a time. The first item goes at once;
 * items arriving meanwhile wait for it and go together as the next batch
 * (up to `maxBatch`), with no timer: an idle worker adds no delay.
 *
 * A batch of several runs in one transaction on one connection, its statements
 * pipelined in arrival order, so each sees the ones before it (two debits of
 * one organization take two credits, in order). Guarantees to each item:
 * - resolved: its statement committed, with the value it returned;
 * - rejected with its own statement's error: it did not commit. When one
 *   statement fails, Postgres rolls the whole transaction back, and every item
 *   of the batch is run again alone, so one bad row never fails its neighbours;
 * - rejected with `BatchOutcomeUnknownError`: the connection failed before the
 *   commit was answered, and it may have committed.
 * A batch of one runs its statement alone, as without group commit.
 */
export class GroupCommit<I, O> implements Committer<I, O> {
  readonly #options: GroupCommitOptions<I, O>;
  readonly #waiting: Waiting<I, O>[] = [];
  #running = false;

  constructor(options: GroupCommitOptions<I, O>) {
    if (!Number.isInteger(options.maxBatch) || options.maxBatch < 1) {
      throw new RangeError('maxBatch must be a positive integer');
    }
    // BEGIN and COMMIT are plain statements here: every statement must go down one connection.
    if (options.sql.options.max !== 1) {
      throw new RangeError('group commit needs a client of its own with one connection (max: 1)');
    }
    this.#options = options;
  }

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      if (!this.#running) {
        this.#running = true;
        // Items queued in this same turn (jobs woken together) join the first batch.
        queueMicrotask(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#waiting.length > 0) {
        await this.#runBatch(this.#waiting.splice(0, this.#options.maxBatch));
      }
    } finally {
      this.#running = false;
    }
  }

  async #runBatch(batch: Waiting<I, O>[]): Promise<void> {
    const { sql, statement, onBatch } = this.#options;
    // Settles one item by its statement run alone; never throws.
    const alone = (w: Waiting<I, O>) =>
      new Promise<O>((resolve) => resolve(statement(sql, w.item))).then(w.resolve, w.reject);
    if (batch.length === 1) {
      onBatch?.({ size: 1, result: 'alone' });
      await alone(batch[0] as Waiting<I, O>);
      return;
    }
    const outcome = await this.#transaction(batch);
    if (outcome.kind === 'rolled_back') {
      onBatch?.({ size: batch.length, result: 'rerun' });
      await Promise.all(batch.map(alone));
      return;
    }
    if (outcome.kind === 'unknown') {
      onBatch?.({ size: batch.length, result: 'unknown' });
      const unknown = new BatchOutcomeUnknownError(batch.length, outcome.error);
      for (const w of batch) w.reject(unknown);
      return;
    }
    const { results } = outcome;
    onBatch?.({ size: batch.length, result: 'committed' });
    batch.forEach((w, i) => {
      const result = results[i] as PromiseSettledResult<O>;
      if (result.status === 'fulfilled') w.resolve(result.value);
      else w.reject(result.reason);
    });
  }

  /**
   * BEGIN, the items' statements and COMMIT, written at once on the batcher's
   * one connection: one round trip. A statement Postgres refuses aborts the
   * transaction (the later ones fail with it) and COMMIT then answers ROLLBACK.
   * On a lost connection, what was not yet sent runs in order once the client
   * reconnects, outside any transaction: each statement's own guards still
   * hold, and its item has already heard that it may have committed.
   */
  async #transaction(batch: Waiting<I, O>[]): Promise<Outcome<O>> {
    const { sql, statement, lockFirst } = this.#options;
    const on = sql;
    // Each call below starts its query at its first `await`, in this order: postgres.js
    // sends them in that order, and answers them in it.
    const begun = (async () => {
      await on`begin`;
    })();
    const locked = lockFirst?.(
      on,
      batch.map((w) => w.item),
    );
    const items = batch.map((w) => {
      try {
        return statement(on, w.item);
      } catch (error) {
        // Thrown before its query started: that item alone fails, the batch goes on.
        return Promise.reject(error);
      }
    });
    const committed = (async () => (await on`commit`).command as string)();
    const all: Promise<unknown>[] = [begun, ...(locked ? [locked] : []), ...items, committed];
    let lostWith: (error: unknown) => void = () => {};
    const lost = new Promise<{ lost: unknown }>((resolve) => {
      lostWith = (error) => resolve({ lost: error });
    });
    for (const query of all) {
      query.catch((error: unknown) => {
        // Anything else leaves the connection usable: every query is then answered.
        if (isDatabaseUnavailable(error)) lostWith(error);
      });
    }
    const done = await Promise.race([
      Promise.allSettled(all).then((settled) => ({ settled })),
      lost,
    ]);
    if ('lost' in done) return { kind: 'unknown', error: done.lost };
    const [first, ...rest] = done.settled;
    const commit = rest[rest.length - 1] as PromiseSettledResult<string>;
    if (first?.status !== 'fulfilled') {
      // Without BEGIN each statement ran alone and may have committed.
      return { kind: 'unknown', error: first?.reason };
    }
    // COMMIT refused, or answered ROLLBACK (a statement failed): nothing committed.
    if (commit.status !== 'fulfilled' || commit.value !== 'COMMIT') return { kind: 'rolled_back' };
    const itemResults = rest.slice(locked ? 1 : 0, -1) as PromiseSettledResult<O>[];
    return { kind: 'committed', results: itemResults };
  }
}

type Outcome<O> =
  | { kind: 'committed'; results: PromiseSettledResult<O>[] }
  | { kind: 'rolled_back' }
  | { kind: 'unknown'; error: unknown };
