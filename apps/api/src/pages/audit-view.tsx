import type { AuditRow } from '@twofa/db';
import type { PageLang } from './messages.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The users an event names (its actor, the user it is for), to look their emails up at once. */
export function auditUserIds(events: readonly AuditRow[]): string[] {
  const ids = new Set<string>();
  for (const event of events) {
    const actor = /^admin:(.+)$/.exec(event.actor)?.[1];
    if (actor && UUID.test(actor)) ids.add(actor.toLowerCase());
    const userId = event.data.userId;
    if (typeof userId === 'string' && UUID.test(userId)) ids.add(userId.toLowerCase());
  }
  return [...ids];
}

/** Who did it, in words: a person by email, else the service, the system or the app's key. */
export function auditActor(
  lang: PageLang,
  event: AuditRow,
  emails: ReadonlyMap<string, string>,
): string {
  const { t } = lang;
  const admin = /^admin:(.+)$/.exec(event.actor)?.[1];
  if (admin) return emails.get(admin.toLowerCase()) ?? t.byRemovedUser;
  switch (event.actor) {
    case 'platform':
      return t.byPlatform;
    case 'system':
      return t.bySystem;
    case 'organization_key':
      return t.byApiKey;
    case 'user': {
      const userId = event.data.userId;
      return (typeof userId === 'string' && emails.get(userId.toLowerCase())) || t.byUser;
    }
    default:
      return event.actor;
  }
}

/** The event's name: sign-ins are new, so their words live with the guidance texts. */
export function auditEventName(lang: PageLang, type: string): string {
  if (type === 'signed_in') return lang.t.auditSignedIn;
  return lang.t.auditEvents[type] ?? type.replaceAll('_', ' ');
}

function isChange(value: unknown): value is { from: unknown; to: unknown } {
  return typeof value === 'object' && value !== null && 'from' in value && 'to' in value;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function valueText(lang: PageLang, value: unknown): string {
  const { t } = lang;
  if (typeof value === 'boolean') return value ? t.on : t.off;
  if (Array.isArray(value)) return value.length === 0 ? t.none : value.join(', ');
  if (value === null || value === undefined || value === '') return t.none;
  return String(value);
}

/**
 * What the event says, line by line, in words: the user it is for, each
 * setting that changed as "from → to" (unchanged ones left out), and the few
 * numbers worth reading. Ids and internals stay in the API's answer.
 */
export function auditDetails(
  lang: PageLang,
  event: AuditRow,
  emails: ReadonlyMap<string, string>,
): string[] {
  const { t } = lang;
  const data = event.data;
  const lines: string[] = [];
  const userId = data.userId;
  // A sign-in's user is already its "By".
  if (typeof userId === 'string' && event.type !== 'signed_in') {
    lines.push(t.auditFor(emails.get(userId.toLowerCase()) ?? t.byRemovedUser));
  }
  for (const [key, value] of Object.entries(data)) {
    if (isChange(value) && !sameValue(value.from, value.to)) {
      const field = t.auditFields[key] ?? key;
      lines.push(`${field}: ${valueText(lang, value.from)} → ${valueText(lang, value.to)}`);
    }
  }
  if (event.type === 'signed_in' && typeof data.method === 'string') {
    lines.push(t.auditMethod(t.signInMethods[data.method] ?? data.method.replaceAll('_', ' ')));
  }
  if (event.type === 'sms_credits_added' && typeof data.amount === 'number') {
    lines.push(t.auditCredits(data.amount, Number(data.balance)));
  }
  if (event.type === 'sms_balance_low' && typeof data.balance === 'number') {
    lines.push(t.auditBalance(data.balance));
  }
  const revoked = event.type === 'phone_changed' ? data.revokedDevices : data.revoked;
  if (typeof revoked === 'number' && revoked > 0) lines.push(t.auditDevicesRevoked(revoked));
  if (event.type === 'user_locked' && typeof data.lockedUntil === 'string') {
    lines.push(t.auditLockedUntil(lang.dateTime(new Date(data.lockedUntil))));
  }
  return lines;
}
