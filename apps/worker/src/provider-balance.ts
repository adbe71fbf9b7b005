import type { Logger, Metrics } from '@twofa/observability';
import type { SmsProvider } from '@twofa/sms';

/** Twilio's balance moves slowly; polling it often would only spend API calls. */
export const PROVIDER_BALANCE_INTERVAL_MS = 5 * 60_000;

/**
 * Polls the provider's account balance into a gauge, so a scrape reads the
 * cached value and never calls the provider itself.
 */
export function startProviderBalancePoll(
  sms: SmsProvider,
  deps: { metrics: Metrics; logger: Logger },
  intervalMs: number,
): { stop(): void } {
  if (!sms.balance) return { stop() {} };
  const poll = async () => {
    try {
      const balance = await sms.balance?.();
      if (!balance) return;
      deps.metrics.providerBalance.set(
        { provider: sms.name, currency: balance.currency },
        balance.balance,
      );
      deps.metrics.providerBalanceUpdated.set({ provider: sms.name }, Date.now() / 1000);
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message }, 'provider balance poll failed');
    }
  };
  void poll();
  const timer = setInterval(poll, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
