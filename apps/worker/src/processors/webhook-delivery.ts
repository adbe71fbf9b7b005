import {
  type LookupAll,
  openSecret,
  parseWebhookUrl,
  resolveWebhookTarget,
  SealedSecretError,
  WebhookTargetError,
} from '@twofa/core';
import {
  type Database,
  failDelivery,
  loadDelivery,
  recordDeliveryFailure,
  recordDeliverySuccess,
} from '@twofa/db';
import type { Logger } from '@twofa/observability';
import { type WebhookDeliveryJob, webhookRetryDelayMs } from '@twofa/queue';
import { type Job, UnrecoverableError } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { postWebhook } from '../webhook-http.ts';

/** A webhook with no successful delivery for this long is disabled. */
export const WEBHOOK_DISABLE_AFTER_MS = 3 * 24 * 3_600_000;

export type DeliveryOutcome = 'delivered' | 'retrying' | 'failed' | 'skipped';

export interface WebhookDeliveryDeps {
  db: Database;
  logger: Logger;
  appSecrets: readonly string[];
  allowPrivateTargets: boolean;
  timeoutMs: number;
  retryFirstDelayMs: number;
  lookup: LookupAll;
}

/**
 * Thrown after a failed attempt was recorded and another is scheduled: the
 * worker's backoff strategy reads the delay from it, the one the row holds.
 */
export class DeliveryRetryError extends Error {
  override name = 'DeliveryRetryError';
  constructor(
    readonly delayMs: number,
    message: string,
  ) {
    super(message);
  }
}

/** The last attempt failed (recorded): no more retries. */
export class DeliveryFailedError extends UnrecoverableError {
  override name = 'DeliveryFailedError';
}

/** The JSON body every receiver gets; `data` is the audit log's, never a secret. */
export function webhookBody(delivery: {
  eventId: string;
  type: string;
  organizationId: string;
  eventCreatedAt: Date;
  actor: string;
  ip: string | null;
  data: Record<string, unknown>;
}): string {
  return JSON.stringify({
    id: delivery.eventId,
    type: delivery.type,
    organizationId: delivery.organizationId,
    createdAt: delivery.eventCreatedAt.toISOString(),
    actor: delivery.actor,
    ip: delivery.ip,
    data: delivery.data,
  });
}

/**
 * One attempt of one delivery: check the target again (DNS may have moved),
 * sign with the webhook's secret per Standard Webhooks (`webhook-id` is the
 * event's id on every attempt), POST to the checked address, and record the
 * answer in the row. A 2xx completes the job; anything else is counted and
 * thrown for BullMQ to retry on the row's schedule, or, after the last
 * attempt, to fail.
 */
export async function processWebhookDelivery(
  job: Job<WebhookDeliveryJob>,
  deps: WebhookDeliveryDeps,
): Promise<DeliveryOutcome> {
  const delivery = await loadDelivery(deps.db.sql, job.data.deliveryId);
  // Delivered already (a duplicate job), failed, or deleted with its webhook.
  if (delivery?.status !== 'pending') return 'skipped';
  if (delivery.webhookDisabled) {
    await failDelivery(deps.db.sql, { id: delivery.id, error: 'webhook disabled' });
    return 'failed';
  }
  const rules = { allowPrivate: deps.allowPrivateTargets };
  let answer: { statusCode: number | null; error: string | null };
  try {
    const url = parseWebhookUrl(delivery.url, rules);
    // Every address passed the check (one that did not refuses the whole target).
    const addresses = await resolveWebhookTarget(url, rules, deps.lookup);
    const secret = openSecret(
      deps.appSecrets,
      'webhook-secret',
      delivery.secretSealed,
      delivery.webhookId,
    );
    const body = webhookBody(delivery);
    // Unix seconds of this attempt: receivers refuse stale timestamps, so each retry signs anew.
    const now = new Date();
    const headers = {
      'webhook-id': delivery.eventId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(delivery.eventId, now, body),
    };
    answer = await postWebhook({
      url,
      addresses,
      headers,
      body,
      timeoutMs: deps.timeoutMs,
    });
  } catch (error) {
    if (error instanceof WebhookTargetError) {
      answer = { statusCode: null, error: `target refused: ${error.message}` };
    } else if (error instanceof SealedSecretError) {
      // Sealed under an APP_SECRET no longer configured: retrying cannot help, nor can a
      // delivery go out unsigned. Recorded like any failure, so the webhook's admins see it.
      answer = { statusCode: null, error: 'the signing secret cannot be opened with APP_SECRET' };
    } else {
      throw error;
    }
  }

  if (answer.error === null && answer.statusCode !== null) {
    await recordDeliverySuccess(deps.db.sql, { id: delivery.id, statusCode: answer.statusCode });
    return 'delivered';
  }
  const attempts = delivery.attempts + 1;
  const retryDelayMs = webhookRetryDelayMs(attempts, deps.retryFirstDelayMs);
  const failure = await recordDeliveryFailure(deps.db.sql, {
    id: delivery.id,
    statusCode: answer.statusCode,
    error: answer.error ?? 'no answer',
    retryDelayMs,
    disableAfterMs: WEBHOOK_DISABLE_AFTER_MS,
  });
  if (!failure) return 'skipped';
  const log = {
    deliveryId: delivery.id,
    webhookId: delivery.webhookId,
    attempts: failure.attempts,
  };
  if (failure.webhookDisabled) {
    deps.logger.warn(log, 'webhook disabled: no successful delivery for days');
    await failDelivery(deps.db.sql, { id: delivery.id, error: 'webhook disabled' });
  }
  if (failure.status === 'failed' || retryDelayMs === null || failure.webhookDisabled) {
    throw new DeliveryFailedError(`delivery ${delivery.id} failed: ${answer.error}`);
  }
  throw new DeliveryRetryError(retryDelayMs, `delivery ${delivery.id}: ${answer.error}`);
}
