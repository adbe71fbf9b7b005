/**
 * Attack: a spoofed X-Forwarded-For, to forge the address recorded for admin
 * actions or to land in a skip-2FA network. Control: the service's own records
 * take the socket peer, and X-Forwarded-For only from proxies in TRUST_PROXY,
 * walked right to left; the API's skip decision takes the body's `ip` alone.
 *
 * Attack: the pages behind a proxy nobody listed in TRUST_PROXY, where every
 * browser arrives from the proxy's address: a skip network holding the proxy
 * (or the Docker gateway) lets the whole internet skip 2FA, and one client
 * spends the per-address login limit of everyone. Control: X-Forwarded-For from
 * an unlisted peer is warned about once, its peer never picks a skip network,
 * and the page limit keys on the address the header names.
 */
import {
  ORGANIZATION_CACHE_MAX_AGE_MS,
  parseTrustProxy,
  resolveClientAddress,
  resolveEndUser,
} from '@twofa/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csrfOf } from '../pages/support.ts';
import { createHarness, type Harness } from '../support/index.ts';
import {
  anotherInstance,
  finnishMobile,
  type Instance,
  type Listening,
  listen,
  PASSWORD,
} from './support.ts';

describe('resolveClientAddress', () => {
  const trusted = parseTrustProxy('127.0.0.1, 10.0.0.0/8, ::1');
  const cases: Array<[string, string | null, string | null, string | null]> = [
    ['an untrusted peer: the header is ignored', '192.0.2.1', '10.9.9.9', '192.0.2.1'],
    ['a trusted peer: the hop it saw', '127.0.0.1', '198.51.100.7', '198.51.100.7'],
    [
      'entries a client prepended are skipped',
      '127.0.0.1',
      '10.1.1.1, 6.6.6.6, 198.51.100.7',
      '198.51.100.7',
    ],
    ['a chain of trusted proxies', '127.0.0.1', '198.51.100.7, 10.0.0.2', '198.51.100.7'],
    ['all trusted: the leftmost', '127.0.0.1', '10.0.0.3, 10.0.0.2', '10.0.0.3'],
    ['a malformed hop stops at the proxy', '127.0.0.1', 'evil, not-an-ip', '127.0.0.1'],
    ['no header: the peer', '127.0.0.1', null, '127.0.0.1'],
    ['an IPv4-mapped peer is its IPv4 address', '::ffff:127.0.0.1', '198.51.100.8', '198.51.100.8'],
    ['an IPv4-mapped untrusted peer', '::ffff:192.0.2.9', '10.0.0.1', '192.0.2.9'],
    ['no socket', null, '198.51.100.7', null],
  ];
  it.each(cases)('%s', (_name, peer, header, expected) => {
    expect(resolveClientAddress(peer, header, trusted)).toBe(expected);
  });

  it('trusts nobody without TRUST_PROXY', () => {
    expect(resolveClientAddress('127.0.0.1', '198.51.100.7', parseTrustProxy(undefined))).toBe(
      '127.0.0.1',
    );
  });

  it('refuses a TRUST_PROXY entry that is neither an address nor a CIDR block', () => {
    expect(() => parseTrustProxy('10.0.0.0/8, proxy.internal')).toThrow(/proxy\.internal/);
    expect(parseTrustProxy(' 10.0.0.7/8 ,::1 ').entries).toEqual(['10.0.0.0/8', '::1/128']);
  });
});

describe("resolveEndUser: the pages' end user", () => {
  const trusted = parseTrustProxy('10.0.0.0/8');
  const cases: Array<[string, string | null, string | null, string | null, boolean]> = [
    ['a direct client, no header', '192.0.2.1', null, '192.0.2.1', true],
    ['a listed proxy: the hop it saw', '10.0.0.1', '198.51.100.7', '198.51.100.7', true],
    [
      'an unlisted peer with a header: the last hop, unvouched',
      '192.0.2.1',
      '6.6.6.6, 198.51.100.7',
      '198.51.100.7',
      false,
    ],
    [
      'an unlisted peer with a junk header: the peer, unvouched',
      '192.0.2.1',
      'junk',
      '192.0.2.1',
      false,
    ],
    ['an unlisted peer with an empty header: direct', '192.0.2.1', ' , ', '192.0.2.1', true],
    ['no socket', null, '198.51.100.7', null, true],
  ];
  it.each(cases)('%s', (_name, peer, header, ip, vouched) => {
    expect(resolveEndUser(peer, header, trusted)).toEqual({
      ip,
      vouched,
      unlistedForwarder: !vouched,
    });
  });
});

