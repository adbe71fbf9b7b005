/**
 * The SMS balance stops at 1,000,000,000: a top-up past it is `422
 * balance_limit` and changes nothing (no balance, ledger line or audit event),
 * under concurrency too; before, a top-up past the 32-bit column was a 500.
 */
import { MAX_SMS_BALANCE } from '@twofa/core';
import { describe, expect, it } from 'vitest';
import { ADMIN_KEY, withHarness } from '../support/index.ts';

const h = withHarness({ worker: false });

const TOP_UP_MAX = 10_000_000;

function topUp(orgId: string, amount: number) {
  return h.request('POST', `/v1/organizations/${orgId}/sms-credits`, {
    key: ADMIN_KEY,
    body: { amount },
  });
}

/** An organization topped up, through the API, to `balance` (a multiple of the top-up maximum). */
async function orgAt(balance: number) {
  const org = await h.createOrganization({ name: 'Rich Clinic' });
  for (let added = 0; added < balance; added += TOP_UP_MAX) {
    expect((await topUp(org.id, TOP_UP_MAX)).status).toBe(201);
  }
  return org;
}

async function books(orgId: string) {
  const [row] = await h.sql<{ balance: number; ledger: number; lines: number; audits: number }[]>`
    select o.sms_balance as balance,
      (select coalesce(sum(delta), 0)::int from sms_ledger where organization_id = o.id) as ledger,
      (select count(*)::int from sms_ledger where organization_id = o.id) as lines,
      (select count(*)::int from audit_events where organization_id = o.id
        and type = 'sms_credits_added') as audits
    from organizations o where o.id = ${orgId}`;
  return row as { balance: number; ledger: number; lines: number; audits: number };
}

describe('the balance limit', () => {
  it('is the contract value', () => {
    expect(MAX_SMS_BALANCE).toBe(1_000_000_000);
  });

  it('takes a top-up to exactly 1,000,000,000 and refuses one more credit', async () => {
    const org = await orgAt(MAX_SMS_BALANCE - TOP_UP_MAX);
    const edge = await topUp(org.id, TOP_UP_MAX);
    expect(edge.status, JSON.stringify(edge.body)).toBe(201);
    expect(edge.body).toEqual({ balance: MAX_SMS_BALANCE });
    const before = await books(org.id);

    const over = await topUp(org.id, 1);
    expect(over.status, JSON.stringify(over.body)).toBe(422);
    expect(over.body).toMatchObject({ code: 'balance_limit', balance: MAX_SMS_BALANCE });
    const huge = await topUp(org.id, TOP_UP_MAX);
    expect(huge.status).toBe(422);
    expect(huge.body.code).toBe('balance_limit');
    // Past what one top-up may carry: refused by the body's schema before anything else.
    const absurd = await topUp(org.id, 2 ** 53);
    expect(absurd.status).toBe(400);
    expect(await books(org.id)).toEqual(before);
    expect(before).toMatchObject({ balance: MAX_SMS_BALANCE, ledger: MAX_SMS_BALANCE });
  });

  it('lets at most one of two top-ups that together cross it land', async () => {
    const base = MAX_SMS_BALANCE - TOP_UP_MAX;
    const org = await orgAt(base);
    for (let round = 0; round < 3; round++) {
      const before = await books(org.id);
      const room = MAX_SMS_BALANCE - before.balance;
      // Each fits alone; both together do not.
      const a = Math.ceil(room / 2) + 1;
      const b = room - a + 2;
      const answers = await Promise.all([topUp(org.id, a), topUp(org.id, b)]);
      const statuses = answers.map((r) => r.status).sort();
      expect(statuses, JSON.stringify(answers.map((r) => r.body))).toEqual([201, 422]);
      const after = await books(org.id);
      expect(after.balance).toBeLessThanOrEqual(MAX_SMS_BALANCE);
      expect(after.ledger).toBe(after.balance);
      expect(after.lines).toBe(before.lines + 1);
      expect(after.audits).toBe(before.audits + 1);
      const landed = answers.find((r) => r.status === 201);
      expect(landed?.body.balance).toBe(after.balance);
    }
  });
});
