import { pruneExpiredOidcPayloads } from '@twofa/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  browse,
  CookieJar,
  promptClient,
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
    const stored = await h.sql`
      select count(*)::int as n from oidc_payloads where kind = 'PushedAuthorizationRequest'`;
    expect(stored[0]?.n).toBe(2);

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

  it("prunes the provider's rows an hour after they expired, and only those", async () => {
    const before = await h.sql<{ n: number }[]>`select count(*)::int as n from oidc_payloads`;
    expect(before[0]?.n).toBeGreaterThan(0);
    await h.sql`
      update oidc_payloads set expires_at = now() - interval '2 hours'
      where kind = 'PushedAuthorizationRequest'`;
    const pushed = await h.sql<{ n: number }[]>`
      select count(*)::int as n from oidc_payloads where kind = 'PushedAuthorizationRequest'`;
    const deleted = await pruneExpiredOidcPayloads(
      { db: h.services.db, logger: h.logs.logger, metrics: h.services.metrics },
      { batchSize: 1 },
    );
    expect(deleted).toBe(pushed[0]?.n);
    const after = await h.sql<{ n: number }[]>`select count(*)::int as n from oidc_payloads`;
    expect(after[0]?.n).toBe((before[0]?.n ?? 0) - deleted);
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