describe('addresses over a real socket', () => {
  let h: Harness;
  let org: { id: string; apiKey: string };
  let untrusting: Listening;
  let behindProxy: Instance;
  let behindProxyServer: Listening;
  let otherProxy: Instance;
  let otherProxyServer: Listening;

  beforeAll(async () => {
    h = await createHarness({ worker: false });
    org = await h.createOrganization({ name: 'Proxy Clinic', country: 'FI' });
    untrusting = await listen(h.app);
    behindProxy = anotherInstance(h, { TRUST_PROXY: '127.0.0.1' });
    behindProxyServer = await listen(behindProxy.app);
    otherProxy = anotherInstance(h, { TRUST_PROXY: '10.0.0.0/8' });
    otherProxyServer = await listen(otherProxy.app);
  });
  afterAll(async () => {
    await untrusting?.close();
    await behindProxyServer?.close();
    await otherProxyServer?.close();
    await behindProxy?.close();
    await otherProxy?.close();
    await h?.close();
  });

  async function lastAuditIp(): Promise<string | null> {
    const res = await h.request('GET', '/v1/audit-events?limit=1', { key: org.apiKey });
    return res.body.events[0].ip;
  }

  async function changeSettings(server: Listening, forwardedFor: string, countries: string[]) {
    const res = await server.fetch('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      headers: { 'x-forwarded-for': forwardedFor },
      body: { smsAllowedCountries: countries },
    });
    expect(res.status).toBe(200);
  }

  it('records the socket address of an admin action, whatever X-Forwarded-For says', async () => {
    await changeSettings(untrusting, '10.1.2.3', ['FI', 'SE']);
    expect(await lastAuditIp()).toBe('127.0.0.1');
  });

  it('ignores X-Forwarded-For when the peer is not one of the trusted proxies', async () => {
    await changeSettings(otherProxyServer, '10.1.2.3', ['FI']);
    expect(await lastAuditIp()).toBe('127.0.0.1');
  });

  it('takes the hop a trusted proxy saw, not what the client prepended', async () => {
    await changeSettings(behindProxyServer, '6.6.6.6, 198.51.100.77', ['FI', 'EE']);
    expect(await lastAuditIp()).toBe('198.51.100.77');
  });

  it('records the caller of user, device and platform actions too', async () => {
    const user = await behindProxyServer.fetch('POST', '/v1/users', {
      key: org.apiKey,
      headers: { 'x-forwarded-for': '198.51.100.78' },
      body: { email: 'staff@example.com', password: PASSWORD },
    });
    expect(user.status).toBe(201);
    expect(await lastAuditIp()).toBe('198.51.100.78');
    await untrusting.fetch('PATCH', `/v1/users/${user.body.id}`, {
      key: org.apiKey,
      headers: { 'x-forwarded-for': '198.51.100.79' },
      body: { twoFactorDisabled: true },
    });
    expect(await lastAuditIp()).toBe('127.0.0.1');
    await untrusting.fetch('DELETE', `/v1/users/${user.body.id}/trusted-devices`, {
      key: org.apiKey,
      headers: { 'x-forwarded-for': '198.51.100.79' },
    });
    expect(await lastAuditIp()).toBe('127.0.0.1');
    await behindProxyServer.fetch('POST', `/v1/organizations/${org.id}/sms-credits`, {
      key: h.config.adminApiKey,
      headers: { 'x-forwarded-for': '198.51.100.80' },
      body: { amount: 5 },
    });
    expect(await lastAuditIp()).toBe('198.51.100.80');
  });

  it('never lets X-Forwarded-For reach a skip CIDR: the decision uses the body ip', async () => {
    await h.request('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      body: { twoFactorEnabled: true, skipTwoFactorCidrs: ['10.0.0.0/8'] },
    });
    // The other instances cache settings; they see the change within the cache's bound.
    h.clock.advance(ORGANIZATION_CACHE_MAX_AGE_MS + 1);
    await h.createUser(org.apiKey, { email: 'remote@example.com', password: PASSWORD });
    for (const server of [untrusting, behindProxyServer, otherProxyServer]) {
      const res = await server.fetch('POST', '/v1/logins', {
        key: org.apiKey,
        headers: { 'x-forwarded-for': '10.1.2.3' },
        body: { email: 'remote@example.com', password: PASSWORD, ip: '203.0.113.50' },
      });
      expect(res.status).toBe(200);
      expect(res.body.result).toBe('challenge_required');
    }
    // The body ip is what counts (and proves the CIDR is live).
    const inside = await behindProxyServer.fetch('POST', '/v1/logins', {
      key: org.apiKey,
      headers: { 'x-forwarded-for': '203.0.113.50' },
      body: { email: 'remote@example.com', password: PASSWORD, ip: '10.1.2.3' },
    });
    expect(inside.body).toMatchObject({ result: 'authenticated', reason: 'trusted_network' });
  });

  it("logs the socket address for the service's own pages", async () => {
    const basic = `Basic ${Buffer.from(`admin:${h.config.adminApiKey}`).toString('base64')}`;
    const pages: Array<[Listening, { lines: string[] }, string]> = [
      [untrusting, h.logs, '127.0.0.1'],
      [otherProxyServer, otherProxy.logs, '127.0.0.1'],
      [behindProxyServer, behindProxy.logs, '198.51.100.90'],
    ];
    for (const [server, logs, expected] of pages) {
      for (const path of ['/admin/queues', '/docs']) {
        const seen = logs.lines.length;
        const res = await server.fetch('GET', path, {
          headers: { authorization: basic, 'x-forwarded-for': '6.6.6.6, 198.51.100.90' },
        });
        expect(res.status).toBe(200);
        const line = logs.lines
          .slice(seen)
          .map((l) => JSON.parse(l))
          .find((entry) => entry.msg === 'request' && entry.status === 200);
        expect(line, `${path} request log`).toBeDefined();
        expect(line.remoteAddress).toBe(expected);
      }
    }
  });
});

