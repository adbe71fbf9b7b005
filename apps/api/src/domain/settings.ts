import {
  CidrError,
  isTwoFactorAvailable,
  normalizeCidr,
  normalizeCidrs,
  parseMethods,
} from '@twofa/core';
import {
  getOrganizationForUpdate,
  inTransaction,
  type OrganizationRow,
  recordAudit,
  updatePasswordSettings,
} from '@twofa/db';
import { ApiError, notFound } from '../lib/errors.ts';
import type { Services } from '../lib/services.ts';

export interface PasswordSettingsPatch {
  twoFactorEnabled?: boolean | undefined;
  skipTwoFactorCidrs?: readonly string[] | undefined;
  smsAllowedCountries?: readonly string[] | undefined;
  /** A non-empty subset of sms, totp, backup_code (the schema refuses anything else). */
  methods?: readonly string[] | undefined;
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
  const countries = patch.smsAllowedCountries ? [...new Set(patch.smsAllowedCountries)] : undefined;
  let methods: ReturnType<typeof parseMethods> | undefined;
  if (patch.methods) {
    methods = parseMethods(patch.methods);
    if (!methods) {
      throw new ApiError(
        'invalid_request',
        'methods must be a non-empty subset of sms, totp and backup_code.',
        { errors: [{ path: 'methods', message: 'a non-empty subset of sms, totp, backup_code' }] },
      );
    }
  }
  // The change and its audit event commit together or not at all; the row is
  // locked first so the audit's "from" is what the change replaced.
  const org = await inTransaction(services.db.sql, async (tx) => {
    const current = await getOrganizationForUpdate(tx, before.id);
    if (!current) throw notFound('Organization');
    if (patch.twoFactorEnabled === true && !isTwoFactorAvailable(current.authMethod)) {
      throw new ApiError(
        'two_factor_unavailable',
        `Two-factor authentication is not available while the organization signs in with ${current.authMethod}.`,
      );
    }
    const after = await updatePasswordSettings(tx, current.id, {
      twoFactorEnabled: patch.twoFactorEnabled,
      skipTwoFactorCidrs: cidrs,
      smsAllowedCountries: countries,
      secondFactorMethods: methods ?? undefined,
    });
    if (!after) throw notFound('Organization');
    const changes: Record<string, unknown> = {};
    if (current.twoFactorEnabled !== after.twoFactorEnabled) {
      changes.twoFactorEnabled = { from: current.twoFactorEnabled, to: after.twoFactorEnabled };
    }
    if (cidrs) {
      changes.skipTwoFactorCidrs = {
        from: current.skipTwoFactorCidrs,
        to: after.skipTwoFactorCidrs,
      };
    }
    if (countries) {
      changes.smsAllowedCountries = {
        from: current.smsAllowedCountries,
        to: after.smsAllowedCountries,
      };
    }
    if (methods && current.secondFactorMethods.join() !== after.secondFactorMethods.join()) {
      changes.methods = { from: current.secondFactorMethods, to: after.secondFactorMethods };
    }
    if (Object.keys(changes).length > 0) {
      await recordAudit(tx, {
        organizationId: after.id,
        type: 'settings_changed',
        actor: who.actor,
        ip: who.ip,
        data: changes,
      });
    }
    return after;
  });
  services.organizations.put(org);
  return org;
}
