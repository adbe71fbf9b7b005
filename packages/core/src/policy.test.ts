import { describe, expect, it } from 'vitest';
import { compileCidrs } from './cidr.ts';
import {
  type AuthMethod,
  decideSecondFactor,
  isDeviceTrusted,
  isTwoFactorAvailable,
  type PolicyDecision,
  type PolicyInput,
  type TrustedDeviceFacts,
} from './policy.ts';

const ORG = 'org-1';
const OTHER_ORG = 'org-2';
const USER = 'user-1';
const OTHER_USER = 'user-2';
const NOW = new Date('2025-03-01T12:00:00.000Z');
const DAY = 24 * 60 * 60 * 1000;

const SKIP_CIDRS = ['192.168.10.0/24', '203.0.113.0/24', '2001:db8::/48'];
const skipNetworks = compileCidrs(SKIP_CIDRS);

/** Each address with whether it lies in SKIP_CIDRS, written out by hand, not computed. */
const IPS = [
  { name: 'IPv4 inside', ip: '192.168.10.77', inSkipRange: true },
  { name: 'IPv4 at the range end', ip: '203.0.113.255', inSkipRange: true },
  { name: 'IPv4 outside', ip: '192.168.11.1', inSkipRange: false },
  { name: 'IPv6 inside', ip: '2001:db8:0:ffff::1', inSkipRange: true },
  { name: 'IPv6 outside', ip: '2001:db9::1', inSkipRange: false },
  { name: 'IPv4-mapped IPv6 inside', ip: '::ffff:203.0.113.9', inSkipRange: true },
  { name: 'IPv4-mapped IPv6 outside', ip: '::ffff:198.51.100.9', inSkipRange: false },
  // An address nobody vouched for (X-Forwarded-For from a peer not in TRUST_PROXY) skips nothing.
  { name: 'no address to trust', ip: null, inSkipRange: false },
] as const;

type DeviceCase = 'valid' | 'expired' | 'revoked' | 'other_user' | 'other_org' | 'none';

const DEVICES: Record<DeviceCase, TrustedDeviceFacts | null> = {
  valid: {
    userId: USER,
    organizationId: ORG,
    expiresAt: new Date(NOW.getTime() + DAY),
    revokedAt: null,
  },
  expired: {
    userId: USER,
    organizationId: ORG,
    expiresAt: new Date(NOW.getTime() - 1),
    revokedAt: null,
  },
  revoked: {
    userId: USER,
    organizationId: ORG,
    expiresAt: new Date(NOW.getTime() + DAY),
    revokedAt: new Date(NOW.getTime() - DAY),
  },
  other_user: {
    userId: OTHER_USER,
    organizationId: ORG,
    expiresAt: new Date(NOW.getTime() + DAY),
    revokedAt: null,
  },
  other_org: {
    userId: USER,
    organizationId: OTHER_ORG,
    expiresAt: new Date(NOW.getTime() + DAY),
    revokedAt: null,
  },
  none: null,
};

const AUTH_METHODS: AuthMethod[] = ['password', 'saml2', 'ldap'];

interface Row {
  twoFactorEnabled: boolean;
  authMethod: AuthMethod;
  exempt: boolean;
  ip: (typeof IPS)[number];
  device: DeviceCase;
}

/**
 * The contract's rule, written plainly and independently of the product code:
 * the first reason that applies wins; with none, a second factor is required.
 */
function reference(row: Row): PolicyDecision {
  if (!row.twoFactorEnabled) return { result: 'authenticated', reason: 'two_factor_disabled' };
  if (row.authMethod === 'saml2' || row.authMethod === 'ldap') {
    return { result: 'authenticated', reason: 'external_auth' };
  }
  if (row.exempt) return { result: 'authenticated', reason: 'user_exempt' };
  if (row.ip.inSkipRange) return { result: 'authenticated', reason: 'trusted_network' };
  if (row.device === 'valid') return { result: 'authenticated', reason: 'trusted_device' };
  return { result: 'challenge_required' };
}

