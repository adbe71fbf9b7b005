import { type JobsOptions, Queue } from 'bullmq';
import type { Cluster, Redis } from 'ioredis';

export const WEBHOOK_DELIVERY_QUEUE = 'webhook-delivery';

/** Ids only: the event, the URL and the secret are read from Postgres when the job runs. */
export interface WebhookDeliveryJob {
  deliveryId: string;
}

/** The custom backoff type the webhook worker computes (see `webhookRetryDelayMs`). */
export const WEBHOOK_BACKOFF = 'webhook';

/**
 * Delays after each failed attempt, Standard Webhooks' (Svix's) schedule: the
 * first retry within 10 s, then growing, 27.6 hours in all, 8 attempts. The
 * delivery row counts the attempts, so the schedule survives a Redis loss.
 */
export const WEBHOOK_RETRY_SCHEDULE_MS = [
  5_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3_600_000,
  5 * 3_600_000,
  10 * 3_600_000,
  10 * 3_600_000,
] as const;

export const WEBHOOK_MAX_ATTEMPTS = WEBHOOK_RETRY_SCHEDULE_MS.length + 1;

/**
 * The delay before the next attempt after `attempts` failed ones, or null when
 * that was the last. `firstDelayMs` scales the whole schedule (tests shorten it).
 */
export function webhookRetryDelayMs(attempts: number, firstDelayMs = 5_000): number | null {
  const base = WEBHOOK_RETRY_SCHEDULE_MS[attempts - 1];
  if (base === undefined) return null;
  return Math.round((base * firstDelayMs) / WEBHOOK_RETRY_SCHEDULE_MS[0]);
}

export const webhookDeliveryJobOptions: JobsOptions = {
  // The processor decides when to stop (from the row's attempts); this only bounds a
  // job that keeps stalling or erring before it can record anything.
  attempts: WEBHOOK_MAX_ATTEMPTS * 2,
  backoff: { type: WEBHOOK_BACKOFF },
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
};

/** One job per delivery row: enqueueing it twice is a no-op (no ':' in ids). */
export function webhookDeliveryJobId(deliveryId: string): string {
  return `delivery-${deliveryId}`;
}

export function createWebhookDeliveryQueue(
  connection: Redis | Cluster,
  prefix: string,
): Queue<WebhookDeliveryJob> {
  return new Queue<WebhookDeliveryJob>(WEBHOOK_DELIVERY_QUEUE, {
    connection,
    prefix,
    defaultJobOptions: webhookDeliveryJobOptions,
  });
}

export async function enqueueWebhookDelivery(
  queue: Queue<WebhookDeliveryJob>,
  deliveryId: string,
  delayMs = 0,
): Promise<void> {
  await queue.add(
    'deliver',
    { deliveryId },
    { jobId: webhookDeliveryJobId(deliveryId), ...(delayMs > 0 && { delay: delayMs }) },
  );
}
