/**
 * The bench's large-data seed at a tiny scale: the rows it promises, every
 * balance equal to its ledger, only finished challenges, and the product
 * still working on top of it (a login challenge for a seeded user, verified).
 * The EXPLAIN pass runs the write statements in transactions it rolls back.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { explainHot, type LargeCounts, seedLarge } from '../../bench/lib/large.ts';
import { createHarness, type Harness } from '../support/index.ts';

let h: Harness;
let org: { id: string; apiKey: string; auth: string };

beforeAll(async () => {
  h = await createHarness();
  const created = await h.createOrganization({ name: 'Bench', country: 'FI' });
  org = { ...created, auth: `Bearer ${created.apiKey}` };
  await h.topUp(org.id, 100);
  await h.enableTwoFactor(org.apiKey);
});
afterAll(async () => {
  await h?.close();
});

async function rowCounts(): Promise<LargeCounts> {
  const [row] = await h.sql<LargeCounts[]>`
    select (select count(*) from organizations)::int as organizations,
      (select count(*) from users)::int as users,
      (select count(*) from challenges)::int as challenges,
      (select count(*) from sms_sends)::int as sends,
      (select count(*) from sms_ledger)::int as ledger,
      (select count(*) from audit_events)::int as audit`;
  return row!;
}

describe('seedLarge', { timeout: 60_000 }, () => {
  it('writes the scaled rows, consistent, and the product works on top', async () => {
    const before = await rowCounts();
    const { counts, seconds } = await seedLarge(h.sql, [org], { scale: 0.0005, log: () => {} });

    expect(counts).toEqual({
      organizations: 5,
      users: 500,
      challenges: 2_500,
      sends: 2_500,
      ledger: 2_500,
      audit: 1_000,
    });
    expect(seconds).toBeLessThan(20);
    const after = await rowCounts();
    // The bench's organization is one of the five; its own rows (a top-up, events) stay.
    expect(after).toEqual({
      organizations: 5,
      users: before.users + 500,
      challenges: before.challenges + 2_500,
      sends: before.sends + 2_500,
      ledger: before.ledger + 2_500,
      audit: before.audit + 1_000,
    });

    // Each organization's balance is its ledger's sum and its newest line's balance_after.
    const [ledger] = await h.sql<{ off: number; benchBalance: number; perOrg: number }[]>`
      select
        (select count(*) from organizations o
          where o.sms_balance <> (select sum(delta) from sms_ledger l where l.organization_id = o.id)
             or o.sms_balance <> (select balance_after from sms_ledger l
                                  where l.organization_id = o.id order by id desc limit 1))::int as off,
        (select sms_balance from organizations where id = ${org.id}) as "benchBalance",
        (select count(*) from sms_ledger where organization_id = ${org.id})::int as "perOrg"`;
    expect(ledger).toEqual({ off: 0, benchBalance: 100, perOrg: 501 });

    // Only finished challenges, no send left in flight, every debit naming a seeded send.
    const [state] = await h.sql<{ live: number; open: number; orphanDebits: number }[]>`
      select
        (select count(*) from challenges
          where status in ('pending', 'phone_required') and expires_at > now())::int as live,
        (select count(*) from sms_sends
          where status in ('queued', 'sending', 'retrying', 'unknown'))::int as open,
        (select count(*) from sms_ledger l where l.reason = 'sms_sent'
          and not exists (select 1 from sms_sends s where s.id = l.send_id))::int as "orphanDebits"`;
    expect(state).toEqual({ live: 0, open: 0, orphanDebits: 0 });

    // Time-ordered ids, as the product makes them (UUIDv7): each seeded challenge's and send's
    // id carries its creation millisecond, so the seed's indexes are laid out as a year of the
    // product's own inserts would leave them.
    const [ids] = await h.sql<{ seeded: number; notV7: number; offTime: number }[]>`
      with seeded as (
        select id, created_at from challenges where organization_id = ${org.id}
        union all select id, created_at from sms_sends where organization_id = ${org.id}
      )
      select count(*)::int as seeded,
        count(*) filter (where substr(id::text, 15, 1) <> '7')::int as "notV7",
        count(*) filter (where ('x' || substr(replace(id::text, '-', ''), 1, 12))::bit(48)::bigint
          <> floor(extract(epoch from created_at) * 1000)::bigint)::int as "offTime"
      from seeded`;
    expect(ids).toEqual({ seeded: 1_000, notV7: 0, offTime: 0 });

    // A seeded user of the bench's organization logs in with a code.
    const [user] = await h.sql<{ id: string; phone: string }[]>`
      select id, phone from users
      where organization_id = ${org.id} and role = 'member' and phone like '+35850%'
      order by email limit 1`;
    const start = await h.request('POST', '/v1/challenges', {
      key: org.apiKey,
      body: { userId: user!.id, ip: '203.0.113.9' },
    });
    expect(start.status).toBe(200);
    const code = await h.waitFor(async () => h.lastCodeFor(user!.phone));
    const verified = await h.request('POST', `/v1/challenges/${start.body.challenge.id}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ result: 'authenticated', userId: user!.id });
    const [approved] = await h.sql<{ status: string }[]>`
      select status from challenges where id = ${start.body.challenge.id}`;
    expect(approved?.status).toBe('approved');
    // The product's new challenge and send ids are UUIDv7 too, after every seeded one.
    const [fresh] = await h.sql<{ v7: boolean; newest: boolean }[]>`
      select substr(c.id::text, 15, 1) = '7' and substr(c.current_send_id::text, 15, 1) = '7' as v7,
        not exists (select 1 from challenges o where o.id > c.id) as newest
      from challenges c where c.id = ${start.body.challenge.id}`;
    expect(fresh).toEqual({ v7: true, newest: true });
  });

  it('explains every hot statement on the seeded data and leaves no row behind', async () => {
    const before = await rowCounts();
    const plans = await explainHot(h.sql);
    expect(plans.map((p) => p.name)).toEqual(
      expect.arrayContaining([
        'challenge create: createChallenge',
        'claim-and-debit: claimSend',
        'verify: approveChallenge',
        'verify: recordWrongCode',
        'admin: audit page (listAudit)',
        'retention: deleteFinishedChallenges (one batch)',
      ]),
    );
    for (const p of plans) expect(p.plan, p.name).toMatch(/actual time=/);
    // Writes were rolled back: the claim's debit, the approval's device, the deletions.
    expect(await rowCounts()).toEqual(before);
  });
});
