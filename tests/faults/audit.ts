/**
 * The end-of-scenario audit every fault test runs: the promises of
 * docs/architecture.md checked over the database and what the fake Twilio
 * received, whatever was done to the processes in between.
 */
import type { FakeTwilioMessage } from '@twofa/testkit';
import type postgres from 'postgres';
import { expect } from 'vitest';
import { waitUntil } from '../support/index.ts';

/** An organization's sends recorded `sent`. */
export async function sentCount(sql: postgres.Sql, organizationId: string): Promise<number> {
  const [row] = await sql<{ n: number }[]>`
    select count(*)::int as n from sms_sends
    where organization_id = ${organizationId} and status = 'sent'`;
  return row?.n ?? 0;
}

/** Sends the workers' reconcilers put back on the queue so far, from their logs. */
export function reconcilerRequeued(
  workers: readonly { jsonLogs(): Record<string, unknown>[] }[],
): number {
  return workers
    .flatMap((w) => w.jsonLogs())
    .filter((l) => l.msg === 'reconciler acted')
    .reduce((n, l) => n + Number(l.requeued ?? 0), 0);
}

export const OPEN_STATES = ['queued', 'sending', 'retrying'] as const;

/** The send a message belongs to, from the status callback URL the worker gave it. */
export function sendIdOf(message: Pick<FakeTwilioMessage, 'statusCallback'>): string | null {
  if (!message.statusCallback) return null;
  return new URL(message.statusCallback).searchParams.get('sendId');
}

