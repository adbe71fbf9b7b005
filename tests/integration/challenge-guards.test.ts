import { randomUUID } from 'node:crypto';
import {
  CODE_TTL_MS,
  MAX_SENDS_PER_CHALLENGE,
  MAX_WRONG_ATTEMPTS,
  RESEND_COOLDOWN_MS,
} from '@twofa/core';
import {
  approveChallenge,
  type ChallengeRow,
  createChallenge,
  createDb,
  createOrganization,
  createUser,
  type Database,
  getChallenge,
  recordWrongCode,
  resendChallenge,
  submitChallengePhone,
} from '@twofa/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/index.ts';

/**
 * The WHERE clauses of the challenge statements, called directly. The API
 * checks the same rules first, which masks these guards: a request that
 * races past its pre-check (a second verify, a parallel resend) meets only
 * the statement. Each test puts one rule just out of bounds, everything else
 * in bounds, and also shows the call succeeding when that rule is just met.
 * Times are the database's: the statements judge expiry and cooldown by its
 * `now()`, so a test moves a challenge through time by ageing its row.
 */

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let db: Database;
let orgId: string;
let otherOrgId: string;
let userId: string;
let userWithoutPhoneId: string;

const PHONE = '+358401234567';

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb(database.url, { max: 2 });
  const org = await createOrganization(db.sql, {
    name: 'Guards Clinic',
    authMethod: 'password',
    country: 'FI',
    apiKeyHash: `guards-${randomUUID()}`,
  });
  const other = await createOrganization(db.sql, {
    name: 'Other Clinic',
    authMethod: 'password',
    country: 'FI',
    apiKeyHash: `other-${randomUUID()}`,
  });
  orgId = org.id;
  otherOrgId = other.id;
  const user = await createUser(db.sql, {
    organizationId: orgId,
    email: 'guards@example.com',
    passwordHash: null,
    phone: PHONE,
  });
  userId = user!.id;
  const withoutPhone = await createUser(db.sql, {
    organizationId: orgId,
    email: 'no-phone@example.com',
    passwordHash: null,
    phone: null,
  });
  userWithoutPhoneId = withoutPhone!.id;
});

afterAll(async () => {
  await db?.close();
  await database?.drop();
});

/** createChallenge, which stores nothing only when the user changed meanwhile (never here). */
async function created(...args: Parameters<typeof createChallenge>): Promise<ChallengeRow> {
  const row = await createChallenge(...args);
  if (!row) throw new Error('challenge not stored');
  return row;
}

/** The database's clock, which the service reads before each write. */
async function dbNow(): Promise<Date> {
  const [row] = await db.sql<{ now: Date }[]>`select now() as now`;
  return row!.now;
}

/** A pending challenge whose first code went out just now (so it expires in 10 minutes). */
async function pending(): Promise<ChallengeRow> {
  return created(db.sql, {
    organizationId: orgId,
    userId,
    ip: '203.0.113.9',
    phone: PHONE,
    sendId: randomUUID(),
    now: await dbNow(),
  });
}

/** A challenge waiting for its phone number, created just now. */
async function phoneRequired(): Promise<ChallengeRow> {
  return created(db.sql, {
    organizationId: orgId,
    userId: userWithoutPhoneId,
    ip: '203.0.113.9',
    phone: null,
    sendId: randomUUID(),
    now: await dbNow(),
  });
}

/** Moves a challenge `ms` into its life: every time on its row, `ms` earlier. */
async function age(id: string, ms: number): Promise<void> {
  const row = await db.sql`
    update challenges set
      expires_at = expires_at - ${ms} * interval '1 millisecond',
      last_send_at = last_send_at - ${ms} * interval '1 millisecond',
      created_at = created_at - ${ms} * interval '1 millisecond'
    where id = ${id} returning id`;
  expect(row).toHaveLength(1);
}

/** Margin around an edge: well over a statement's time, far under any rule's span. */
const EDGE_MS = 5_000;

/** Puts a stored challenge into a state the API would have refused earlier. */
async function setState(
  id: string,
  state: { status?: string; wrongAttempts?: number; sendCount?: number },
): Promise<void> {
  const row = await db.sql`
    update challenges set
      status = coalesce(${state.status ?? null}, status),
      wrong_attempts = coalesce(${state.wrongAttempts ?? null}::int, wrong_attempts),
      send_count = coalesce(${state.sendCount ?? null}::int, send_count)
    where id = ${id} returning id`;
  expect(row).toHaveLength(1);
}

