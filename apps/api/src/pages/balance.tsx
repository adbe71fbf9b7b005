import type { OrganizationRow } from '@twofa/db';
import type { PageLang } from './messages.ts';
import { usePageOrganization } from './page-organization.ts';

export type BalanceState = 'out' | 'low' | 'ok';

/** Used up at 0, low below the organization's threshold. */
export function balanceState(org: Pick<OrganizationRow, 'smsBalance' | 'lowBalanceThreshold'>) {
  if (org.smsBalance <= 0) return 'out' as const;
  return org.smsBalance < org.lowBalanceThreshold ? ('low' as const) : ('ok' as const);
}

/**
 * On an admin's every page while 2FA is on: the balance used up, or falling
 * below the threshold, with the way to the subscription page. With 2FA off
 * no code is sent, so the balance stops nobody (the settings page warns
 * before 2FA is turned on without credit).
 */
export function BalanceBanner({ lang }: { lang: PageLang }) {
  const org = usePageOrganization();
  if (!org?.admin || !org.row.twoFactorEnabled) return null;
  const state = balanceState(org.row);
  if (state === 'ok') return null;
  const { t } = lang;
  return (
    <div
      class={`notice ${state === 'out' ? 'error' : 'warn'} banner`}
      role="status"
      data-testid="balance-banner"
    >
      {state === 'out'
        ? t.balanceOut
        : t.balanceLow(org.row.smsBalance, org.row.lowBalanceThreshold)}{' '}
      <a href="/settings/subscription">{t.balanceLink}</a>
    </div>
  );
}
