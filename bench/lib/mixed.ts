/**
 * The mixed login run (issue 20): people with an authenticator app, people with only SMS, and
 * some who use a backup code, in a stated mix, each logging in through the real API. It reports
 * the share of completed logins that needed no SMS and the SMS count the fake provider took.
 *
 * The mix, per 20 logins (MIX below): 8 app users answer with their app's code (TOTP, enrolled
 * and confirmed through POST /v1/users/{id}/totp[/confirm], codes made with `otpauth`); 8
 * SMS-only users answer with the texted code; 2 app users without their phone use a backup code;
 * 2 SMS users without their phone use a backup code (their challenge still sent the SMS at the
 * start: it counts as needing one). Expected share without an SMS: 10 / 20 = 0.5.
 */
import * as OTPAuth from 'otpauth';
import { perOp } from './cpu.ts';
import { expectStatus, request } from './flows.ts';
import { waitUntil } from './procs.ts';
import { type Ctx, OUTSIDE_IP, repeat } from './scenarios.ts';
import { createOrg, createUser, mapLimit, type Org, type User } from './seed.ts';
import { codeOf } from './sink-client.ts';

export type MixedKind = 'totp' | 'sms' | 'backup_on_app' | 'backup_on_sms';

/** How many of each kind per 20 logins. */
export const MIX: Record<MixedKind, number> = {
  totp: 8,
  sms: 8,
  backup_on_app: 2,
  backup_on_sms: 2,
};

/** What each kind answers the challenge with, as the verify answer's `method` says. */
const METHOD: Record<MixedKind, string> = {
  totp: 'totp',
  sms: 'sms',
  backup_on_app: 'backup_code',
  backup_on_sms: 'backup_code',
};

const STEP_MS = 30_000;

interface MixedUser {
  user: User;
  kind: MixedKind;
  totp: OTPAuth.TOTP | null;
  /** The last step whose code was used (confirm or a login): a step is refused once used. */
  lastStep: number;
  backupCodes: string[];
}

export interface MixedRun {
  logins: number;
  /** Logins whose user's phone got no SMS during the run. */
  noSms: number;
  /** SMS the fake took for these users during the run. */
  sms: number;
  byMethod: Record<string, number>;
  perSec: number;
  cpu: Record<string, number>;
}

export interface MixedFigures {
  runs: MixedRun[];
  mix: Record<MixedKind, number>;
}

/** The kinds of one round of `n` logins, in the stated proportions. */
export function mixedKinds(n: number): MixedKind[] {
  const per20 = (Object.entries(MIX) as [MixedKind, number][]).flatMap(([kind, count]) =>
    Array.from({ length: count }, () => kind),
  );
  return Array.from({ length: n }, (_, i) => per20[i % per20.length]!);
}

async function enroll(
  ctx: Ctx,
  org: Org,
  user: User,
): Promise<{ totp: OTPAuth.TOTP; step: number }> {
  const base = `${ctx.stack.apiUrl}/v1/users/${user.id}`;
  const started = await request<{ secret: string; otpauthUri: string }>(`${base}/totp`, {
    headers: { authorization: org.auth },
  });
  expectStatus(started, 201, 'POST /v1/users/{id}/totp');
  const totp = OTPAuth.URI.parse(started.body.otpauthUri);
  if (!(totp instanceof OTPAuth.TOTP)) throw new Error('enrollment URI is not TOTP');
  const at = Date.now();
  const confirmed = await request(`${base}/totp/confirm`, {
    headers: { authorization: org.auth },
    body: { code: totp.generate({ timestamp: at }) },
  });
  expectStatus(confirmed, 200, 'POST /v1/users/{id}/totp/confirm');
  if (!confirmed.body.totpEnabled) throw new Error('confirmed, yet totpEnabled is not true');
  return { totp, step: Math.floor(at / STEP_MS) };
}

async function backupCodes(ctx: Ctx, org: Org, user: User): Promise<string[]> {
  const answer = await request<{ codes: string[] }>(
    `${ctx.stack.apiUrl}/v1/users/${user.id}/backup-codes`,
    { headers: { authorization: org.auth } },
  );
  expectStatus(answer, 201, 'POST /v1/users/{id}/backup-codes');
  return answer.body.codes;
}

/** One organization with all three methods allowed, its users set up through the API. */
async function setUp(ctx: Ctx, n: number): Promise<MixedUser[]> {
  const org = await createOrg(ctx.stack.apiUrl, 'bench-mixed');
  return mapLimit(mixedKinds(n), 8, async (kind) => {
    const user = await createUser(ctx.stack.apiUrl, org);
    const app = kind === 'totp' || kind === 'backup_on_app' ? await enroll(ctx, org, user) : null;
    const codes = kind.startsWith('backup') ? await backupCodes(ctx, org, user) : [];
    return { user, kind, totp: app?.totp ?? null, lastStep: app?.step ?? 0, backupCodes: codes };
  });
}

