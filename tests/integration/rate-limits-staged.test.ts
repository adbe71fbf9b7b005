/**
 * RateLimits.admit with `keep` and `take`: two takes in one round trip, with the answers
 * of the two made one after the other: the kept points kept whatever follows, the rest
 * all or none, the refund giving back only the rest.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';

const h = withHarness({
  worker: false,
  env: { RATE_LIMIT_IP_LOGINS_PER_MINUTE: '3', RATE_LIMIT_DESTINATION_SENDS_PER_HOUR: '1' },
});
const fresh = (label: string) => `${label}-${randomBytes(4).toString('hex')}`;

describe('admit: keep, then take', () => {
  it('keeps the first points when the rest is refused, and takes none of the rest', async () => {
    const limits = h.services.rateLimits;
    const [ip, phone, org] = [fresh('ip'), fresh('phone'), fresh('org')];
    await limits.admit({ take: [['destination_sends', phone]] });
    await expect(
      limits.admit({
        keep: [['ip_logins', ip]],
        take: [
          ['org_sends', org],
          ['destination_sends', phone],
        ],
      }),
    ).rejects.toMatchObject({ code: 'rate_limited', extra: { limit: 'destination_sends' } });
    expect(await limits.used('ip_logins', ip)).toBe(1);
    expect(await limits.used('org_sends', org)).toBe(0);
    expect(await limits.used('destination_sends', phone)).toBe(1);
  });

  it('refuses on the first points before looking at the rest, taking nothing', async () => {
    const limits = h.services.rateLimits;
    const [ip, org] = [fresh('ip'), fresh('org')];
    for (let i = 0; i < 3; i++) await limits.admit({ take: [['ip_logins', ip]] });
    await expect(
      limits.admit({ keep: [['ip_logins', ip]], take: [['org_sends', org]] }),
    ).rejects.toMatchObject({ extra: { limit: 'ip_logins' } });
    expect(await limits.used('ip_logins', ip)).toBe(3);
    expect(await limits.used('org_sends', org)).toBe(0);
  });

  it('takes both, and its refund gives back only the rest, once', async () => {
    const limits = h.services.rateLimits;
    const [ip, org, phone] = [fresh('ip'), fresh('org'), fresh('phone')];
    const refund = await limits.admit({
      keep: [['ip_logins', ip]],
      take: [
        ['org_sends', org],
        ['destination_sends', phone],
      ],
    });
    expect(await limits.used('ip_logins', ip)).toBe(1);
    expect(await limits.used('org_sends', org)).toBe(1);
    await refund.give(['org_sends']);
    await refund.give();
    await refund.give();
    expect(await limits.used('ip_logins', ip)).toBe(1);
    expect(await limits.used('org_sends', org)).toBe(0);
    expect(await limits.used('destination_sends', phone)).toBe(0);
  });

  it('folds an earlier refund in: given back whatever the takes answer, and only once', async () => {
    const limits = h.services.rateLimits;
    const [ip, account, phone, org] = [fresh('ip'), fresh('acct'), fresh('phone'), fresh('org')];
    const earlier = await limits.admit({
      take: [
        ['ip_logins', ip],
        ['account_failures', account],
      ],
    });
    await limits.admit({ take: [['destination_sends', phone]] });
    await expect(
      limits.admit({
        take: [
          ['org_sends', org],
          ['destination_sends', phone],
        ],
        giveBack: earlier.claim(['account_failures']),
      }),
    ).rejects.toMatchObject({ extra: { limit: 'destination_sends' } });
    expect(await limits.used('account_failures', account)).toBe(0);
    expect(await limits.used('ip_logins', ip)).toBe(1);
    expect(await limits.used('org_sends', org)).toBe(0);
    // Already given back: the refund gives back the address's point, and the account's no more.
    await limits.admit({ take: [['account_failures', account]] });
    await earlier.give();
    expect(await limits.used('account_failures', account)).toBe(1);
    expect(await limits.used('ip_logins', ip)).toBe(0);
  });
});
