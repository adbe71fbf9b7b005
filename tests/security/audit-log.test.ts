/**
 * Threat: abuse or a rogue admin going unnoticed. Control: an audit log of
 * security-relevant changes (who, what, when, from where), readable by the
 * organization only, newest first and paginated, holding no secret.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withHarness } from '../support/index.ts';
import { END_USER_IP, finnishMobile, type Listening, listen, PASSWORD } from './support.ts';

interface AuditEvent {
  id: string;
  type: string;
  actor: string;
  ip: string | null;
  data: Record<string, unknown>;
  createdAt: string;
}

const h = withHarness({ worker: false });
let server: Listening;
let orgA: { id: string; apiKey: string };
let orgB: { id: string; apiKey: string };
let started: number;
const NEW_PASSWORD = 'a new passphrase for the audit test';

beforeAll(async () => {
  // Over a real socket, so "from where" is an address and not null.
  server = await listen(h.app);
  started = Date.now() - 1000;
  orgA = await h.createOrganization({ name: 'Audited A', country: 'FI' });
  orgB = await h.createOrganization({ name: 'Audited B', country: 'FI' });
});
afterAll(async () => {
  await server?.close();
});

async function allEvents(key: string): Promise<AuditEvent[]> {
  const res = await h.request('GET', '/v1/audit-events?limit=100', { key });
  expect(res.status).toBe(200);
  return res.body.events;
}

describe('audit log', () => {
  it('records settings, exemptions, revocations, locks and top-ups with who, when and where', async () => {
    const key = orgA.apiKey;
    const top = await server.fetch('POST', `/v1/organizations/${orgA.id}/sms-credits`, {
      key: h.config.adminApiKey,
      body: { amount: 25, reference: 'invoice 42' },
    });
    expect(top.status).toBe(201);
    await server.fetch('PATCH', '/v1/settings/password', {
      key,
      body: { twoFactorEnabled: true, skipTwoFactorCidrs: ['192.168.10.0/24'] },
    });
    const phone = finnishMobile();
    const user = await server.fetch('POST', '/v1/users', {
      key,
      body: { email: 'audited@example.com', password: PASSWORD, phone },
    });
    const userId: string = user.body.id;
    await server.fetch('PATCH', `/v1/users/${userId}`, { key, body: { twoFactorDisabled: true } });
    await server.fetch('PATCH', `/v1/users/${userId}`, { key, body: { twoFactorDisabled: false } });
    await server.fetch('DELETE', `/v1/users/${userId}/trusted-devices`, { key });
    await server.fetch('PATCH', `/v1/users/${userId}`, { key, body: { password: NEW_PASSWORD } });
    const login = await server.fetch('POST', '/v1/logins', {
      key,
      body: { email: 'audited@example.com', password: NEW_PASSWORD, ip: END_USER_IP },
    });
    const challengeId: string = login.body.challenge.id;
    for (let i = 0; i < 5; i++) {
      await server.fetch('POST', `/v1/challenges/${challengeId}/verify`, {
        key,
        body: { code: '000000' },
      });
    }

    const events = await allEvents(key);
    const byType = (type: string) => events.find((e) => e.type === type);
    const expected: Array<[string, string, string | null, Record<string, unknown>]> = [
      [
        'sms_credits_added',
        'platform',
        '127.0.0.1',
        { amount: 25, reference: 'invoice 42', balance: 25 },
      ],
      [
        'settings_changed',
        'organization_key',
        '127.0.0.1',
        {
          twoFactorEnabled: { from: false, to: true },
          skipTwoFactorCidrs: { from: [], to: ['192.168.10.0/24'] },
        },
      ],
      ['user_created', 'organization_key', '127.0.0.1', { userId }],
      ['user_exempted', 'organization_key', '127.0.0.1', { userId }],
      ['user_unexempted', 'organization_key', '127.0.0.1', { userId }],
      ['trusted_devices_revoked', 'organization_key', '127.0.0.1', { userId, revoked: 0 }],
      ['password_changed', 'organization_key', '127.0.0.1', { userId }],
      // The lock happened to the end user's login: its address is the one the host reported.
      ['challenge_locked', 'system', END_USER_IP, { challengeId, userId, wrongAttempts: 5 }],
    ];
    for (const [type, actor, ip, data] of expected) {
      const event = byType(type);
      expect(event, type).toBeDefined();
      expect(event, type).toMatchObject({ actor, ip, data });
      const at = Date.parse(event!.createdAt);
      expect(at).toBeGreaterThanOrEqual(started);
      expect(at).toBeLessThanOrEqual(Date.now() + 1000);
    }

    // No secret in any event: not the password, not the keys.
    const text = JSON.stringify(events);
    for (const secret of [PASSWORD, NEW_PASSWORD, orgA.apiKey, h.config.adminApiKey]) {
      expect(text).not.toContain(secret);
    }
  });

  it('lists newest first and pages with limit and before', async () => {
    const key = orgA.apiKey;
    const all = await allEvents(key);
    expect(all.length).toBeGreaterThanOrEqual(8);
    const ids = all.map((e) => BigInt(e.id));
    for (let i = 1; i < ids.length; i++) expect(ids[i]! < ids[i - 1]!).toBe(true);
    for (let i = 1; i < all.length; i++) {
      expect(Date.parse(all[i]!.createdAt)).toBeLessThanOrEqual(Date.parse(all[i - 1]!.createdAt));
    }

    const paged: AuditEvent[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&before=${cursor}` : '?limit=3';
      const res = await h.request('GET', `/v1/audit-events${query}`, { key });
      expect(res.status).toBe(200);
      expect(res.body.events.length).toBeLessThanOrEqual(3);
      paged.push(...res.body.events);
      cursor = res.body.nextCursor;
      pages += 1;
    } while (cursor && pages < 50);
    expect(cursor).toBeNull();
    expect(paged.map((e) => e.id)).toEqual(all.map((e) => e.id));

    const tooMany = await h.request('GET', '/v1/audit-events?limit=101', { key });
    expect(tooMany.status).toBe(400);
    const badCursor = await h.request('GET', '/v1/audit-events?before=abc', { key });
    expect(badCursor.status).toBe(400);
  });

  it("never shows another organization's events", async () => {
    await server.fetch('PATCH', '/v1/settings/password', {
      key: orgB.apiKey,
      body: { smsAllowedCountries: ['FI', 'SE'] },
    });
    const b = await allEvents(orgB.apiKey);
    const a = await allEvents(orgA.apiKey);
    expect(b.map((e) => e.type)).toEqual(['settings_changed']);
    const aIds = new Set(a.map((e) => e.id));
    expect(b.some((e) => aIds.has(e.id))).toBe(false);
    expect(a.some((e) => JSON.stringify(e.data).includes('SE'))).toBe(false);
  });
});