function input(row: Row, now = NOW): PolicyInput {
  return {
    organization: {
      id: ORG,
      twoFactorEnabled: row.twoFactorEnabled,
      authMethod: row.authMethod,
      skipNetworks,
    },
    user: { id: USER, twoFactorDisabled: row.exempt },
    ip: row.ip.ip,
    device: DEVICES[row.device],
    now,
  };
}

function cartesian(): Row[] {
  const rows: Row[] = [];
  for (const twoFactorEnabled of [true, false]) {
    for (const authMethod of AUTH_METHODS) {
      for (const exempt of [true, false]) {
        for (const ip of IPS) {
          for (const device of Object.keys(DEVICES) as DeviceCase[]) {
            rows.push({ twoFactorEnabled, authMethod, exempt, ip, device });
          }
        }
      }
    }
  }
  return rows;
}

const ALL_ROWS = cartesian();

function label(row: Row): string {
  return [
    `2fa=${row.twoFactorEnabled ? 'on' : 'off'}`,
    `auth=${row.authMethod}`,
    `exempt=${row.exempt}`,
    `ip=${row.ip.name}`,
    `device=${row.device}`,
  ].join(' ');
}

describe('decideSecondFactor over the whole cartesian product', () => {
  it('covers every combination', () => {
    expect(ALL_ROWS).toHaveLength(2 * 3 * 2 * IPS.length * 6);
  });

  it.each(ALL_ROWS.map((row) => [label(row), row] as const))('%s', (_label, row) => {
    expect(decideSecondFactor(input(row))).toEqual(reference(row));
  });

  it('reaches every answer somewhere in the product', () => {
    const seen = new Set(
      ALL_ROWS.map((row) => {
        const d = decideSecondFactor(input(row));
        return d.result === 'authenticated' ? d.reason : d.result;
      }),
    );
    expect([...seen].sort()).toEqual(
      [
        'challenge_required',
        'external_auth',
        'trusted_device',
        'trusted_network',
        'two_factor_disabled',
        'user_exempt',
      ].sort(),
    );
  });
});

const insideV4 = IPS[0];
const outsideV4 = IPS[2];
const insideV6 = IPS[3];
const outsideV6 = IPS[4];
const mappedInside = IPS[5];
const mappedOutside = IPS[6];

const base: Row = {
  twoFactorEnabled: true,
  authMethod: 'password',
  exempt: false,
  ip: outsideV4,
  device: 'none',
};

describe('decideSecondFactor: an address nobody vouched for', () => {
  it('is in no skip network, not even one holding every address', () => {
    const everything = compileCidrs(['0.0.0.0/0', '::/0']);
    const decision = decideSecondFactor({
      ...input(base),
      organization: { ...input(base).organization, skipNetworks: everything },
      ip: null,
    });
    expect(decision).toEqual({ result: 'challenge_required' });
    expect(
      decideSecondFactor({
        ...input(base),
        organization: { ...input(base).organization, skipNetworks: everything },
      }),
    ).toEqual({ result: 'authenticated', reason: 'trusted_network' });
  });
});

