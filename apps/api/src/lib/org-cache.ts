import { type CidrMatcher, type Clock, compileCidrs } from '@twofa/core';
import { type Database, getOrganization, type OrganizationRow } from '@twofa/db';

export interface CachedOrganization {
  row: OrganizationRow;
  skipNetworks: CidrMatcher;
}

const TTL_MS = 1_000;

/**
 * Organization settings are read on every login; a one-second cache keeps
 * that off the database. Changes made through this process are seen at once;
 * other API processes see them within a second. The CIDR matcher is compiled
 * only when the list changes.
 */
export class OrganizationCache {
  private readonly entries = new Map<string, { at: number; value: CachedOrganization }>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async get(id: string): Promise<CachedOrganization | null> {
    const now = this.clock.now().getTime();
    const hit = this.entries.get(id);
    if (hit && now - hit.at < TTL_MS) return hit.value;
    const row = await getOrganization(this.db.sql, id);
    if (!row) {
      this.entries.delete(id);
      return null;
    }
    return this.store(row, hit?.value);
  }

  /** Records a row this process just wrote. */
  put(row: OrganizationRow): CachedOrganization {
    return this.store(row, this.entries.get(row.id)?.value);
  }

  private store(
    row: OrganizationRow,
    previous: CachedOrganization | undefined,
  ): CachedOrganization {
    const sameCidrs =
      previous &&
      previous.row.skipTwoFactorCidrs.length === row.skipTwoFactorCidrs.length &&
      previous.row.skipTwoFactorCidrs.every((c, i) => c === row.skipTwoFactorCidrs[i]);
    const value = {
      row,
      skipNetworks: sameCidrs ? previous.skipNetworks : compileCidrs(row.skipTwoFactorCidrs),
    };
    this.entries.set(row.id, { at: this.clock.now().getTime(), value });
    return value;
  }
}
