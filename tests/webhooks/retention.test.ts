/** Finished webhook deliveries are kept CHALLENGE_RETENTION_DAYS, like the challenges. */
import { createMetrics } from '@twofa/observability';
import { runWebhookRetention } from '@twofa/worker';
import { describe, expect, it } from 'vitest';
import { captureLogs, withHarness } from '../support/index.ts';

const h = withHarness({ worker: false });

describe('webhook delivery retention', () => {
  it('deletes finished deliveries past the retention, keeps recent and undelivered ones', async () => {
    const org = await h.createOrganization({ name: 'Retention Clinic', country: 'FI' });
    const [hook] = await h.sql<{ id: string }[]>`
      insert into webhooks (organization_id, url, secret_sealed)
      values (${org.id}, 'https://hooks.example.com/in', 'v1.sealed') returning id`;
    const rows = await h.sql<{ id: string; name: string }[]>`
      insert into webhook_deliveries
        (organization_id, webhook_id, event_id, type, actor, event_created_at, status, created_at)
      values
        (${org.id}, ${hook!.id}, 'old-delivered', 'user_created', 'system', now(), 'delivered', now() - interval '91 days'),
        (${org.id}, ${hook!.id}, 'old-failed', 'user_created', 'system', now(), 'failed', now() - interval '91 days'),
        (${org.id}, ${hook!.id}, 'old-pending', 'user_created', 'system', now(), 'pending', now() - interval '91 days'),
        (${org.id}, ${hook!.id}, 'recent', 'user_created', 'system', now(), 'delivered', now() - interval '89 days')
      returning id::text, event_id as name`;
    expect(rows).toHaveLength(4);
    const metrics = createMetrics('worker');
    const deleted = await runWebhookRetention(
      { db: h.services.db, logger: captureLogs('retention').logger, metrics },
      { retentionDays: 90, batchSize: 1 },
    );
    expect(deleted).toBe(2);
    const left = await h.sql<{ name: string }[]>`
      select event_id as name from webhook_deliveries where webhook_id = ${hook!.id}
      order by event_id`;
    expect(left.map((r) => r.name)).toEqual(['old-pending', 'recent']);
    expect(await metrics.registry.getSingleMetricAsString('twofa_retention_deleted_total')).toMatch(
      /table="webhook_deliveries"[^\n]*\} 2/,
    );
  });
});
