import { enqueueSendCode } from '@twofa/queue';
import type { LimitKey, LimitName, Refund } from '../lib/rate-limits.ts';
import type { ChallengeDeps, RequestLogger } from './deps.ts';

/**
 * Per-send guards, checked when a request that sends a code comes in. A
 * refused request gives its points back, so it counts toward no limit; an
 * admitted one gets the refund to call if it then ends without committing
 * a send.
 */
export async function admitSend(
  deps: ChallengeDeps,
  send: { organizationId: string; phone: string; ip: string | null },
  points: {
    /** More limits of this request, taken with the send's own. */
    also?: readonly LimitKey[];
    /** Points taken first and kept, in the same round trip (see RateLimits.consumeThen). */
    first?: readonly LimitKey[];
    /** An earlier take's points to give back first, in the same round trip. */
    giveBack?: { refund: Refund; only: readonly LimitName[] } | undefined;
  } = {},
): Promise<Refund> {
  const { organizationId, phone, ip } = send;
  const refund = await deps.rateLimits.consumeThen(
    points.first ?? [],
    [...(points.also ?? []), ['destination_sends', phone], ['org_sends', organizationId]],
    points.giveBack,
  );
  try {
    await deps.breaker.assertSendAllowed(organizationId, phone, ip);
  } catch (error) {
    await refund();
    throw error;
  }
  return refund;
}

/**
 * Runs the statement that commits a send (or a phone_required challenge); when
 * it stores nothing (null: a lost race) or fails, the points taken for it are
 * given back, since nothing will be sent.
 */
export async function refundUnless<T>(
  refund: Refund,
  commit: () => Promise<T | null>,
): Promise<T | null> {
  let committed: T | null;
  try {
    committed = await commit();
  } catch (error) {
    await refund();
    throw error;
  }
  if (committed === null) await refund();
  return committed;
}

/**
 * The row is committed first (the outbox); the job is then enqueued at once
 * for speed. If Redis is away the reconciler enqueues it when Redis is back,
 * so the answer stands either way.
 */
export async function queueSend(
  deps: ChallengeDeps,
  sendId: string,
  log: RequestLogger,
): Promise<void> {
  try {
    await enqueueSendCode(deps.sendQueue, sendId);
  } catch (error) {
    (log.logger ?? deps.logger).warn(
      { sendId, err: (error as Error).message },
      'enqueue failed; the reconciler will pick the send up',
    );
  }
}