async function stored(id: string) {
  return (await getChallenge(db.sql, orgId, id))!;
}

describe('approveChallenge', () => {
  const approve = (
    c: Pick<ChallengeRow, 'id' | 'currentSendId'>,
    over: { organizationId?: string; sendId?: string } = {},
  ) =>
    approveChallenge(db.sql, {
      organizationId: over.organizationId ?? orgId,
      challengeId: c.id,
      sendId: over.sendId ?? c.currentSendId!,
      deviceTokenHash: `device-${randomUUID()}`,
      deviceExpiresAt: new Date(Date.now() + 30 * 24 * 3600 * 1000),
    });

  it('approves just before the expiry, refuses just after', async () => {
    const late = await pending();
    await age(late.id, CODE_TTL_MS + EDGE_MS);
    expect(await approve(late)).toBeNull();
    expect((await stored(late.id)).status).toBe('pending');
    const c = await pending();
    await age(c.id, CODE_TTL_MS - EDGE_MS);
    expect(await approve(c)).toMatchObject({ userId });
    expect((await stored(c.id)).status).toBe('approved');
  });

  it('refuses once the wrong attempts are used up, approves with one left', async () => {
    const spent = await pending();
    await setState(spent.id, { wrongAttempts: MAX_WRONG_ATTEMPTS });
    expect(await approve(spent)).toBeNull();
    expect((await stored(spent.id)).status).toBe('pending');

    const lastTry = await pending();
    await setState(lastTry.id, { wrongAttempts: MAX_WRONG_ATTEMPTS - 1 });
    expect(await approve(lastTry)).toMatchObject({ userId });
  });

  it('refuses a code from an earlier send', async () => {
    const c = await pending();
    expect(await approve(c, { sendId: randomUUID() })).toBeNull();
    expect((await stored(c.id)).status).toBe('pending');
    expect(await approve(c)).toMatchObject({ userId });
  });

  it.each(['approved', 'locked', 'failed', 'phone_required'])(
    'refuses a challenge that is %s',
    async (status) => {
      const c = await pending();
      await setState(c.id, { status });
      expect(await approve(c)).toBeNull();
      expect((await stored(c.id)).status).toBe(status);
    },
  );

  it('approves only once: a second verify of the same code is refused', async () => {
    const c = await pending();
    const devices = async () =>
      (await db.sql`select id from trusted_devices where user_id = ${userId}`).length;
    expect(await approve(c)).toMatchObject({ userId });
    const after = await devices();
    expect(await approve(c)).toBeNull();
    expect(await devices()).toBe(after);
  });

  it("refuses another organization's challenge", async () => {
    const c = await pending();
    expect(await approve(c, { organizationId: otherOrgId })).toBeNull();
    expect((await stored(c.id)).status).toBe('pending');
  });
});

describe('recordWrongCode', () => {
  const wrong = (id: string, organizationId = orgId) =>
    recordWrongCode(db.sql, { organizationId, challengeId: id, maxConsecutiveFailures: 20 });

  it('counts up to the limit and locks on the last one', async () => {
    const c = await pending();
    for (let i = 1; i < MAX_WRONG_ATTEMPTS; i++) {
      expect(await wrong(c.id)).toMatchObject({ wrongAttempts: i, status: 'pending' });
    }
    expect(await wrong(c.id)).toMatchObject({
      wrongAttempts: MAX_WRONG_ATTEMPTS,
      status: 'locked',
    });
  });

  it('counts just before the expiry, refuses just after', async () => {
    const c = await pending();
    await age(c.id, CODE_TTL_MS - EDGE_MS);
    expect(await wrong(c.id)).toMatchObject({ wrongAttempts: 1, status: 'pending' });
    await age(c.id, 2 * EDGE_MS);
    expect(await wrong(c.id)).toBeNull();
    expect((await stored(c.id)).wrongAttempts).toBe(1);
  });

  it('does not count past the limit even on a challenge still pending', async () => {
    const c = await pending();
    await setState(c.id, { wrongAttempts: MAX_WRONG_ATTEMPTS });
    expect(await wrong(c.id)).toBeNull();
    expect((await stored(c.id)).wrongAttempts).toBe(MAX_WRONG_ATTEMPTS);
  });

  it.each(['approved', 'locked', 'failed', 'phone_required'])(
    'does not count on a challenge that is %s',
    async (status) => {
      const c = await pending();
      await setState(c.id, { status });
      expect(await wrong(c.id)).toBeNull();
      expect((await stored(c.id)).wrongAttempts).toBe(0);
    },
  );

  it("does not count on another organization's challenge", async () => {
    const c = await pending();
    expect(await wrong(c.id, otherOrgId)).toBeNull();
    expect((await stored(c.id)).wrongAttempts).toBe(0);
  });
});

