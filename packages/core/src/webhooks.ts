import ipaddr from 'ipaddr.js';

/** The audit log's event types, as recorded by the API, the worker and the database. */
export const AUDIT_EVENT_TYPES = [
  'organization_updated',
  'settings_changed',
  'user_created',
  'user_exempted',
  'user_unexempted',
  'phone_changed',
  'password_changed',
  'trusted_devices_revoked',
  'user_locked',
  'user_unlocked',
  'challenge_locked',
  'sms_paused',
  'sms_credits_added',
  'sms_balance_low',
  'sms_unknown_settled',
  'prompt_completed',
  'totp_enabled',
  'totp_disabled',
  'backup_codes_generated',
  'backup_code_used',
  'second_factors_reset',
  'webhook_created',
  'webhook_updated',
  'webhook_deleted',
] as const;

/** What a webhook may subscribe to: the audit log's types plus challenge outcomes. */
export const WEBHOOK_EVENT_TYPES = [
  ...AUDIT_EVENT_TYPES,
  'challenge_approved',
  'challenge_failed',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Sent to one webhook on request (the settings page's "send a test event"); not subscribable. */
export const WEBHOOK_TEST_EVENT = 'webhook_test';

export function isWebhookEventType(type: string): type is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type);
}

export const WEBHOOK_URL_MAX_LENGTH = 2_048;

/** Why a target is refused: `scheme`, `malformed`, `address` (non-public), `unresolvable`. */
export type WebhookTargetProblem = 'malformed' | 'scheme' | 'address' | 'unresolvable';

export class WebhookTargetError extends Error {
  constructor(
    readonly problem: WebhookTargetProblem,
    message: string,
  ) {
    super(message);
    this.name = 'WebhookTargetError';
  }
}

export interface WebhookTargetRules {
  /** WEBHOOK_ALLOW_PRIVATE_TARGETS: any address, and `http` too. */
  allowPrivate: boolean;
}

/**
 * Whether an address may be a webhook target: only ipaddr.js's `unicast`
 * range, after `process` has turned an IPv4-mapped IPv6 address into its IPv4
 * one. Everything else (loopback, private, link-local, unique-local,
 * multicast, carrier-grade NAT, broadcast, unspecified, reserved, 6to4,
 * Teredo, NAT64 and the rest) is refused: a range ipaddr.js learns later is
 * refused too, since only `unicast` passes.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

function literalAddress(hostname: string): string | null {
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) ? bare : null;
}

/**
 * Checks a webhook URL's form: absolute, `https` (or `http` when private
 * targets are allowed), no credentials, and, when its host is an address
 * literal, a public one. Host names are checked by `resolveWebhookTarget`.
 * The WHATWG parser has already turned `0x7f.1` and similar into dotted quads.
 */
export function parseWebhookUrl(text: string, rules: WebhookTargetRules): URL {
  if (text.length > WEBHOOK_URL_MAX_LENGTH) {
    throw new WebhookTargetError('malformed', `The URL is longer than ${WEBHOOK_URL_MAX_LENGTH}.`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new WebhookTargetError('malformed', 'The URL is not an absolute URL.');
  }
  const schemes = rules.allowPrivate ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol)) {
    throw new WebhookTargetError('scheme', `The URL must use https, not ${url.protocol}.`);
  }
  if (url.username || url.password) {
    throw new WebhookTargetError('malformed', 'The URL must not carry credentials.');
  }
  if (!url.hostname) throw new WebhookTargetError('malformed', 'The URL has no host.');
  const literal = literalAddress(url.hostname);
  if (literal && !rules.allowPrivate && !isPublicAddress(literal)) {
    throw new WebhookTargetError('address', `${literal} is not a public address.`);
  }
  return url;
}

export interface ResolvedAddress {
  address: string;
  /** 4 or 6. */
  family: number;
}

/** Every address a name resolves to (`dns.promises.lookup(name, { all: true })`), injected. */
export type LookupAll = (hostname: string) => Promise<ResolvedAddress[]>;

/**
 * Resolves the URL's host and checks every address it gives: one non-public
 * address refuses the target (a name pointing partly inside is not a public
 * target). The caller connects to an address returned here, never looking
 * the name up again, so a DNS answer that changes in between gains nothing.
 */
export async function resolveWebhookTarget(
  url: URL,
  rules: WebhookTargetRules,
  lookup: LookupAll,
): Promise<ResolvedAddress[]> {
  const literal = literalAddress(url.hostname);
  let addresses: ResolvedAddress[];
  if (literal) {
    addresses = [{ address: literal, family: ipaddr.parse(literal).kind() === 'ipv4' ? 4 : 6 }];
  } else {
    try {
      addresses = await lookup(url.hostname);
    } catch {
      throw new WebhookTargetError('unresolvable', `${url.hostname} does not resolve.`);
    }
    if (addresses.length === 0) {
      throw new WebhookTargetError('unresolvable', `${url.hostname} does not resolve.`);
    }
  }
  if (!rules.allowPrivate) {
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) {
      throw new WebhookTargetError(
        'address',
        `${url.hostname} resolves to ${refused.address}, which is not a public address.`,
      );
    }
  }
  return addresses;
}