export function messagesPerSend(messages: readonly FakeTwilioMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const message of messages) {
    const id = sendIdOf(message) ?? '(none)';
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

/**
 * Polls until no send is queued, sending or retrying: the reconciler and the
 * retries have had their say. Names the stuck sends on timeout.
 */
export async function waitForSettled(
  sql: postgres.Sql,
  { timeoutMs = 60_000 }: { timeoutMs?: number } = {},
): Promise<void> {
  try {
    await waitUntil(
      'every send to reach a final state',
      async () => {
        const [row] = await sql<{ open: number }[]>`
          select count(*)::int as open from sms_sends where status in ${sql(OPEN_STATES)}`;
        return row?.open === 0;
      },
      { timeoutMs, intervalMs: 200 },
    );
  } catch (error) {
    const stuck = await sql`
      select id, status, provider_attempts, updated_at from sms_sends
      where status in ${sql(OPEN_STATES)} order by updated_at limit 10`;
    throw new Error(`${(error as Error).message}; stuck: ${JSON.stringify(stuck)}`);
  }
}

export interface AuditOptions {
  messages: readonly FakeTwilioMessage[];
  /** Challenge ids the API answered 200 for: each must exist. */
  acceptedChallengeIds?: Iterable<string>;
}

export interface AuditReport {
  challenges: number;
  sends: number;
  byStatus: Record<string, number>;
  debits: number;
  refunds: number;
  topUps: number;
  messages: number;
  /** Sends that went `unknown` and whose message the fake did receive. */
  unknownDelivered: number;
  /** Sends charged, then no longer needed before the provider took them: refunded. */
  notNeededRefunded: number;
}

interface SendRow {
  id: string;
  challengeId: string;
  organizationId: string;
  seq: number;
  status: string;
  errorCode: string | null;
  debits: number;
  refunds: number;
}

/**
 * Checks, over the whole test database:
 * - no send is left queued/sending/retrying, each has one final status;
 * - each send was debited at most once and refunded at most once, and only
 *   if debited (a send charged, then no longer needed while the provider was
 *   being retried, is refunded); its status agrees with its ledger rows and with the SMS the
 *   fake took for it (at most one per send, one for every sent send);
 * - SMS received == debits - refunds;
 * - per organization, balance == top-ups - debits + refunds == sum(ledger)
 *   == organizations.sms_balance, and no ledger row ever went below zero;
 * - each challenge has one send row per counted send, and every challenge
 *   the API accepted exists.
 * Collects every violation before failing, so one run shows them all.
 */
export async function auditSendPipeline(
  sql: postgres.Sql,
  options: AuditOptions,
): Promise<AuditReport> {
  const problems: string[] = [];
  const sends = await sql<SendRow[]>`
    select s.id, s.challenge_id as "challengeId", s.organization_id as "organizationId", s.seq,
      s.status, s.error_code as "errorCode",
      count(l.id) filter (where l.reason = 'sms_sent')::int as debits,
      count(l.id) filter (where l.reason = 'refund')::int as refunds
    from sms_sends s
    left join sms_ledger l on l.send_id = s.id
    group by s.id`;
  const perSend = messagesPerSend(options.messages);
  const known = new Set(sends.map((s) => s.id));
  for (const [sendId, count] of perSend) {
    if (!known.has(sendId)) problems.push(`${count} SMS for no known send (${sendId})`);
  }

  const byStatus: Record<string, number> = {};
  let unknownDelivered = 0;
  let notNeededRefunded = 0;
  for (const send of sends) {
    byStatus[send.status] = (byStatus[send.status] ?? 0) + 1;
    const sms = perSend.get(send.id) ?? 0;
    const where = `send ${send.id} (${send.status}, ${send.debits} debit, ${send.refunds} refund, ${sms} SMS)`;
    if (sms > 1) problems.push(`${where}: more than one SMS`);
    if (send.debits > 1 || send.refunds > 1) problems.push(`${where}: ledger repeated`);
    if (send.refunds > send.debits) problems.push(`${where}: refund without a debit`);
    switch (send.status) {
      case 'queued':
      case 'sending':
      case 'retrying':
        problems.push(`${where}: not final`);
        break;
      case 'sent':
      case 'delivered':
      case 'undelivered':
        if (send.debits !== 1 || send.refunds !== 0 || sms !== 1) {
          problems.push(`${where}: a sent SMS is one debit, no refund, one message`);
        }
        break;
      case 'unknown':
        // The SMS may or may not be out: charged, never refunded, never resent.
        if (send.debits !== 1 || send.refunds !== 0) {
          problems.push(`${where}: an unknown send stays charged`);
        }
        if (sms === 1) unknownDelivered++;
        break;
      case 'failed':
        // Refused or never reached the provider (refunded), or no longer needed: never
        // charged, or charged before a provider retry and refunded when it turned out unneeded.
        if (send.errorCode === 'not_needed' && send.debits !== send.refunds) {
          problems.push(`${where}: charged, then no longer needed, and never refunded`);
        } else if (send.debits !== send.refunds || sms !== 0) {
          problems.push(`${where}: a failed send is uncharged and unsent`);
        }
        if (send.errorCode === 'not_needed' && send.refunds === 1) notNeededRefunded++;
        break;
      case 'insufficient_balance':
        if (send.debits !== 0 || sms !== 0) {
          problems.push(`${where}: no credit means no debit and no SMS`);
        }
        break;
      default:
        problems.push(`${where}: unexpected status`);
    }
  }

  const debits = sends.reduce((n, s) => n + s.debits, 0);
  const refunds = sends.reduce((n, s) => n + s.refunds, 0);
  const messages = options.messages.length;
  if (messages !== debits - refunds) {
    problems.push(`SMS received ${messages} != debits ${debits} - refunds ${refunds}`);
  }

  const balances = await sql<
    {
      id: string;
      balance: number;
      ledgerSum: number;
      topUps: number;
      debits: number;
      refunds: number;
      lowest: number | null;
      latest: number | null;
      strays: number;
    }[]
  >`
    select o.id, o.sms_balance as balance,
      coalesce(sum(l.delta), 0)::int as "ledgerSum",
      coalesce(sum(l.delta) filter (where l.reason = 'top_up'), 0)::int as "topUps",
      count(l.id) filter (where l.reason = 'sms_sent')::int as debits,
      count(l.id) filter (where l.reason = 'refund')::int as refunds,
      min(l.balance_after)::int as lowest,
      (select l2.balance_after from sms_ledger l2 where l2.organization_id = o.id
        order by l2.id desc limit 1) as latest,
      count(l.id) filter (where l.reason <> 'top_up' and l.send_id is null)::int as strays
    from organizations o
    left join sms_ledger l on l.organization_id = o.id
    group by o.id`;
  let topUps = 0;
  for (const org of balances) {
    topUps += org.topUps;
    const where = `organization ${org.id}`;
    const expected = org.topUps - org.debits + org.refunds;
    if (org.balance !== expected || org.balance !== org.ledgerSum) {
      problems.push(
        `${where}: balance ${org.balance}, ledger sum ${org.ledgerSum}, top-ups - debits + refunds ${expected}`,
      );
    }
    if (org.balance < 0 || (org.lowest !== null && org.lowest < 0)) {
      problems.push(`${where}: balance went below zero (lowest ${org.lowest})`);
    }
    if (org.latest !== null && org.latest !== org.balance) {
      problems.push(`${where}: latest ledger balance ${org.latest} != balance ${org.balance}`);
    }
    if (org.strays) problems.push(`${where}: ${org.strays} debit/refund rows without a send`);
  }

  const challenges = await sql<
    {
      id: string;
      status: string;
      sendCount: number;
      rows: number;
      maxSeq: number | null;
      currentSeq: number | null;
      phone: string | null;
    }[]
  >`
    select c.id, c.status, c.send_count as "sendCount", c.phone,
      count(s.id)::int as rows, max(s.seq)::int as "maxSeq",
      (select s2.seq from sms_sends s2 where s2.id = c.current_send_id) as "currentSeq"
    from challenges c
    left join sms_sends s on s.challenge_id = c.id
    group by c.id`;
  for (const c of challenges) {
    const where = `challenge ${c.id} (${c.status})`;
    if (c.rows !== c.sendCount)
      problems.push(`${where}: ${c.rows} sends for send_count ${c.sendCount}`);
    if (c.sendCount > 0 && c.currentSeq !== c.maxSeq) {
      problems.push(`${where}: current send is not the latest`);
    }
  }
  if (options.acceptedChallengeIds) {
    const ids = new Set(challenges.map((c) => c.id));
    for (const id of options.acceptedChallengeIds) {
      if (!ids.has(id)) problems.push(`accepted challenge ${id} is not in the database`);
    }
  }

  expect(problems, problems.slice(0, 20).join('\n')).toEqual([]);
  return {
    challenges: challenges.length,
    sends: sends.length,
    byStatus,
    debits,
    refunds,
    topUps,
    messages,
    unknownDelivered,
    notNeededRefunded,
  };
}