describe('resendChallenge', () => {
  const resend = async (id: string, organizationId = orgId) =>
    resendChallenge(db.sql, {
      organizationId,
      challengeId: id,
      sendId: randomUUID(),
      now: await dbNow(),
    });
  /** A challenge whose first code went out over a minute ago. */
  const pastCooldown = async () => {
    const c = await pending();
    await age(c.id, 60_000);
    return c;
  };

  it('refuses within the cooldown, resends once it has passed', async () => {
    const c = await pending();
    await age(c.id, RESEND_COOLDOWN_MS - EDGE_MS);
    expect(await resend(c.id)).toBeNull();
    expect((await stored(c.id)).sendCount).toBe(1);
    await age(c.id, 2 * EDGE_MS);
    expect(await resend(c.id)).toMatchObject({ sendCount: 2 });
  });

  it('refuses at the send cap, resends with one send left', async () => {
    const capped = await pastCooldown();
    await setState(capped.id, { sendCount: MAX_SENDS_PER_CHALLENGE });
    expect(await resend(capped.id)).toBeNull();
    expect((await stored(capped.id)).sendCount).toBe(MAX_SENDS_PER_CHALLENGE);

    const lastOne = await pastCooldown();
    await setState(lastOne.id, { sendCount: MAX_SENDS_PER_CHALLENGE - 1 });
    expect(await resend(lastOne.id)).toMatchObject({
      sendCount: MAX_SENDS_PER_CHALLENGE,
    });
  });

  it('lets only one of two parallel resends through', async () => {
    const c = await pastCooldown();
    const results = await Promise.all([resend(c.id), resend(c.id)]);
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect((await stored(c.id)).sendCount).toBe(2);
  });

  it('resends just before the expiry, refuses just after', async () => {
    const late = await pending();
    await age(late.id, CODE_TTL_MS + EDGE_MS);
    expect(await resend(late.id)).toBeNull();
    const c = await pending();
    await age(c.id, CODE_TTL_MS - EDGE_MS);
    expect(await resend(c.id)).toMatchObject({ sendCount: 2 });
  });

  it.each(['approved', 'locked', 'failed', 'phone_required'])(
    'refuses a challenge that is %s',
    async (status) => {
      const c = await pastCooldown();
      await setState(c.id, { status });
      expect(await resend(c.id)).toBeNull();
      expect((await stored(c.id)).sendCount).toBe(1);
    },
  );

  it("refuses another organization's challenge", async () => {
    const c = await pastCooldown();
    expect(await resend(c.id, otherOrgId)).toBeNull();
    expect((await stored(c.id)).sendCount).toBe(1);
  });
});

describe('submitChallengePhone', () => {
  const submit = async (id: string, organizationId = orgId) =>
    submitChallengePhone(db.sql, {
      organizationId,
      challengeId: id,
      phone: PHONE,
      sendId: randomUUID(),
      now: await dbNow(),
    });

  it('takes the phone just before the expiry, refuses just after', async () => {
    const late = await phoneRequired();
    await age(late.id, CODE_TTL_MS + EDGE_MS);
    expect(await submit(late.id)).toBeNull();
    expect((await stored(late.id)).status).toBe('phone_required');
    const c = await phoneRequired();
    await age(c.id, CODE_TTL_MS - EDGE_MS);
    expect(await submit(c.id)).toMatchObject({
      status: 'pending',
      phone: PHONE,
      sendCount: 1,
    });
  });

  it.each(['pending', 'approved', 'locked', 'failed'])(
    'refuses a challenge that is %s',
    async (status) => {
      const c = await phoneRequired();
      await setState(c.id, { status });
      expect(await submit(c.id)).toBeNull();
      const after = await stored(c.id);
      expect(after.status).toBe(status);
      expect(after.sendCount).toBe(0);
    },
  );

  it("refuses another organization's challenge", async () => {
    const c = await phoneRequired();
    expect(await submit(c.id, otherOrgId)).toBeNull();
    expect((await stored(c.id)).status).toBe('phone_required');
  });
});
