/**
 * A rule that is also a SQL guard (for race safety) is written twice: the pure rule in
 * packages/core (or beside its statement) and the WHERE clause of the statement in
 * packages/db. One fixture table per rule runs through both, against real Postgres, so
 * the two cannot drift: for every row, the rule admits exactly when the statement acts.
 * Each case runs in its own transaction, rolled back, so `now()` is one instant for the
 * read, the rule and the statement, and boundaries (30 s exactly, expiry at now) are exact.
 */
import { randomUUID } from 'node:crypto';
import {
  afterWrongCode,
  compileCidrs,
  decideSecondFactor,
  locksUser,
  MAX_SENDS_PER_CHALLENGE,
  MAX_WRONG_ATTEMPTS,
  phoneRefusal,
  RESEND_COOLDOWN_MS,
  resendRefusal,
  type SendStatus,
  verifyRefusal,
} from '@twofa/core';
import {
  advancesDelivery,
  applyDeliveryReceipt,
  approveChallenge,
  approveWithCode,
  claimSend,
  createChallenge,
  failSendWithRefund,
  getChallenge,
  loadContextRecordingSkip,
  recordWrongCode,
  resendChallenge,
  type Sql,
  STATUS_RANK,
  submitChallengePhone,
} from '@twofa/db';
import { beforeAll, describe, expect, it } from 'vitest';
import { finnishMobile, PASSWORD } from '../security/support.ts';
import { withHarness } from '../support/index.ts';

const h = withHarness({ worker: false });
let organizationId: string;
let userId: string;
let phone: string;

beforeAll(async () => {
  const org = await h.createOrganization({ name: 'Rules', country: 'FI' });
  organizationId = org.id;
  phone = finnishMobile();
  userId = (
    await h.createUser(org.apiKey, { email: 'rules@example.com', password: PASSWORD, phone })
  ).id;
});

const ROLLBACK = new Error('rollback');

/** Runs `fn` in a transaction that is always rolled back: each case starts from nothing. */
async function inRolledBack(fn: (sql: Sql) => Promise<void>): Promise<void> {
  await h.sql
    .begin(async (tx) => {
      await fn(tx as unknown as Sql);
      throw ROLLBACK;
    })
    .catch((error: unknown) => {
      if (error !== ROLLBACK) throw error;
    });
}

interface ChallengeFixture {
  status: 'phone_required' | 'pending' | 'approved' | 'locked' | 'failed' | 'canceled';
  /** ms from now; 0 is expiring at this instant. */
  expiresInMs: number;
  sendCount?: number;
  /** ms before now of the latest send; null for none. */
  lastSendAgoMs?: number | null;
  wrongAttempts?: number;
  /** The user's consecutive wrong codes before this one. */
  userFailures?: number;
  /** A phone_required challenge has no phone yet. */
  noPhone?: boolean;
}

/** A challenge put in the fixture's state, read back as the use cases read it. */
async function seed(sql: Sql, f: ChallengeFixture) {
  const [clock] = await sql<{ now: Date }[]>`select now() as now`;
  const now = clock!.now;
  const sendId = randomUUID();
  const created = await createChallenge(sql, {
    organizationId,
    userId,
    ip: '10.0.0.1',
    phone,
    sendId,
    now,
  });
  if (!created) throw new Error('seed: no challenge');
  await sql`
    update challenges set status = ${f.status}, phone = ${f.noPhone ? null : phone},
      expires_at = now() + ${f.expiresInMs} * interval '1 millisecond',
      send_count = ${f.sendCount ?? 1}, wrong_attempts = ${f.wrongAttempts ?? 0},
      last_send_at = ${
        f.lastSendAgoMs === null
          ? null
          : sql`now() - ${f.lastSendAgoMs ?? 60_000} * interval '1 millisecond'`
      }
    where id = ${created.id}`;
  if (f.noPhone) {
    // As one started without a phone: no send yet.
    await sql`update challenges set current_send_id = null where id = ${created.id}`;
    await sql`delete from sms_sends where challenge_id = ${created.id}`;
  }
  await sql`
    update users set consecutive_code_failures = ${f.userFailures ?? 0}, locked_until = null
    where id = ${userId}`;
  const row = await getChallenge(sql, organizationId, created.id);
  if (!row) throw new Error('seed: not read back');
  return { row, sendId };
}

const COOLDOWN = RESEND_COOLDOWN_MS;
const OPEN = ['pending', 'phone_required'] as const;
const CLOSED = ['approved', 'locked', 'failed', 'canceled'] as const;

