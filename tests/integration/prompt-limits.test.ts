import { pruneExpiredOidcPayloads } from '@twofa/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  browse,
  CookieJar,
  promptClient,
  promptModelKeys,
  pushAuthorization,
  type RegisteredApp,
  registerPromptApp,
  withPromptHarness,
} from '../support/index.ts';

const h = withPromptHarness({ env: { RATE_LIMIT_APP_PARS_PER_MINUTE: '2' } });
let org: { id: string; apiKey: string };
let app: RegisteredApp;
let otherApp: RegisteredApp;

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Hyvä Klinikka', country: 'FI' });
  await h.topUp(org.id, 10);
  await h.enableTwoFactor(org.apiKey);
  const locale = await h.request('PATCH', `/v1/organizations/${org.id}`, {
    key: ADMIN_KEY,
    body: { locale: 'fi' },
  });
  expect(locale.status).toBe(200);
  app = await registerPromptApp(h, org.apiKey, 'http://127.0.0.1:9/a');
  otherApp = await registerPromptApp(h, org.apiKey, 'http://127.0.0.1:9/b');
});

describe('the prompt under limits', () => {
  it("limits pushed requests per app, not the organization's other apps", async () => {
    const config = await promptClient(h.baseUrl, app);
    const push = () =>
      pushAuthorization(config, { redirectUri: app.redirectUri, loginHint: 'flood@example.com' });
    const first = await push();
    await push();
    const refused = await push().catch((error: unknown) => error);
    expect(refused).toMatchObject({ error: 'rate_limited', status: 429 });
    expect(await promptModelKeys(h, 'PushedAuthorizationRequest')).toHaveLength(2);

    const other = await promptClient(h.baseUrl, otherApp);
    await pushAuthorization(other, {
      redirectUri: otherApp.redirectUri,
      loginHint: 'flood@example.com',
    });
    // What was pushed before the limit still works, in the organization's language.
    const { final } = await browse(new CookieJar(), first.url.href);
    expect(final.status).toBe(200);
    expect(final.body).toContain('<html lang="fi"');
    expect(final.body).toContain('Peruuta');
  });

  it('keeps every model of the prompt in Redis with a TTL no longer than its own', async () => {
    const ttlApp = await registerPromptApp(h, org.apiKey, 'http://127.0.0.1:9/ttl');
    const config = await promptClient(h.baseUrl, ttlApp);
    const started = await pushAuthorization(config, {
      redirectUri: ttlApp.redirectUri,
      loginHint: 'ttl@example.com',
    });
    const { final } = await browse(new CookieJar(), started.url.href);
    expect(final.status).toBe(200);
    const redis = h.services.redis;
    const keys = await promptModelKeys(h, '*');
    const kinds = new Set(keys.map((key) => key.split(':').at(-2)));
    expect([...kinds]).toEqual(
      expect.arrayContaining(['PushedAuthorizationRequest', 'Interaction', 'PromptState']),
    );
    // Nothing in Postgres: the table of earlier versions is not written.
    const rows = await h.sql<{ n: number }[]>`select count(*)::int as n from oidc_payloads`;
    expect(rows[0]?.n).toBe(0);
    const longest: Record<string, number> = {
      PushedAuthorizationRequest: 60,
      Interaction: 15 * 60,
      PromptState: 15 * 60,
      PromptRequestClaim: 15 * 60,
    };
    for (const key of keys) {
      const ttl = await redis.ttl(key);
      const kind = key.split(':').at(-2) ?? '';
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(longest[kind] ?? 60 * 60);
    }
  });

  it('prunes the rows an earlier version left an hour after they expired, and only those', async () => {
    await h.sql`
      insert into oidc_payloads (kind, id, payload, expires_at) values
        ('Session', 'old-1', '{}', now() - interval '2 hours'),
        ('Session', 'old-2', '{}', now() - interval '3 hours'),
        ('Grant', 'recent', '{}', now() - interval '10 minutes'),
        ('Grant', 'live', '{}', now() + interval '10 minutes')`;
    const deleted = await pruneExpiredOidcPayloads(
      { db: h.services.db, logger: h.logs.logger, metrics: h.services.metrics },
      { batchSize: 1 },
    );
    expect(deleted).toBe(2);
    const left = await h.sql<{ id: string }[]>`select id from oidc_payloads order by id`;
    expect(left.map((r) => r.id)).toEqual(['live', 'recent']);
  });

  it('ignores X-Forwarded-Proto from a peer that is not a TRUST_PROXY proxy', async () => {
    const config = await promptClient(h.baseUrl, otherApp);
    const started = await pushAuthorization(config, {
      redirectUri: otherApp.redirectUri,
      loginHint: 'proxy@example.com',
    });
    const res = await fetch(started.url, {
      redirect: 'manual',
      headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil.example' },
    });
    expect(res.status).toBe(303);
    const cookies = res.headers.getSetCookie();
    expect(cookies.length).toBeGreaterThan(0);
    // Believed, the header would have made the provider's cookies Secure (https behind a proxy).
    for (const cookie of cookies) expect(cookie.toLowerCase()).not.toContain('secure');
    expect(res.headers.get('location')).not.toContain('evil.example');
  });
});
