/** Hosts where a plain-http redirect URI is allowed: the developer's own machine. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The contract's rule for a registered redirect URI: an absolute URL, `https`,
 * or `http` on a loopback host (any port), no fragment (RFC 6749 section
 * 3.1.2), no user info. The text is kept as given, since a redirect URI in a
 * request must match a registered one exactly.
 */
export function isAllowedRedirectUri(value: string): boolean {
  if (value.includes('#')) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '') return false;
  if (url.protocol === 'https:') return url.hostname !== '';
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}
