import { type CidrMatcher, type Clock, compileCidrs } from '@twofa/core';
import {
  type Database,
  findOrganizationIdBySlug,
  getOrganization,
  type OrganizationRow,
} from '@twofa/db';

export interface CachedOrganization {
  row: OrganizationRow;
  skipNetworks: CidrMatcher;
}

const TTL_MS = 1_000;
/** Past this age an entry is never served: the request waits for fresh settings. */
export const ORGANIZATION_CACHE_MAX_AGE_MS = 2 * TTL_MS;

/**
 * Organization settings are read on every login; a one-second cache keeps
 * that off the database. Changes made through this process are seen at once;
 * other API processes see them within two seconds. An entry up to a second
 * past its TTL is served while one refresh per organization is in flight, so
 * a busy process reloads an organization once a second, not once per request. The CIDR
 * matcher is compiled only when the list changes (compiling 10,000 blocks
 * takes tens of milliseconds).
 */
export class OrganizationCache {
  private readonly entries = new Map<string, { at: number; value: CachedOrganization }>();
  private readonly refreshing = new Map<string, Promise<CachedOrganization | null>>();
  /** Bumped by every local write, so a refresh that started earlier cannot undo it. */
  private readonly writes = new Map<string, number>();
  /** Slug to id: a slug never changes, so a known one needs no lookup. */
  private readonly slugs = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  async get(id: string): Promise<CachedOrganization | null> {
    const hit = this.entries.get(id);
    const age = hit ? this.clock.now().getTime() - hit.at : Number.POSITIVE_INFINITY;
    if (hit && age < TTL_MS) return hit.value;
    const refresh = this.refresh(id);
    // Slightly stale: answer now, the refresh lands for the next request. An
    // idle process never answers from old settings.
    return hit && age < ORGANIZATION_CACHE_MAX_AGE_MS ? hit.value : refresh;
  }

  /** The organization a slug names (`/login?org=happy-paws`), as `get` gives it. */
  async getBySlug(slug: string): Promise<CachedOrganization | null> {
    const id = this.slugs.get(slug) ?? (await findOrganizationIdBySlug(this.db.sql, slug));
    if (!id) return null;
    const org = await this.get(id);
    return org?.row.slug === slug ? org : null;
  }

  /** Records a row this process just wrote. */
  put(row: OrganizationRow): CachedOrganization {
    this.writes.set(row.id, (this.writes.get(row.id) ?? 0) + 1);
    return this.store(row);
  }

  private refresh(id: string): Promise<CachedOrganization | null> {
    const inFlight = this.refreshing.get(id);
    if (inFlight) return inFlight;
    const writesBefore = this.writes.get(id) ?? 0;
    const load = getOrganization(this.db.sql, id)
      .then((row) => {
        if (!row) {
          this.entries.delete(id);
          return null;
        }
        // A write through this process landed while the row was loading: keep it.
        const written = this.entries.get(id)?.value;
        if (written && (this.writes.get(id) ?? 0) !== writesBefore) return written;
        return this.store(row);
      })
      .finally(() => this.refreshing.delete(id));
    // A failed background refresh is retried by the next request; only a
    // request with nothing cached waits on (and sees) the error.
    load.catch(() => {});
    this.refreshing.set(id, load);
    return load;
  }

  private store(row: OrganizationRow): CachedOrganization {
    const previous = this.entries.get(row.id)?.value;
    const now = this.clock.now().getTime();
    const sameCidrs =
      previous &&
      previous.row.skipTwoFactorCidrs.length === row.skipTwoFactorCidrs.length &&
      previous.row.skipTwoFactorCidrs.every((c, i) => c === row.skipTwoFactorCidrs[i]);
    const value = {
      row,
      skipNetworks: sameCidrs ? previous.skipNetworks : compileCidrs(row.skipTwoFactorCidrs),
    };
    this.entries.set(row.id, { at: now, value });
    this.slugs.set(row.slug, row.id);
    return value;
  }
}