/** The app's code for the earliest step the service still takes and this user has not used. */
function nextTotp(m: MixedUser): string {
  const now = Math.floor(Date.now() / STEP_MS);
  const step = Math.max(m.lastStep + 1, now - 1);
  if (step > now + 1) throw new Error('no unused authenticator step within the window');
  m.lastStep = step;
  return m.totp!.generate({ timestamp: step * STEP_MS });
}

/** One login of one user: start, then the kind's way through the second step. */
async function login(ctx: Ctx, m: MixedUser): Promise<string> {
  const { stack } = ctx;
  const { user } = m;
  const sms = m.kind === 'sms' ? stack.sink.next(user.phone) : null;
  try {
    const start = await request(`${stack.apiUrl}/v1/challenges`, {
      headers: { authorization: user.org.auth },
      body: { userId: user.id, ip: OUTSIDE_IP },
    });
    expectStatus(start, 200, 'POST /v1/challenges');
    if (start.body.result !== 'challenge_required') {
      throw new Error(`mixed: expected a challenge, got ${start.body.result}`);
    }
    const challenge = start.body.challenge as { id: string; methods: string[] };
    let body: { code: string } | { backupCode: string };
    if (m.kind === 'totp') body = { code: nextTotp(m) };
    else if (m.kind === 'sms') body = { code: codeOf((await sms!).body) ?? '' };
    else {
      if (!m.backupCodes.length) m.backupCodes = await backupCodes(ctx, user.org, user);
      body = { backupCode: m.backupCodes.pop()! };
    }
    const verified = await request(`${stack.apiUrl}/v1/challenges/${challenge.id}/verify`, {
      headers: { authorization: user.org.auth },
      body,
    });
    expectStatus(verified, 200, `verify (${m.kind})`);
    if (verified.body.method !== METHOD[m.kind]) {
      throw new Error(`mixed: ${m.kind} login approved by ${verified.body.method}`);
    }
    return verified.body.method as string;
  } catch (error) {
    stack.sink.cancel(user.phone);
    throw error;
  }
}

/**
 * Each run, `perRun` users of its own log in once each (10 at a time): an app user logs in once
 * in the whole scenario, so no authenticator step is wanted twice within its window. After the
 * logins, the run waits until the fake took every SMS these users' challenges queued, then
 * counts per phone.
 */
export async function mixedLogins(ctx: Ctx, perRun = 40): Promise<MixedFigures> {
  const { stack } = ctx;
  const total = perRun * (ctx.config.runs + 1);
  ctx.log(`mixed logins: setting up ${total} users`);
  const everyone = await setUp(ctx, total);
  const orgId = everyone[0]!.user.org.id;
  const runs = await repeat(ctx, 'mixed logins', async (_durationS, run): Promise<MixedRun> => {
    const users = everyone.slice((run + 1) * perRun, (run + 2) * perRun);
    const since = new Date();
    const phones = new Map(users.map((m) => [m.user.phone, 0]));
    let sms = 0;
    const unsubscribe = stack.sink.subscribe((message) => {
      const got = phones.get(message.to);
      if (got === undefined) return;
      phones.set(message.to, got + 1);
      sms++;
    });
    try {
      const cpu = await stack.startCpu();
      const t0 = performance.now();
      const methods = await mapLimit(users, 10, (m) => login(ctx, m));
      const seconds = (performance.now() - t0) / 1000;
      const used = await cpu();
      // Every SMS these challenges queued is settled, and each one the provider took reached the
      // fake (a backup-code user's comes late, or never: a send the worker claims after the
      // backup code approved its challenge is skipped as no longer needed).
      await waitUntil(
        'the mixed run’s SMS to reach the fake',
        async () => {
          const [row] = await stack.sql<{ open: number; taken: number }[]>`
            select count(*) filter (where status in ('queued', 'sending', 'retrying'))::int as open,
              count(*) filter (where provider_sid is not null)::int as taken
            from sms_sends
            where organization_id = ${orgId} and created_at >= ${since}`;
          return row !== undefined && row.open === 0 && row.taken <= sms;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      const byMethod: Record<string, number> = {};
      for (const method of methods) byMethod[method] = (byMethod[method] ?? 0) + 1;
      return {
        logins: methods.length,
        noSms: [...phones.values()].filter((n) => n === 0).length,
        sms,
        byMethod,
        perSec: methods.length / seconds,
        cpu: perOp(used, methods.length),
      };
    } finally {
      unsubscribe();
    }
  });
  return { runs, mix: MIX };
}
