import { isTwoFactorAvailable, TRUSTED_DEVICE_DAYS } from '@twofa/core';
import type { OrganizationRow, UserRow } from '@twofa/db';

export function organizationJson(org: OrganizationRow) {
  return {
    id: org.id,
    name: org.name,
    slug: org.slug,
    authMethod: org.authMethod,
    country: org.country,
    locale: org.locale,
    smsBalance: org.smsBalance,
    createdAt: org.createdAt.toISOString(),
  };
}

export function passwordSettingsJson(org: OrganizationRow) {
  return {
    twoFactorEnabled: org.twoFactorEnabled,
    twoFactorAvailable: isTwoFactorAvailable(org.authMethod),
    skipTwoFactorCidrs: org.skipTwoFactorCidrs,
    smsAllowedCountries: org.smsAllowedCountries,
    trustedDeviceDays: TRUSTED_DEVICE_DAYS,
    methods: org.secondFactorMethods,
  };
}

export function userJson(user: UserRow) {
  return {
    id: user.id,
    email: user.email,
    phone: user.phone,
    twoFactorDisabled: user.twoFactorDisabled,
    role: user.role,
    lockedUntil: user.lockedUntil?.toISOString() ?? null,
    createdAt: user.createdAt.toISOString(),
    totpEnabled: user.totpEnabled,
    backupCodesRemaining: user.backupCodesRemaining,
  };
}
