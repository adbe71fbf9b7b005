/** Data for a stack: organizations with users inserted in bulk, and challenges started in lanes. */
import { ADMIN_KEY } from './env.ts';
import { sleep } from './process.ts';
import type { Stack } from './stack.ts';

const PHONE_BLOCK = 10_000;
let phoneBlocks = 0;

export interface SeededOrganization {
  id: string;
  apiKey: string;
  /** Users with a phone each, distinct numbers. */
  users: { id: string; phone: string }[];
}

/**
 * An organization with 2FA on, `credits` SMS credits and `users` users with a
 * phone each. The organization goes through the API (so its key is real);
 * the users are inserted in one statement, since hundreds of API calls would
 * only measure user creation.
 */
export async function seedOrganization(
  stack: Stack,
  opts: { users: number; credits: number; name?: string },
): Promise<SeededOrganization> {
  const created = await stack.request('POST', '/v1/organizations', {
    key: ADMIN_KEY,
    body: { name: opts.name ?? 'Fault Clinic' },
  });
  if (created.status !== 201) throw new Error(`create org: ${created.status}`);
  const { id, apiKey } = created.body as { id: string; apiKey: string };
  const settings = await stack.request('PATCH', '/v1/settings/password', {
    key: apiKey,
    body: { twoFactorEnabled: true },
  });
  if (settings.status !== 200) throw new Error(`enable 2FA: ${settings.status}`);
  if (opts.credits > 0) {
    const topUp = await stack.request('POST', `/v1/organizations/${id}/sms-credits`, {
      key: ADMIN_KEY,
      body: { amount: opts.credits },
    });
    if (topUp.status !== 201) throw new Error(`top up: ${topUp.status}`);
  }
  // A number range of this organization's own, so numbers never repeat across organizations.
  if (opts.users > PHONE_BLOCK) throw new Error(`at most ${PHONE_BLOCK} users per organization`);
  const base = 1_000_000 + (phoneBlocks++ % 800) * PHONE_BLOCK;
  const users = await stack.sql<{ id: string; phone: string }[]>`
    insert into users (organization_id, email, phone)
    select ${id}, 'user' || n || '@fault.example', '+35840' || (${base} + n)::text
    from generate_series(1, ${opts.users}) n
    returning id, phone`;
  return { id, apiKey, users: [...users] };
}

export interface StartOutcome {
  userId: string;
  status: number;
  /** The challenge id when the API answered 200 with a challenge. */
  challengeId: string | null;
  code: string | null;
  /** Set when no HTTP answer came back. */
  error: string | null;
}

/** Starts one challenge per user through POST /v1/challenges, `concurrency` at a time. */
export async function startChallenges(
  stack: Stack,
  org: SeededOrganization,
  users: readonly { id: string }[] = org.users,
  { concurrency = 20, pauseMs = 0 }: { concurrency?: number; pauseMs?: number } = {},
): Promise<StartOutcome[]> {
  const outcomes: StartOutcome[] = [];
  let next = 0;
  const lane = async () => {
    for (;;) {
      const user = users[next++];
      if (!user) return;
      try {
        const res = await stack.request('POST', '/v1/challenges', {
          key: org.apiKey,
          body: { userId: user.id, ip: '198.51.100.7' },
          timeoutMs: 15_000,
        });
        outcomes.push({
          userId: user.id,
          status: res.status,
          challengeId: res.body?.challenge?.id ?? null,
          code: res.body?.code ?? null,
          error: null,
        });
      } catch (error) {
        outcomes.push({
          userId: user.id,
          status: 0,
          challengeId: null,
          code: null,
          error: (error as Error).message,
        });
      }
      if (pauseMs) await sleep(pauseMs);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return outcomes;
}