describe('resend: cooldown, send cap, expiry and status', () => {
  const cases: ChallengeFixture[] = [
    { status: 'pending', expiresInMs: 60_000, lastSendAgoMs: COOLDOWN + 1 },
    { status: 'pending', expiresInMs: 60_000, lastSendAgoMs: COOLDOWN },
    { status: 'pending', expiresInMs: 60_000, lastSendAgoMs: COOLDOWN - 1 },
    { status: 'pending', expiresInMs: 60_000, lastSendAgoMs: 0 },
    { status: 'pending', expiresInMs: 60_000, lastSendAgoMs: null },
    { status: 'pending', expiresInMs: 60_000, sendCount: MAX_SENDS_PER_CHALLENGE - 1 },
    { status: 'pending', expiresInMs: 60_000, sendCount: MAX_SENDS_PER_CHALLENGE },
    { status: 'pending', expiresInMs: 1 },
    { status: 'pending', expiresInMs: 0 },
    { status: 'pending', expiresInMs: -1 },
    ...[...OPEN, ...CLOSED]
      .filter((s) => s !== 'pending')
      .map((status) => ({ status, expiresInMs: 60_000 })),
  ];
  it.each(cases)('%o', async (fixture) => {
    await inRolledBack(async (sql) => {
      const { row } = await seed(sql, fixture);
      const refusal = resendRefusal(row, row.dbNow);
      const resent = await resendChallenge(sql, {
        organizationId,
        challengeId: row.id,
        sendId: randomUUID(),
        now: row.dbNow,
      });
      expect(resent !== null).toBe(refusal === null);
    });
  });
});

describe('phone: expiry and status', () => {
  const cases: ChallengeFixture[] = [
    ...[60_000, 1, 0, -1].map((expiresInMs) => ({
      status: 'phone_required' as const,
      expiresInMs,
      noPhone: true,
    })),
    ...['pending', ...CLOSED].map((status) => ({
      status: status as ChallengeFixture['status'],
      expiresInMs: 60_000,
      noPhone: true,
    })),
  ];
  it.each(cases)('%o', async (fixture) => {
    await inRolledBack(async (sql) => {
      const { row } = await seed(sql, fixture);
      const refusal = phoneRefusal(row, row.dbNow);
      const submitted = await submitChallengePhone(sql, {
        organizationId,
        challengeId: row.id,
        phone: finnishMobile(),
        sendId: randomUUID(),
        now: row.dbNow,
      });
      expect(submitted !== null).toBe(refusal === null);
    });
  });
});

/** Verify's fixtures: around the expiry, every attempt count, and every other status. */
const VERIFY_CASES: ChallengeFixture[] = [
  ...[60_000, 1, 0, -1].map((expiresInMs) => ({ status: 'pending' as const, expiresInMs })),
  ...Array.from({ length: MAX_WRONG_ATTEMPTS }, (_, wrongAttempts) => ({
    status: 'pending' as const,
    expiresInMs: 60_000,
    wrongAttempts,
  })),
  ...['phone_required', ...CLOSED].map((status) => ({
    status: status as ChallengeFixture['status'],
    expiresInMs: 60_000,
  })),
];

describe('verify: expiry, status and attempts', () => {
  it.each(VERIFY_CASES)('a right code, %o', async (fixture) => {
    await inRolledBack(async (sql) => {
      const { row, sendId } = await seed(sql, fixture);
      const refusal = verifyRefusal(row, row.dbNow);
      const approval = await approveChallenge(sql, {
        organizationId,
        challengeId: row.id,
        sendId,
        deviceTokenHash: `rule-guards-${randomUUID()}`,
        deviceExpiresAt: new Date(row.dbNow.getTime() + 60_000),
      });
      expect(approval !== null).toBe(refusal === null);
    });
  });
});

describe('verify with a known send: the code and the rules in one statement', () => {
  const cases2 = VERIFY_CASES.flatMap((fixture) =>
    [true, false].map((right) => [fixture, right] as const),
  );
  it.each(cases2)('%o, the right code: %s', async (fixture, right) => {
    await inRolledBack(async (sql) => {
      const { row, sendId } = await seed(sql, fixture);
      await sql`update sms_sends set code_hash = 'the-code' where id = ${sendId}`;
      const refusal = verifyRefusal(row, row.dbNow);
      const tried = await approveWithCode(sql, {
        organizationId,
        challengeId: row.id,
        sendId,
        codeHash: right ? 'the-code' : 'another-code',
        deviceTokenHash: `rule-guards-${randomUUID()}`,
        deviceTtlMs: 60_000,
      });
      expect(tried!.approval !== null).toBe(right && refusal === null);
      // The challenge as read, before the statement: as getChallenge reads it.
      expect(tried!.challenge).toEqual({
        ...row,
        codeHash: 'the-code',
        dbNow: tried!.challenge.dbNow,
      });
    });
  });
});

