import type { Sql } from '../client.ts';

export interface RetentionBatch {
  challenges: number;
  sends: number;
}

/**
 * Deletes one batch of finished challenges older than `retentionDays` (by the
 * database's clock) with their sends. Finished: approved, locked, failed or
 * canceled, or still `pending`/`phone_required` but expired before the cutoff
 * (no verify or resend can touch those again). A challenge with a send whose
 * outcome is still open (queued, sending, retrying, unknown) is kept: the
 * worker or the settle pass may still charge or refund it. The ledger and the
 * audit log are never touched: ledger lines keep the send id without a
 * foreign key. `for update skip locked` lets several workers run this at once,
 * each deleting other rows.
 */
export async function deleteFinishedChallenges(
  sql: Sql,
  input: { retentionDays: number; batchSize: number },
): Promise<RetentionBatch> {
  const { retentionDays, batchSize } = input;
  const [row] = await sql<RetentionBatch[]>`
    with doomed as (
      select c.id from challenges c
      where c.created_at < now() - make_interval(days => ${retentionDays}::int)
        and (c.status in ('approved', 'locked', 'failed', 'canceled')
          or c.expires_at < now() - make_interval(days => ${retentionDays}::int))
        -- Open sends are few and each status has its partial index: read them once, rather
        -- than the planner's seq scan of every send for a per-challenge probe.
        and c.id not in (
          select challenge_id from sms_sends where status in ('queued', 'sending', 'retrying')
          union all
          select challenge_id from sms_sends where status = 'unknown')
      order by c.created_at
      limit ${batchSize}
      for update of c skip locked
    ), sends as (
      delete from sms_sends s using doomed d where s.challenge_id = d.id
      returning s.id
    ), gone as (
      delete from challenges c using doomed d where c.id = d.id
      returning c.id
    )
    select (select count(*) from gone)::int as challenges,
      (select count(*) from sends)::int as sends`;
  return row ?? { challenges: 0, sends: 0 };
}
