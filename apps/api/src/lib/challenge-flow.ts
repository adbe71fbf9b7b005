import { randomUUID } from 'node:crypto';
import {
  challengeView,
  decideSecondFactor,
  hashSecret,
  phoneCountry,
  TRUSTED_DEVICE_TTL_MS,
} from '@twofa/core';
import { type ChallengeRow, createChallenge, type LoginContext } from '@twofa/db';
import { enqueueSendCode } from '@twofa/queue';
import type { Context } from 'hono';
import type { AppEnv } from './env.ts';
import { ApiError } from './errors.ts';
import type { CachedOrganization } from './org-cache.ts';
import type { LimitKey } from './rate-limits.ts';

export function challengeJson(c: Context<AppEnv>, row: ChallengeRow) {
  return challengeView(row, c.get('services').clock.now());
}

/** Refuses a destination outside the organization's allowed countries, before any credit is spent. */
export function assertDestinationAllowed(org: CachedOrganization, phone: string): void {
  const allowed = org.row.smsAllowedCountries;
  if (allowed.length === 0) return;
  const country = phoneCountry(phone);
  if (!country || !allowed.includes(country)) {
    throw new ApiError(
      'phone_country_not_allowed',
      `Codes may only be sent to numbers in ${allowed.join(', ')}; this number is in ${country ?? 'an unknown country'}.`,
      { allowedCountries: allowed, country },
    );
  }
}

/**
 * Per-send guards, checked when a request that sends a code comes in. A
 * refused request gives its points back, so it counts toward no limit.
 */
export async function admitSend(
  c: Context<AppEnv>,
  phone: string,
  ip: string | null,
  alsoLimits: readonly LimitKey[] = [],
): Promise<void> {
  const { rateLimits, breaker } = c.get('services');
  const organizationId = c.get('organizationId');
  const refund = await rateLimits.consumeAll([
    ...alsoLimits,
    ['destination_sends', phone],
    ['org_sends', organizationId],
  ]);
  try {
    await breaker.assertSendAllowed(organizationId, phone, ip);
  } catch (error) {
    await refund();
    throw error;
  }
}

/**
 * The row is committed first (the outbox); the job is then enqueued at once
 * for speed. If Redis is away the reconciler enqueues it when Redis is back,
 * so the answer stands either way.
 */
export async function queueSend(c: Context<AppEnv>, sendId: string): Promise<void> {
  try {
    await enqueueSendCode(c.get('services').sendQueue, sendId);
  } catch (error) {
    c.get('logger').warn(
      { sendId, err: (error as Error).message },
      'enqueue failed; the reconciler will pick the send up',
    );
  }
}

export function deviceTokenHash(c: Context<AppEnv>, token: string | undefined): string | null {
  return token ? hashSecret(c.get('services').config.appSecret, 'device-token', token) : null;
}

export function newDeviceToken(now: Date) {
  return { expiresAt: new Date(now.getTime() + TRUSTED_DEVICE_TTL_MS) };
}

/** The shared second half of /v1/logins and /v1/challenges: decide, then start a challenge if needed. */
export async function decideAndStart(
  c: Context<AppEnv>,
  org: CachedOrganization,
  context: LoginContext,
  ip: string,
) {
  const services = c.get('services');
  const now = services.clock.now();
  const { user, device } = context;
  const decision = decideSecondFactor({
    organization: {
      id: org.row.id,
      twoFactorEnabled: org.row.twoFactorEnabled,
      authMethod: org.row.authMethod,
      skipNetworks: org.skipNetworks,
    },
    user: { id: user.id, twoFactorDisabled: user.twoFactorDisabled },
    ip,
    device,
    now,
  });
  if (decision.result === 'authenticated') {
    services.metrics.challengesStarted.inc({ outcome: decision.reason });
    return { result: 'authenticated' as const, userId: user.id, reason: decision.reason };
  }
  if (user.phone) assertDestinationAllowed(org, user.phone);
  // A phone_required challenge counts toward its user's limit too.
  const userLimit: LimitKey = ['user_challenges', user.id];
  if (user.phone) await admitSend(c, user.phone, ip, [userLimit]);
  else await services.rateLimits.consume(...userLimit);
  const sendId = randomUUID();
  const row = await createChallenge(services.db.sql, {
    organizationId: org.row.id,
    userId: user.id,
    ip,
    phone: user.phone,
    sendId,
    now,
  });
  if (user.phone) await queueSend(c, sendId);
  services.metrics.challengesStarted.inc({ outcome: row.status });
  return {
    result: 'challenge_required' as const,
    userId: user.id,
    challenge: challengeJson(c, row),
  };
}