describe('the pages behind a proxy missing from TRUST_PROXY', () => {
  let h: Harness;
  let org: { id: string; apiKey: string };
  const email = 'front-desk@example.com';
  const servers: Listening[] = [];
  const instances: Instance[] = [];

  beforeAll(async () => {
    h = await createHarness({ worker: false });
    org = await h.createOrganization({ name: 'Gateway Clinic', country: 'FI' });
    await h.topUp(org.id, 50);
    // The clinic lists a private range that happens to hold the proxy (here: loopback).
    const settings = await h.request('PATCH', '/v1/settings/password', {
      key: org.apiKey,
      body: { twoFactorEnabled: true, skipTwoFactorCidrs: ['127.0.0.0/8', '10.0.0.0/8'] },
    });
    expect(settings.status).toBe(200);
    await h.createUser(org.apiKey, { email, password: PASSWORD, phone: finnishMobile() });
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    for (const instance of instances) await instance.close();
    await h?.close();
  });

  async function serve(env: Record<string, string> = {}) {
    const instance = anotherInstance(h, env);
    instances.push(instance);
    await h.waitFor(async () => instance.services.redis.status === 'ready');
    const server = await listen(instance.app);
    servers.push(server);
    return { instance, server };
  }

  /** The login form, then its POST, over the socket, both with this X-Forwarded-For. */
  async function pageLogin(server: Listening, forwardedFor?: string, password = PASSWORD) {
    const headers: Record<string, string> = forwardedFor ? { 'x-forwarded-for': forwardedFor } : {};
    const form = await fetch(`${server.url}/login?org=${org.id}`, { headers });
    const cookie = form.headers
      .getSetCookie()
      .map((line) => line.split(';')[0])
      .join('; ');
    const csrf = csrfOf(await form.text());
    const res = await fetch(`${server.url}/login`, {
      method: 'POST',
      redirect: 'manual',
      headers: { ...headers, cookie, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf, org: org.id, email, password }).toString(),
    });
    await res.text();
    return { status: res.status, location: res.headers.get('location') };
  }

  it("never lets an unlisted proxy's address pick a skip network", async () => {
    const { server } = await serve();
    const proxied = await pageLogin(server, '203.0.113.60');
    expect(proxied.status).toBe(303);
    expect(proxied.location).toBe('/login/code');
    // Without the header the socket is the browser itself, and the network does apply.
    const direct = await pageLogin(server);
    expect(direct.location).toBe('/account');
  });

  it('lets a listed proxy vouch for the address it saw', async () => {
    const { server } = await serve({ TRUST_PROXY: '127.0.0.1' });
    expect((await pageLogin(server, '10.1.2.3')).location).toBe('/account');
    expect((await pageLogin(server, '203.0.113.61')).location).toBe('/login/code');
  });

  it('warns once that X-Forwarded-For came from a peer not in TRUST_PROXY', async () => {
    const { instance, server } = await serve();
    await pageLogin(server, '203.0.113.62');
    await pageLogin(server, '203.0.113.63');
    const warnings = instance.logs.lines
      .map((line) => JSON.parse(line))
      .filter((entry) => entry.level === 'warn' && /TRUST_PROXY/.test(entry.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].peer).toBe('127.0.0.1');
  });

  it('keys the per-address page limit on the forwarded address, not on the proxy', async () => {
    const { server } = await serve({ RATE_LIMIT_IP_LOGINS_PER_MINUTE: '3' });
    for (let i = 0; i < 3; i++) {
      expect((await pageLogin(server, '198.51.100.40', 'wrong password')).status).toBe(401);
    }
    expect((await pageLogin(server, '198.51.100.40', 'wrong password')).status).toBe(429);
    // Another browser behind the same proxy is not blocked by the first one.
    expect((await pageLogin(server, '198.51.100.41', 'wrong password')).status).toBe(401);
  });
});
