import { CidrError, isTwoFactorAvailable, normalizeCidr, normalizeCidrs } from '@twofa/core';
import { type OrganizationRow, recordAudit, updatePasswordSettings } from '@twofa/db';
import { ApiError, notFound } from '../lib/errors.ts';
import type { Services } from '../lib/services.ts';

export interface PasswordSettingsPatch {
  twoFactorEnabled?: boolean | undefined;
  skipTwoFactorCidrs?: readonly string[] | undefined;
  smsAllowedCountries?: readonly string[] | undefined;
}

/** Who changed the settings, for the audit log. */
export interface SettingsActor {
  actor: string;
  ip: string | null;
}

/** Each entry that is not a CIDR block, with why; empty when all are good. */
export function cidrEntryErrors(
  entries: readonly string[],
): { index: number; entry: string; message: string }[] {
  const bad: { index: number; entry: string; message: string }[] = [];
  entries.forEach((entry, index) => {
    try {
      normalizeCidr(entry);
    } catch (error) {
      if (!(error instanceof CidrError)) throw error;
      bad.push({ index, entry, message: error.message });
    }
  });
  return bad;
}

/**
 * The password settings change, shared by `PATCH /v1/settings/password` and
 * the settings page: validate everything first (a bad CIDR is `invalid_cidr`
 * and nothing is saved), save, refresh this process's cache, audit the diff.
 */
export async function changePasswordSettings(
  services: Services,
  before: OrganizationRow,
  patch: PasswordSettingsPatch,
  who: SettingsActor,
): Promise<OrganizationRow> {
  let cidrs: string[] | undefined;
  if (patch.skipTwoFactorCidrs) {
    try {
      cidrs = normalizeCidrs(patch.skipTwoFactorCidrs);
    } catch (error) {
      if (error instanceof CidrError) {
        throw new ApiError('invalid_cidr', error.message, { entry: error.entry });
      }
      throw error;
    }
  }
  if (patch.twoFactorEnabled === true && !isTwoFactorAvailable(before.authMethod)) {
    throw new ApiError(
      'two_factor_unavailable',
      `Two-factor authentication is not available while the organization signs in with ${before.authMethod}.`,
    );
  }
  const countries = patch.smsAllowedCountries ? [...new Set(patch.smsAllowedCountries)] : undefined;
  const org = await updatePasswordSettings(services.db.sql, before.id, {
    twoFactorEnabled: patch.twoFactorEnabled,
    skipTwoFactorCidrs: cidrs,
    smsAllowedCountries: countries,
  });
  if (!org) throw notFound('Organization');
  services.organizations.put(org);
  const changes: Record<string, unknown> = {};
  if (before.twoFactorEnabled !== org.twoFactorEnabled) {
    changes.twoFactorEnabled = { from: before.twoFactorEnabled, to: org.twoFactorEnabled };
  }
  if (cidrs)
    changes.skipTwoFactorCidrs = { from: before.skipTwoFactorCidrs, to: org.skipTwoFactorCidrs };
  if (countries) {
    changes.smsAllowedCountries = { from: before.smsAllowedCountries, to: org.smsAllowedCountries };
  }
  if (Object.keys(changes).length > 0) {
    await recordAudit(services.db.sql, {
      organizationId: org.id,
      type: 'settings_changed',
      actor: who.actor,
      ip: who.ip,
      data: changes,
    });
  }
  return org;
}