describe('decideSecondFactor: named cases', () => {
  const named: Array<[string, Partial<Row>, PolicyDecision]> = [
    ['plain login with 2FA on asks for a code', {}, { result: 'challenge_required' }],
    [
      '2FA off wins over everything else',
      { twoFactorEnabled: false, authMethod: 'saml2', exempt: true, ip: insideV4, device: 'valid' },
      { result: 'authenticated', reason: 'two_factor_disabled' },
    ],
    [
      'saml2 org skips 2FA even if the setting is on',
      { authMethod: 'saml2' },
      { result: 'authenticated', reason: 'external_auth' },
    ],
    [
      'ldap org skips 2FA even if the setting is on',
      { authMethod: 'ldap' },
      { result: 'authenticated', reason: 'external_auth' },
    ],
    [
      'external auth wins over exempt, network and device',
      { authMethod: 'ldap', exempt: true, ip: insideV4, device: 'valid' },
      { result: 'authenticated', reason: 'external_auth' },
    ],
    [
      'an exempt user skips 2FA',
      { exempt: true },
      { result: 'authenticated', reason: 'user_exempt' },
    ],
    [
      'exempt wins over trusted network and device',
      { exempt: true, ip: insideV4, device: 'valid' },
      { result: 'authenticated', reason: 'user_exempt' },
    ],
    [
      'an IPv4 address in a skip range',
      { ip: insideV4 },
      { result: 'authenticated', reason: 'trusted_network' },
    ],
    [
      'an IPv6 address in a skip range',
      { ip: insideV6 },
      { result: 'authenticated', reason: 'trusted_network' },
    ],
    ['an IPv6 address outside', { ip: outsideV6 }, { result: 'challenge_required' }],
    [
      '::ffff:203.0.113.9 counts as 203.0.113.9 (in 203.0.113.0/24)',
      { ip: mappedInside },
      { result: 'authenticated', reason: 'trusted_network' },
    ],
    [
      'a mapped address outside every range',
      { ip: mappedOutside },
      { result: 'challenge_required' },
    ],
    [
      'trusted network wins over a valid device',
      { ip: insideV4, device: 'valid' },
      { result: 'authenticated', reason: 'trusted_network' },
    ],
    [
      'a valid device of this user',
      { device: 'valid' },
      { result: 'authenticated', reason: 'trusted_device' },
    ],
    ['an expired device', { device: 'expired' }, { result: 'challenge_required' }],
    ['a revoked device', { device: 'revoked' }, { result: 'challenge_required' }],
    ["another user's device", { device: 'other_user' }, { result: 'challenge_required' }],
    ["another organization's device", { device: 'other_org' }, { result: 'challenge_required' }],
  ];

  it.each(named)('%s', (_name, patch, expected) => {
    const row = { ...base, ...patch };
    expect(decideSecondFactor(input(row))).toEqual(expected);
    // The named rows are also answered the same by the reference.
    expect(reference(row)).toEqual(expected);
  });

  it('a device expiring exactly now is no longer trusted; one millisecond later it is', () => {
    const device: TrustedDeviceFacts = {
      userId: USER,
      organizationId: ORG,
      expiresAt: NOW,
      revokedAt: null,
    };
    const at = (now: Date) => decideSecondFactor({ ...input(base, now), device });
    expect(at(NOW)).toEqual({ result: 'challenge_required' });
    expect(at(new Date(NOW.getTime() - 1))).toEqual({
      result: 'authenticated',
      reason: 'trusted_device',
    });
  });

  it('a revoked device stays untrusted even before its expiry', () => {
    expect(isDeviceTrusted(DEVICES.revoked, USER, ORG, NOW)).toBe(false);
    expect(isDeviceTrusted(DEVICES.valid, USER, ORG, NOW)).toBe(true);
    expect(isDeviceTrusted(DEVICES.valid, OTHER_USER, ORG, NOW)).toBe(false);
    expect(isDeviceTrusted(DEVICES.valid, USER, OTHER_ORG, NOW)).toBe(false);
    expect(isDeviceTrusted(null, USER, ORG, NOW)).toBe(false);
  });

  it('an organization with no skip ranges trusts no network', () => {
    const none = compileCidrs([]);
    for (const { ip } of IPS) {
      const decision = decideSecondFactor({
        ...input(base),
        organization: { ...input(base).organization, skipNetworks: none },
        ip,
      });
      expect(decision).toEqual({ result: 'challenge_required' });
    }
  });

  it('an unparsable address is never a trusted network', () => {
    const everything = compileCidrs(['0.0.0.0/0', '::/0']);
    const decision = decideSecondFactor({
      ...input(base),
      organization: { ...input(base).organization, skipNetworks: everything },
      ip: 'not-an-ip',
    });
    expect(decision).toEqual({ result: 'challenge_required' });
  });
});

describe('isTwoFactorAvailable', () => {
  it('is true for password sign-in only', () => {
    expect(isTwoFactorAvailable('password')).toBe(true);
    expect(isTwoFactorAvailable('saml2')).toBe(false);
    expect(isTwoFactorAvailable('ldap')).toBe(false);
  });
});
