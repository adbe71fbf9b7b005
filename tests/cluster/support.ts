/** What the cluster and replica tests share: verifying codes, counting outcomes. */
import type { FakeTwilio } from '@twofa/testkit';
import { expect } from 'vitest';
import { jsonRequest, type SeededOrganization, type StartOutcome } from '../support/index.ts';

export function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** The code in the latest SMS the fake Twilio took for a number. */
export function codeFor(twilio: FakeTwilio, phone: string): string | null {
  const last = twilio.messages.filter((m) => m.to === phone).at(-1);
  return last ? (/\b(\d{6})\b/.exec(last.body)?.[1] ?? null) : null;
}

/**
 * The second half of each login: the code the user got by SMS, sent back to
 * POST /v1/challenges/{id}/verify. Every one must authenticate.
 */
export async function verifyAll(
  baseUrl: string,
  twilio: FakeTwilio,
  org: SeededOrganization,
  started: readonly StartOutcome[],
): Promise<void> {
  const phoneOf = new Map(org.users.map((u) => [u.id, u.phone]));
  const results = await Promise.all(
    started.map(async (s) => {
      const code = codeFor(twilio, phoneOf.get(s.userId)!);
      const res = await jsonRequest(baseUrl, 'POST', `/v1/challenges/${s.challengeId}/verify`, {
        key: org.apiKey,
        body: { code },
      });
      return `${res.status} ${res.body?.result}`;
    }),
  );
  expect(countBy(results, (r) => r)).toEqual({ '200 authenticated': started.length });
}
