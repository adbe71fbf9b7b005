import { type CidrMatcher, compileCidrs, normalizeCidr, parseClientIp } from '@twofa/core';

/** The proxies allowed to set X-Forwarded-For; an empty list trusts nobody. */
export interface TrustedProxies extends CidrMatcher {
  readonly entries: readonly string[];
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
  return { entries, matches: (ip) => matcher.matches(ip) };
}

/** IPv4-mapped IPv6 (what a dual-stack socket reports) is shown as its IPv4 address. */
function canonical(ip: string): string | null {
  return parseClientIp(ip)?.toString() ?? null;
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
  let current = peer ? canonical(peer) : null;
  if (!current) return null;
  const hops = (forwardedFor ?? '')
    .split(',')
    .map((hop) => hop.trim())
    .filter((hop) => hop.length > 0);
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