describe('a wrong code: challenge lock and user lock', () => {
  const MAX_CONSECUTIVE = 4;
  const cases: ChallengeFixture[] = [];
  for (let wrongAttempts = 0; wrongAttempts < MAX_WRONG_ATTEMPTS; wrongAttempts++) {
    for (const userFailures of [0, MAX_CONSECUTIVE - 2, MAX_CONSECUTIVE - 1, MAX_CONSECUTIVE]) {
      cases.push({ status: 'pending', expiresInMs: 60_000, wrongAttempts, userFailures });
    }
  }
  it.each(cases)('%o', async (fixture) => {
    await inRolledBack(async (sql) => {
      const { row } = await seed(sql, fixture);
      const counted = await recordWrongCode(sql, {
        organizationId,
        challengeId: row.id,
        maxConsecutiveFailures: MAX_CONSECUTIVE,
      });
      expect(counted).not.toBeNull();
      expect(counted!.wrongAttempts).toBe((fixture.wrongAttempts ?? 0) + 1);
      expect(counted!.status === 'locked').toBe(afterWrongCode(counted!.wrongAttempts).locked);
      expect(counted!.userLocked).toBe(locksUser((fixture.userFailures ?? 0) + 1, MAX_CONSECUTIVE));
    });
  });
});

describe('delivery receipts: status rank', () => {
  const statuses = Object.keys(STATUS_RANK) as SendStatus[];
  const receipts: SendStatus[] = ['sent', 'delivered', 'undelivered', 'failed'];
  const cases = statuses.flatMap((from) => receipts.map((to) => [from, to] as const));
  it.each(cases)('%s, then a %s receipt', async (from, to) => {
    await inRolledBack(async (sql) => {
      const { sendId } = await seed(sql, { status: 'pending', expiresInMs: 60_000 });
      await sql`update sms_sends set status = ${from}, provider_sid = 'SMrule' where id = ${sendId}`;
      const applied = await applyDeliveryReceipt(sql, {
        sendId,
        providerSid: 'SMrule',
        status: to,
        errorCode: null,
      });
      expect(applied).toBe(advancesDelivery(from, to));
    });
  });
});

describe('refund once: a debited credit comes back at most once', () => {
  /** The send's ledger before the statement runs: what the rule looks at. */
  type Ledger = 'none' | 'debited' | 'debited_and_refunded';
  /** The rule: a credit is refunded only when it was debited and not refunded yet. */
  const refunds = (ledger: Ledger) => ledger === 'debited';
  const ledgers: Ledger[] = ['none', 'debited', 'debited_and_refunded'];

  /** A send in `status` whose ledger is `ledger`; the balance the statement starts from. */
  async function seedSend(sql: Sql, status: SendStatus, ledger: Ledger) {
    const { row, sendId } = await seed(sql, { status: 'pending', expiresInMs: 60_000 });
    await sql`update sms_sends set status = ${status} where id = ${sendId}`;
    const reasons = {
      none: [],
      debited: ['sms_sent'],
      debited_and_refunded: ['sms_sent', 'refund'],
    };
    for (const reason of reasons[ledger]) {
      await sql`
        insert into sms_ledger (organization_id, delta, reason, send_id, balance_after)
        values (${organizationId}, ${reason === 'refund' ? 1 : -1}, ${reason}, ${sendId}, 0)`;
    }
    return { challengeId: row.id, sendId, balance: await balance(sql) };
  }

  async function balance(sql: Sql): Promise<number> {
    const [org] = await sql<{ balance: number }[]>`
      select sms_balance as balance from organizations where id = ${organizationId}`;
    return org!.balance;
  }

  async function refundEntries(sql: Sql, sendId: string): Promise<number> {
    const [count] = await sql<{ n: number }[]>`
      select count(*)::int as n from sms_ledger where send_id = ${sendId} and reason = 'refund'`;
    return count!.n;
  }

  const failCases = (['sending', 'retrying'] as const).flatMap((status) =>
    ledgers.map((ledger) => [status, ledger] as const),
  );
  it.each(failCases)('a failed %s send, ledger %s', async (status, ledger) => {
    await inRolledBack(async (sql) => {
      const send = await seedSend(sql, status, ledger);
      const failed = await failSendWithRefund(sql, {
        sendId: send.sendId,
        errorCode: '30005',
        reason: 'sms_rejected',
      });
      expect(failed?.refunded).toBe(refunds(ledger));
      expect(await balance(sql)).toBe(send.balance + (refunds(ledger) ? 1 : 0));
      expect(await refundEntries(sql, send.sendId)).toBe(ledger === 'none' ? 0 : 1);
    });
  });

  // claimSend refunds only a retrying send the challenge no longer needs (here: expired).
  it.each(ledgers)('a retrying send no longer needed, ledger %s', async (ledger) => {
    await inRolledBack(async (sql) => {
      const send = await seedSend(sql, 'retrying', ledger);
      await sql`update challenges set expires_at = now() - interval '1 millisecond'
        where id = ${send.challengeId}`;
      const claimed = await claimSend(sql, { sendId: send.sendId, codeHash: 'rule-guards' });
      expect(claimed?.refunded).toBe(refunds(ledger));
      expect(await balance(sql)).toBe(send.balance + (refunds(ledger) ? 1 : 0));
      expect(await refundEntries(sql, send.sendId)).toBe(ledger === 'none' ? 0 : 1);
    });
  });
});

