import { type Clock, hashesUnder, hashSecret, safeEqual } from '@twofa/core';
import { type Database, findOrganizationIdByKeyHash, rehashApiKey } from '@twofa/db';

/** Keys are long-lived, so a minute of caching is safe. */
export const API_KEY_CACHE_TTL_MS = 60_000;
/** Far above the number of live keys one process sees; only keys that exist are cached. */
export const API_KEY_CACHE_MAX_ENTRIES = 10_000;

/**
 * A Map bounded to `max` entries, evicting the least recently used: lookups
 * move an entry to the back of the Map's insertion order, and inserts past the
 * bound drop the front.
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, V>();

  constructor(readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be >= 1, got ${max}`);
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    if (value === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, value);
    return value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    this.#entries.set(key, value);
    if (this.#entries.size > this.max) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  delete(key: K): void {
    this.#entries.delete(key);
  }
}

/**
 * Resolves bearer tokens. A token is hashed once per request (the HMAC is the
 * only form kept: raw tokens are never map keys), the platform key's hash is
 * made once at start, and one database lookup per key is in flight at a time
 * however many requests carry it.
 */
export class ApiKeys {
  readonly #appSecret: string;
  readonly #previousSecrets: readonly string[];
  readonly #platformHash: string;
  readonly #cache: BoundedCache<string, { organizationId: string; at: number }>;
  readonly #inFlight = new Map<string, Promise<string | null>>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    opts: { appSecrets: readonly string[]; adminApiKey: string; maxEntries?: number },
  ) {
    const [appSecret, ...previous] = opts.appSecrets;
    if (!appSecret) throw new Error('no APP_SECRET to hash API keys with');
    this.#appSecret = appSecret;
    this.#previousSecrets = previous;
    this.#platformHash = this.hash(opts.adminApiKey);
    this.#cache = new BoundedCache(opts.maxEntries ?? API_KEY_CACHE_MAX_ENTRIES);
  }

  /** Entries cached now (for tests and metrics). */
  get cachedKeys(): number {
    return this.#cache.size;
  }

  hash(token: string): string {
    return hashSecret(this.#appSecret, 'api-key', token);
  }

  isPlatform(tokenHash: string): boolean {
    return safeEqual(tokenHash, this.#platformHash);
  }

  /**
   * The organization whose key hashes to this (`hash(token)`), or null. A key
   * stored under an APP_SECRET_PREVIOUS hash is found too (the token is needed
   * for that) and moved to the current hash as it is found.
   */
  organizationFor(tokenHash: string, token: string): Promise<string | null> {
    const now = this.clock.now().getTime();
    const cached = this.#cache.get(tokenHash);
    if (cached && now - cached.at < API_KEY_CACHE_TTL_MS) {
      return Promise.resolve(cached.organizationId);
    }
    const inFlight = this.#inFlight.get(tokenHash);
    if (inFlight) return inFlight;
    const lookup = this.#find(tokenHash, token)
      .then((organizationId) => {
        // Unknown keys are not kept: they are whatever a caller makes up.
        if (organizationId) this.#cache.set(tokenHash, { organizationId, at: now });
        else this.#cache.delete(tokenHash);
        return organizationId;
      })
      .finally(() => this.#inFlight.delete(tokenHash));
    this.#inFlight.set(tokenHash, lookup);
    return lookup;
  }

  async #find(tokenHash: string, token: string): Promise<string | null> {
    const found = await findOrganizationIdByKeyHash(this.db.sql, tokenHash);
    if (found || this.#previousSecrets.length === 0) return found;
    const oldHashes = hashesUnder(this.#previousSecrets, 'api-key', token);
    const moved = await rehashApiKey(this.db.sql, oldHashes, tokenHash);
    if (moved) return moved;
    // Another replica may have moved it between the two statements: look under the new hash again.
    return findOrganizationIdByKeyHash(this.db.sql, tokenHash);
  }
}
