import { enqueueSendCode } from '@twofa/queue';
import type { AdmissionPlan, Refund } from '../lib/rate-limits.ts';
import type { ChallengeDeps, RequestLogger } from './deps.ts';

/**
 * Admits a request that sends a code to `phone`: the send limits (the
 * destination's and the organization's, after any of the plan's own), then
 * the circuit breaker, in one admission. A refused request gives its points
 * back, so it counts toward no limit; an admitted one gets the refund to use
 * if it then ends without committing a send.
 */
export function admitSend(
  deps: ChallengeDeps,
  send: { organizationId: string; phone: string; ip: string | null },
  plan: Omit<AdmissionPlan, 'send'> = {},
): Promise<Refund> {
  return deps.rateLimits.admit({
    ...plan,
    take: [
      ...(plan.take ?? []),
      ['destination_sends', send.phone],
      ['org_sends', send.organizationId],
    ],
    send,
  });
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
    await refund.give();
    throw error;
  }
  if (committed === null) await refund.give();
  return committed;
}

/**
 * The row is committed first (the outbox); the job is then enqueued at once
 * for speed, and the send kept as the challenge's hint for its verify. If Redis is away the reconciler enqueues it when Redis is back,
 * so the answer stands either way.
 */
export async function queueSend(
  deps: ChallengeDeps,
  { challengeId, sendId }: { challengeId: string; sendId: string },
  log: RequestLogger,
): Promise<void> {
  deps.sendHints.set(challengeId, sendId);
  try {
    await enqueueSendCode(deps.sendQueue, sendId);
  } catch (error) {
    (log.logger ?? deps.logger).warn(
      { sendId, err: (error as Error).message },
      'enqueue failed; the reconciler will pick the send up',
    );
  }
}