describe("a start's expected skip: the guard of its signed_in event and the policy", () => {
  interface DeviceFixture {
    /** Whose device the token names: this user's, another user's, or none known. */
    owner: 'user' | 'other' | 'unknown';
    /** ms from now; 0 is expiring at this instant. */
    expiresInMs: number;
    revoked?: boolean;
    exempt?: boolean;
  }
  const cases: DeviceFixture[] = [
    ...[60_000, 1, 0, -1].map((expiresInMs) => ({ owner: 'user' as const, expiresInMs })),
    { owner: 'user', expiresInMs: 60_000, revoked: true },
    { owner: 'user', expiresInMs: 60_000, exempt: true },
    { owner: 'other', expiresInMs: 60_000 },
    { owner: 'unknown', expiresInMs: 60_000 },
  ];
  it.each(cases)('a trusted device, %o', async (fixture) => {
    await inRolledBack(async (sql) => {
      const tokenHash = `rule-guards-device-${randomUUID()}`;
      const [other] = await sql<{ id: string }[]>`
        insert into users (organization_id, email, password_hash)
        values (${organizationId}, ${`other-${randomUUID()}@example.com`}, null) returning id`;
      await sql`update users set two_factor_disabled = ${fixture.exempt ?? false}
        where id = ${userId}`;
      if (fixture.owner !== 'unknown') {
        await sql`insert into trusted_devices (organization_id, user_id, token_hash, expires_at, revoked_at)
          values (${organizationId}, ${fixture.owner === 'user' ? userId : other!.id}, ${tokenHash},
            now() + ${fixture.expiresInMs} * interval '1 millisecond',
            ${fixture.revoked ? sql`now()` : null})`;
      }
      const loaded = await loadContextRecordingSkip(sql, {
        organizationId,
        userId,
        deviceTokenHash: tokenHash,
        ip: '10.0.0.1',
        skip: { reason: 'trusted_device', facts: 'trusted_device' },
      });
      const { user, device, now } = loaded!.context;
      const decision = decideSecondFactor({
        organization: {
          id: organizationId,
          twoFactorEnabled: true,
          authMethod: 'password',
          skipNetworks: compileCidrs([]),
        },
        user,
        ip: '10.0.0.1',
        device,
        now,
      });
      expect(loaded!.recorded).toBe(
        decision.result === 'authenticated' && decision.reason === 'trusted_device',
      );
      const [events] = await sql<{ n: number }[]>`
        select count(*)::int as n from audit_events
        where organization_id = ${organizationId} and type = 'signed_in'
          and data->>'userId' = ${userId} and data->>'method' = 'trusted_device'`;
      expect(events!.n).toBe(loaded!.recorded ? 1 : 0);
    });
  });

  it.each([false, true])('a trusted network, the user exempt: %s', async (exempt) => {
    await inRolledBack(async (sql) => {
      await sql`update users set two_factor_disabled = ${exempt} where id = ${userId}`;
      const loaded = await loadContextRecordingSkip(sql, {
        organizationId,
        userId,
        deviceTokenHash: null,
        ip: '10.0.0.1',
        skip: { reason: 'trusted_network', facts: 'not_exempt' },
      });
      const decision = decideSecondFactor({
        organization: {
          id: organizationId,
          twoFactorEnabled: true,
          authMethod: 'password',
          skipNetworks: compileCidrs(['10.0.0.0/8']),
        },
        user: loaded!.context.user,
        ip: '10.0.0.1',
        device: loaded!.context.device,
        now: loaded!.context.now,
      });
      expect(decision).toEqual({
        result: 'authenticated',
        reason: exempt ? 'user_exempt' : 'trusted_network',
      });
      expect(loaded!.recorded).toBe(
        decision.result === 'authenticated' && decision.reason === 'trusted_network',
      );
    });
  });
});
