import { type CidrMatcher, compileCidrs, normalizeCidr, parseClientIp } from '@twofa/core';

/** The proxies allowed to set X-Forwarded-For; an empty list trusts nobody. */
export interface TrustedProxies extends CidrMatcher {
  readonly entries: readonly string[];
  /**
   * Logs, the first time only in this process, that X-Forwarded-For came from a
   * peer not listed: most likely a proxy the operator forgot to list.
   */
  warnUnlistedForwarder(peer: string, logger: { warn(data: object, msg: string): void }): void;
}

/**
 * Parses TRUST_PROXY: comma-separated addresses or CIDR blocks. A bare address
 * stands for itself (/32 or /128). Throws on a bad entry so a typo fails the
 * start instead of silently trusting nobody (or everybody).
 */
export function parseTrustProxy(value: string | undefined): TrustedProxies {
  const entries = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      if (entry.includes('/')) return normalizeCidr(entry);
      const addr = parseClientIp(entry);
      if (!addr) throw new Error(`TRUST_PROXY: "${entry}" is not an IP address or CIDR block`);
      return `${addr.toString()}/${addr.kind() === 'ipv4' ? 32 : 128}`;
    });
  const matcher = compileCidrs(entries);
  let warned = false;
  return {
    entries,
    matches: (ip) => matcher.matches(ip),
    warnUnlistedForwarder(peer, logger) {
      if (warned) return;
      warned = true;
      logger.warn(
        { peer, trustProxy: entries },
        'X-Forwarded-For from a peer not in TRUST_PROXY: the header is ignored, and on the pages this peer never picks a skip network. Behind a proxy, list it in TRUST_PROXY.',
      );
    },
  };
}

/** IPv4-mapped IPv6 (what a dual-stack socket reports) is shown as its IPv4 address. */
function canonical(ip: string): string | null {
  return parseClientIp(ip)?.toString() ?? null;
}

function forwardedHops(forwardedFor: string | null | undefined): string[] {
  return (forwardedFor ?? '')
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop.length > 0);
}

/** Where a page request comes from, as far as the service can tell. */
export interface EndUser {
  /** For the per-address limit and the records; null without a socket (app.request() in tests). */
  ip: string | null;
  /** Whether `ip` may pick a skip network: false when nobody listed vouches for it. */
  vouched: boolean;
  /** X-Forwarded-For came from a peer TRUST_PROXY does not list. */
  unlistedForwarder: boolean;
}

/**
 * The end user of a page request. Through listed proxies (or with no header)
 * this is resolveClientAddress. X-Forwarded-For from a peer not listed means a
 * proxy nobody listed, or a client writing the header itself: either way the
 * peer is not the browser (behind a proxy every browser would share its
 * address) and the header is nobody's word. So the address may pick no skip
 * network, and the per-address limit keys on the last hop the header names
 * (what such a proxy appends), so one client behind the proxy cannot spend the
 * limit of everyone; a client writing the header itself gains a fresh limit
 * per made-up address, but not one more guess at any account (account_failures
 * keys on the account).
 */
export function resolveEndUser(
  peer: string | null | undefined,
  forwardedFor: string | null | undefined,
  trusted: CidrMatcher,
): EndUser {
  const current = peer ? canonical(peer) : null;
  const hops = forwardedHops(forwardedFor);
  if (current && hops.length > 0 && !trusted.matches(current)) {
    const last = canonical(hops[hops.length - 1] as string);
    return { ip: last ?? current, vouched: false, unlistedForwarder: true };
  }
  return { ip: current && walk(current, hops, trusted), vouched: true, unlistedForwarder: false };
}

/**
 * The address of whoever sent the request. Start at the socket peer; while
 * the hop in hand is a trusted proxy, step one entry left in X-Forwarded-For.
 * Entries left of the first untrusted hop were written by the client itself
 * and are ignored, so prepending to the header changes nothing.
 */
export function resolveClientAddress(
  peer: string | null | undefined,
  forwardedFor: string | null | undefined,
  trusted: CidrMatcher,
): string | null {
  const current = peer ? canonical(peer) : null;
  return current && walk(current, forwardedHops(forwardedFor), trusted);
}

/** From the peer (canonical) back through X-Forwarded-For while each hop is a trusted proxy. */
function walk(peer: string, hops: string[], trusted: CidrMatcher): string {
  let current = peer;
  while (trusted.matches(current)) {
    const next = hops.pop();
    if (next === undefined) return current;
    const parsed = canonical(next);
    // A malformed hop ends the walk: the trusted proxy that relayed it is the best we know.
    if (!parsed) return current;
    current = parsed;
  }
  return current;
}
