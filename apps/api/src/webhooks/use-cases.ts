import { randomBytes, randomUUID } from 'node:crypto';
import { lookup } from 'node:dns';
import {
  type LookupAll,
  parseWebhookUrl,
  resolveWebhookTarget,
  sealSecret,
  type WebhookEventType,
  WebhookTargetError,
} from '@twofa/core';
import {
  createTestDelivery,
  createWebhook,
  deleteWebhook,
  getWebhook,
  inTransaction,
  recordAudit,
  setWebhookEnabled,
  type WebhookRow,
} from '@twofa/db';
import { ApiError, notFound } from '../lib/errors.ts';
import type { Services } from '../lib/services.ts';

/** The system resolver, every address of a name. */
const systemLookupAll: LookupAll = (hostname) =>
  new Promise((resolve, reject) => {
    lookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses);
    });
  });

/** Who asked, for the audit log. */
export interface Requester {
  actor: string;
  ip: string | null;
}

export function webhookJson(row: WebhookRow) {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    createdAt: row.createdAt.toISOString(),
    enabled: row.disabledAt === null,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    disabledReason: row.disabledReason,
    failingSince: row.failingSince?.toISOString() ?? null,
  };
}

/**
 * Checks a target the way the worker does before each delivery: the URL's
 * form, then every address its host resolves to. A refused one is `422
 * invalid_webhook_url` naming why.
 */
export async function checkWebhookTarget(
  services: Services,
  text: string,
  lookupAll: LookupAll = systemLookupAll,
): Promise<URL> {
  const rules = { allowPrivate: services.config.env.WEBHOOK_ALLOW_PRIVATE_TARGETS };
  try {
    const url = parseWebhookUrl(text, rules);
    await resolveWebhookTarget(url, rules, lookupAll);
    return url;
  } catch (error) {
    if (error instanceof WebhookTargetError) {
      throw new ApiError('invalid_webhook_url', error.message, { problem: error.problem });
    }
    throw error;
  }
}

/**
 * A new webhook and its signing secret (`whsec_` + base64 of 32 random
 * bytes, as Standard Webhooks' libraries read it), shown to the caller once
 * and stored only sealed under APP_SECRET, bound to the webhook's id.
 */
export async function addWebhook(
  services: Services,
  organizationId: string,
  input: { url: string; events?: readonly WebhookEventType[] | undefined },
  who: Requester,
): Promise<{ webhook: WebhookRow; secret: string }> {
  const url = await checkWebhookTarget(services, input.url);
  const id = randomUUID();
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const events = [...new Set(input.events ?? [])];
  const appSecret = services.config.appSecrets[0]!;
  const webhook = await inTransaction(services.db.sql, async (tx) => {
    const created = await createWebhook(tx, {
      id,
      organizationId,
      url: url.href,
      events,
      secretSealed: sealSecret(appSecret, 'webhook-secret', secret, id),
    });
    await recordAudit(tx, {
      organizationId,
      type: 'webhook_created',
      actor: who.actor,
      ip: who.ip,
      data: { webhookId: id, url: url.href, events },
    });
    return created;
  });
  return { webhook, secret };
}

export async function removeWebhook(
  services: Services,
  organizationId: string,
  webhookId: string,
  who: Requester,
): Promise<void> {
  const removed = await inTransaction(services.db.sql, async (tx) => {
    if (!(await deleteWebhook(tx, organizationId, webhookId))) return false;
    await recordAudit(tx, {
      organizationId,
      type: 'webhook_deleted',
      actor: who.actor,
      ip: who.ip,
      data: { webhookId },
    });
    return true;
  });
  if (!removed) throw notFound('Webhook');
}

/**
 * Turns a webhook on again (after it was disabled for failing, once its
 * receiver works) or off. Turning it on checks its target again, as adding
 * it does, so a URL whose host now points inside is refused at once.
 */
export async function updateWebhook(
  services: Services,
  organizationId: string,
  webhookId: string,
  input: { enabled: boolean },
  who: Requester,
): Promise<WebhookRow> {
  const sql = services.db.sql;
  const current = await getWebhook(sql, organizationId, webhookId);
  if (!current) throw notFound('Webhook');
  if (input.enabled) await checkWebhookTarget(services, current.url);
  const updated = await setWebhookEnabled(sql, {
    organizationId,
    id: webhookId,
    enabled: input.enabled,
    actor: who.actor,
    ip: who.ip,
  });
  if (!updated) throw notFound('Webhook');
  return updated;
}

/** A `webhook_test` event for one webhook; the worker delivers it like any other. */
export async function sendTestEvent(
  services: Services,
  organizationId: string,
  webhookId: string,
  who: Requester,
): Promise<{ id: string; eventId: string }> {
  const delivery = await createTestDelivery(services.db.sql, {
    organizationId,
    webhookId,
    actor: who.actor,
    ip: who.ip,
  });
  if (!delivery) throw notFound('Webhook');
  return delivery;
}
