/**
 * Challenges with an authenticator app and backup codes: no SMS and no credit
 * for an app user, used steps and codes refused (also in parallel), backup
 * codes on failed challenges, wrong codes of every kind counted alike, and the
 * organization's methods policy.
 */
import { Secret, TOTP } from 'otpauth';
import { beforeAll, describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';

const h = withHarness();
const PASSWORD = 'correct horse battery staple';
let org: { id: string; apiKey: string };
let n = 0;
let ip = 0;
const nextIp = () => `198.51.100.${++ip}`;
const phoneOf = () => `+3584077${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Factor Clinic', country: 'FI' });
  await h.enableTwoFactor(org.apiKey);
  await h.topUp(org.id, 50);
});

interface TestUser {
  id: string;
  email: string;
  phone: string | null;
  secret?: string;
  codes?: string[];
}

const codeAt = (secret: string, at: Date) =>
  TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: at.getTime() });

async function newUser(
  o: { apiKey: string },
  opts: { app?: boolean; backupCodes?: boolean; phone?: boolean } = {},
): Promise<TestUser> {
  const email = `factor-${++n}@example.com`;
  const phone = opts.phone === false ? null : phoneOf();
  const { id } = await h.createUser(o.apiKey, { email, password: PASSWORD, phone });
  const user: TestUser = { id, email, phone };
  if (opts.app) {
    const enroll = await h.request('POST', `/v1/users/${id}/totp`, { key: o.apiKey });
    user.secret = enroll.body.secret;
    // Confirmed with the step before the current one, so the current step is still unused.
    const confirm = await h.request('POST', `/v1/users/${id}/totp/confirm`, {
      key: o.apiKey,
      body: { code: codeAt(enroll.body.secret, new Date(h.clock.now().getTime() - 30_000)) },
    });
    expect(confirm.status).toBe(200);
  }
  if (opts.backupCodes) {
    const res = await h.request('POST', `/v1/users/${id}/backup-codes`, { key: o.apiKey });
    user.codes = res.body.codes;
  }
  return user;
}

async function login(o: { apiKey: string }, user: TestUser) {
  const res = await h.request('POST', '/v1/logins', {
    key: o.apiKey,
    body: { email: user.email, password: PASSWORD, ip: nextIp() },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.result).toBe('challenge_required');
  return res.body.challenge as {
    id: string;
    status: string;
    methods: string[];
    delivery: unknown;
    sendsRemaining: number;
  };
}

function verify(o: { apiKey: string }, challengeId: string, body: Record<string, string>) {
  return h.request('POST', `/v1/challenges/${challengeId}/verify`, { key: o.apiKey, body });
}

async function balance(orgId: string) {
  const [row] = await h.sql<{ sms_balance: number }[]>`
    select sms_balance from organizations where id = ${orgId}`;
  return row!.sms_balance;
}

async function sendsOf(challengeId: string) {
  return h.sql`select 1 from sms_sends where challenge_id = ${challengeId}`;
}

/** A code of the current step that the app's other steps do not share. */
function currentCode(secret: string): string {
  return codeAt(secret, h.clock.now());
}

describe('an authenticator user', () => {
  it('gets a challenge that sends no SMS and spends no credit, and gets in with the app', async () => {
    const user = await newUser(org, { app: true });
    const before = await balance(org.id);
    const challenge = await login(org, user);
    expect(challenge.status).toBe('pending');
    expect(challenge.delivery).toBeNull();
    expect(challenge.methods).toEqual(['totp', 'sms', 'backup_code']);
    expect(challenge.sendsRemaining).toBe(5);
    // No send row exists: nothing can be sent or charged for this challenge.
    expect(await sendsOf(challenge.id)).toHaveLength(0);
    expect(await balance(org.id)).toBe(before);

    const ok = await verify(org, challenge.id, { code: currentCode(user.secret!) });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ result: 'authenticated', userId: user.id, method: 'totp' });
    expect(typeof ok.body.deviceToken).toBe('string');
    expect(h.twilio.messages.filter((m) => m.to === user.phone)).toHaveLength(0);
    expect(await balance(org.id)).toBe(before);
    const metrics = await h.services.metrics.registry.metrics();
    expect(metrics).toMatch(/twofa_logins_by_method_total\{[^}]*method="totp"[^}]*\} [1-9]/);
  });

  it('asks for the first SMS with resend', async () => {
    const user = await newUser(org, { app: true });
    const challenge = await login(org, user);
    const resend = await h.request('POST', `/v1/challenges/${challenge.id}/resend`, {
      key: org.apiKey,
    });
    expect(resend.status).toBe(202);
    expect(resend.body.delivery).toEqual({ status: 'queued', errorCode: null });
    expect(resend.body.sendsRemaining).toBe(4);
    await h.waitFor(async () => h.lastCodeFor(user.phone!));
    const code = h.lastCodeFor(user.phone!)!;
    const ok = await verify(org, challenge.id, { code });
    expect(ok.status).toBe(200);
    expect(ok.body.method).toBe('sms');
    // The cooldown holds after the first SMS.
    const again = await login(org, user);
    await h.request('POST', `/v1/challenges/${again.id}/resend`, { key: org.apiKey });
    const tooSoon = await h.request('POST', `/v1/challenges/${again.id}/resend`, {
      key: org.apiKey,
    });
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.body.code).toBe('resend_too_soon');
  });

  it('refuses a step once used, also on another challenge', async () => {
    const user = await newUser(org, { app: true });
    const code = currentCode(user.secret!);
    const first = await login(org, user);
    expect((await verify(org, first.id, { code })).status).toBe(200);
    const second = await login(org, user);
    const replay = await verify(org, second.id, { code });
    expect(replay.status).toBe(422);
    expect(replay.body.code).toBe('invalid_code');
    expect(replay.body.attemptsRemaining).toBe(4);
  });

  it('lets exactly one of parallel verifies of one step in', async () => {
    const user = await newUser(org, { app: true });
    const challenges = [];
    for (let i = 0; i < 4; i++) challenges.push(await login(org, user));
    const code = currentCode(user.secret!);
    const answers = await Promise.all(
      challenges.flatMap((c) => Array.from({ length: 5 }, () => verify(org, c.id, { code }))),
    );
    const ok = answers.filter((a) => a.status === 200);
    expect(ok).toHaveLength(1);
    for (const a of answers.filter((x) => x.status !== 200)) {
      expect(['invalid_code', 'challenge_not_pending', 'challenge_locked']).toContain(a.body.code);
    }
    const approved = await h.sql`
      select 1 from challenges where user_id = ${user.id} and status = 'approved'`;
    expect(approved).toHaveLength(1);
  });
});

describe('backup codes', () => {
  it('work once, in any case, with spaces or dashes', async () => {
    const user = await newUser(org, { backupCodes: true });
    const challenge = await login(org, user);
    expect(challenge.methods).toEqual(['sms', 'backup_code']);
    const typed = ` ${user.codes![0]!.toUpperCase().replace('-', ' - ')} `;
    const ok = await verify(org, challenge.id, { backupCode: typed });
    expect(ok.status).toBe(200);
    expect(ok.body.method).toBe('backup_code');
    const got = await h.request('GET', `/v1/users/${user.id}`, { key: org.apiKey });
    expect(got.body.backupCodesRemaining).toBe(9);
    const next = await login(org, user);
    const again = await verify(org, next.id, { backupCode: user.codes![0]! });
    expect(again.status).toBe(422);
    expect(again.body.code).toBe('invalid_code');
    const [event] = await h.sql<{ data: { remaining: number } }[]>`
      select data from audit_events where type = 'backup_code_used' and data->>'userId' = ${user.id}`;
    expect(event?.data.remaining).toBe(9);
  });

  it('are used up atomically: of 20 parallel verifies of one code, exactly one succeeds', async () => {
    const user = await newUser(org, { backupCodes: true });
    const challenges = [];
    for (let i = 0; i < 4; i++) challenges.push(await login(org, user));
    const backupCode = user.codes![3]!;
    const answers = await Promise.all(
      challenges.flatMap((c) => Array.from({ length: 5 }, () => verify(org, c.id, { backupCode }))),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    const used = await h.sql`
      select 1 from backup_codes where user_id = ${user.id} and used_at is not null`;
    expect(used).toHaveLength(1);
    const approved = await h.sql`
      select 1 from challenges where user_id = ${user.id} and status = 'approved'`;
    expect(approved).toHaveLength(1);
  });

  it('complete a challenge that failed for want of credit', async () => {
    const broke = await h.createOrganization({ name: 'Broke Clinic', country: 'FI' });
    await h.enableTwoFactor(broke.apiKey);
    const user = await newUser(broke, { backupCodes: true });
    const challenge = await login(broke, user);
    expect(challenge.status).toBe('pending');
    const failed = await h.waitFor(async () => {
      const res = await h.request('GET', `/v1/challenges/${challenge.id}?wait=5`, {
        key: broke.apiKey,
      });
      return res.body.status === 'failed' ? res.body : null;
    }, 30_000);
    expect(failed.failureReason).toBe('sms_balance_exhausted');
    // An SMS code is refused on it, a backup code taken.
    const sms = await verify(broke, challenge.id, { code: '123456' });
    expect(sms.status).toBe(409);
    const ok = await verify(broke, challenge.id, { backupCode: user.codes![5]! });
    expect(ok.status).toBe(200);
    expect(ok.body.method).toBe('backup_code');
    expect(await balance(broke.id)).toBe(0);
  });

  it('are taken on a phone_required challenge', async () => {
    const user = await newUser(org, { backupCodes: true, phone: false });
    const challenge = await login(org, user);
    expect(challenge.status).toBe('phone_required');
    const ok = await verify(org, challenge.id, { backupCode: user.codes![1]! });
    expect(ok.status).toBe(200);
  });
});

describe('wrong codes are wrong codes', () => {
  it('wrong backup and app codes lock the challenge and count toward the user lock', async () => {
    const user = await newUser(org, { app: true, backupCodes: true });
    const wrongBackup = 'zzzzz-zzzzz';
    const first = await login(org, user);
    for (let i = 1; i <= 4; i++) {
      const res = await verify(org, first.id, { backupCode: wrongBackup });
      expect(res.status).toBe(422);
      expect(res.body.attemptsRemaining).toBe(5 - i);
    }
    const locked = await verify(org, first.id, { backupCode: 'not-even-a-code' });
    expect(locked.status).toBe(423);
    expect(locked.body.code).toBe('challenge_locked');
    // A right backup code no longer opens the locked challenge.
    expect((await verify(org, first.id, { backupCode: user.codes![0]! })).status).toBe(423);

    const right = currentCode(user.secret!);
    const steps = [-1, 0, 1].map((o) =>
      codeAt(user.secret!, new Date(h.clock.now().getTime() + o * 30_000)),
    );
    let wrongApp = '000000';
    for (let c = 0; steps.includes(wrongApp) || wrongApp === right; c++) {
      wrongApp = String(c).padStart(6, '0');
    }
    let failures = 5;
    let lockedUser = false;
    while (!lockedUser) {
      const challenge = await login(org, user);
      for (let i = 0; i < 5 && !lockedUser; i++) {
        const res = await verify(org, challenge.id, { code: wrongApp });
        failures++;
        if (res.status === 423 && res.body.code === 'user_locked') lockedUser = true;
        else expect([422, 423]).toContain(res.status);
      }
      expect(failures).toBeLessThanOrEqual(20);
    }
    expect(failures).toBe(20);
    const [row] = await h.sql<{ locked_until: Date | null }[]>`
      select locked_until from users where id = ${user.id}`;
    expect(row?.locked_until).not.toBeNull();
  });
});

describe('the methods policy', () => {
  it('refuses what the organization does not allow', async () => {
    const strict = await h.createOrganization({ name: 'SMS Only', country: 'FI' });
    await h.enableTwoFactor(strict.apiKey);
    await h.topUp(strict.id, 10);
    const user = await newUser(strict, { app: true, backupCodes: true });
    await h.request('PATCH', '/v1/settings/password', {
      key: strict.apiKey,
      body: { methods: ['sms'] },
    });
    const challenge = await login(strict, user);
    expect(challenge.methods).toEqual(['sms']);
    expect(challenge.delivery).toEqual({ status: 'queued', errorCode: null });
    const backup = await verify(strict, challenge.id, { backupCode: user.codes![0]! });
    expect(backup.status).toBe(422);
    expect(backup.body.code).toBe('method_not_allowed');
    const app = await verify(strict, challenge.id, { code: currentCode(user.secret!) });
    expect(app.status).toBe(422);
    expect(app.body.code).toBe('invalid_code');

    await h.request('PATCH', '/v1/settings/password', {
      key: strict.apiKey,
      body: { methods: ['totp', 'backup_code'] },
    });
    const plain = await newUser(strict);
    const noSms = await login(strict, plain);
    expect(noSms.methods).toEqual(['backup_code']);
    expect(noSms.delivery).toBeNull();
    expect(await sendsOf(noSms.id)).toHaveLength(0);
    const resend = await h.request('POST', `/v1/challenges/${noSms.id}/resend`, {
      key: strict.apiKey,
    });
    expect(resend.status).toBe(422);
    expect(resend.body.code).toBe('method_not_allowed');
    expect(await sendsOf(noSms.id)).toHaveLength(0);
  });
});
