import { type CircuitBreakerSettings, type Clock, isSendPaused } from '@twofa/core';
import { type Database, destinationVerifiedBefore, recordAudit, sendStats } from '@twofa/db';
import type { Metrics } from '@twofa/observability';

import { ApiError } from './errors.ts';

const HOUR_MS = 3_600_000;
const STATS_TTL_MS = 2_000;

/**
 * SMS pumping guard. The hourly stats are cached per organization for two
 * seconds: the breaker reacts to trends, and the cache keeps a count query off
 * every send.
 */
export class CircuitBreaker {
  private readonly cache = new Map<string, { at: number; sent: number; verified: number }>();
  private readonly paused = new Set<string>();

  constructor(
    private readonly db: Database,
    private readonly settings: CircuitBreakerSettings,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
  ) {}

  private async stats(organizationId: string) {
    const now = this.clock.now().getTime();
    const cached = this.cache.get(organizationId);
    if (cached && now - cached.at < STATS_TTL_MS) return cached;
    const fresh = await sendStats(this.db.sql, organizationId, new Date(now - HOUR_MS));
    const entry = { at: now, ...fresh };
    this.cache.set(organizationId, entry);
    return entry;
  }

  async assertSendAllowed(organizationId: string, phone: string, ip: string | null): Promise<void> {
    if (!this.settings.enabled) return;
    const { sent, verified } = await this.stats(organizationId);
    const lowShare = isSendPaused(
      { sentLastHour: sent, verifiedLastHour: verified, destinationVerifiedBefore: false },
      this.settings,
    );
    if (!lowShare) {
      this.paused.delete(organizationId);
      return;
    }
    if (await destinationVerifiedBefore(this.db.sql, organizationId, phone)) return;
    this.metrics.smsPaused.inc();
    if (!this.paused.has(organizationId)) {
      this.paused.add(organizationId);
      await recordAudit(this.db.sql, {
        organizationId,
        type: 'sms_paused',
        actor: 'system',
        ip,
        data: { sentLastHour: sent, verifiedLastHour: verified },
      });
    }
    const share = Math.round((verified / sent) * 100);
    throw new ApiError(
      'sms_paused',
      `SMS to new numbers is paused: only ${share}% of the ${sent} codes sent in the last hour were verified.`,
      { sentLastHour: sent, verifiedLastHour: verified },
    );
  }
}
