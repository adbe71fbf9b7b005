/**
 * Scenario 8: bad input across the whole API, property-based. Malformed JSON,
 * wrong types, huge strings, odd unicode, SQL-looking strings and invalid ids
 * on every route, with every kind of key: never a 5xx, and a 4xx never changes
 * a row (a checksum of every table before and after each request). In-process:
 * the properties are about the HTTP layer, and thousands of requests through a
 * child process would only measure the socket.
 */

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, ADMIN_KEY as PLATFORM_KEY } from '../support/index.ts';

const TABLES = [
  'organizations',
  'api_keys',
  'users',
  'trusted_devices',
  'challenges',
  'sms_sends',
  'sms_ledger',
  'audit_events',
] as const;

let h: Harness;
let ids: {
  orgId: string;
  otherOrgId: string;
  userId: string;
  phonelessUserId: string;
  challengeId: string;
  phoneChallengeId: string;
  otherChallengeId: string;
};
let keys: { org: string; other: string };

beforeAll(async () => {
  // No worker: its reconciler would change rows between the before and after snapshots.
  h = await createHarness({ worker: false });
  const org = await h.createOrganization({ name: 'Fuzzed Clinic', country: 'FI' });
  const other = await h.createOrganization({ name: 'Other Clinic' });
  await h.topUp(org.id, 10);
  await h.enableTwoFactor(org.apiKey);
  await h.enableTwoFactor(other.apiKey);
  const user = await h.createUser(org.apiKey, {
    email: 'fuzz@example.com',
    password: 'correct horse battery',
    phone: '+358401112233',
  });
  const phoneless = await h.createUser(org.apiKey, { email: 'nophone@example.com' });
  const otherUser = await h.createUser(other.apiKey, { email: 'x@example.com' });
  const start = async (key: string, userId: string) => {
    const res = await h.request('POST', '/v1/challenges', {
      key,
      body: { userId, ip: '203.0.113.5' },
    });
    if (res.status !== 200) throw new Error(`start: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.challenge.id as string;
  };
  ids = {
    orgId: org.id,
    otherOrgId: other.id,
    userId: user.id,
    phonelessUserId: phoneless.id,
    challengeId: await start(org.apiKey, user.id),
    phoneChallengeId: await start(org.apiKey, phoneless.id),
    otherChallengeId: await start(other.apiKey, otherUser.id),
  };
  keys = { org: org.apiKey, other: other.apiKey };
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function checksums(): Promise<Record<string, string>> {
  const parts = TABLES.map(
    (t) =>
      `(select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) from ${t} x) as ${t}`,
  );
  const [row] = await h.sql.unsafe<Record<string, string>[]>(`select ${parts.join(', ')}`);
  return row!;
}

// ---------------------------------------------------------------------------
// Generators

const SQLISH = [
  "' or '1'='1",
  "'; drop table users; --",
  '1; select pg_sleep(5)',
  '" or ""="',
  "admin'--",
  '%27%20or%201=1',
  "1' union select api_key from api_keys --",
  '$$; delete from organizations; $$',
  '\\x00',
];
const ODD_UNICODE = [
  '\u0000',
  '\u202eevil',
  '\ufeff',
  'e\u0301\u0301\u0301',
  '👩‍👩‍👧‍👦',
  '\ud800',
  '\udfff\ud800',
  'ﷺ',
  '𝕳𝖊𝖑𝖑𝖔',
  '\u2028\u2029',
  '٠١٢٣٤٥',
  '１２３４５６',
];

const weirdString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(...SQLISH, ...ODD_UNICODE),
  fc.integer({ min: 1_000, max: 60_000 }).map((n) => 'x'.repeat(n)),
  fc.constantFrom('', ' ', 'null', 'undefined', 'NaN', '0', '-1', '1e999', '[]', '{}'),
);

/** Anything but a well-formed value of the expected type. */
const badValue: fc.Arbitrary<unknown> = fc.oneof(
  weirdString,
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308, -0),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }),
  fc.dictionary(weirdString, fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
);

/** Ids for path segments: real ones of another tenant, unknown uuids and junk. */
const badId = fc.oneof(
  fc.uuid().map((u) => u),
  fc
    .constantFrom(
      () => ids.otherChallengeId,
      () => ids.otherOrgId,
    )
    .map((f) => f()),
  weirdString.filter((s) => s.length > 0 && s.length < 4_000),
  fc.constantFrom('..', '../..', '%2e%2e', '0', '-1', '00000000-0000-0000-0000-000000000000'),
);

type KeyChoice = 'right' | 'org' | 'other' | 'platform' | 'none' | 'junk';

/** Mostly the key the route takes, so most requests get past authentication. */
const keyChoice = fc.oneof(
  { weight: 6, arbitrary: fc.constant<KeyChoice>('right') },
  { weight: 4, arbitrary: fc.constantFrom<KeyChoice>('org', 'other', 'platform', 'none', 'junk') },
);

interface Route {
  method: string;
  /** Builds the path; `id` is a generated bad id, encoded by the caller. */
  path: (id: string) => string;
  /** Body fields the route knows, to give them wrong values. */
  fields: string[];
  body: boolean;
  /** Uses the real id of the right tenant rather than a bad one (only the body is bad). */
  realId?: () => string;
}

const ROUTES: Route[] = [
  {
    method: 'POST',
    path: () => '/v1/organizations',
    fields: ['name', 'authMethod', 'country'],
    body: true,
  },
  { method: 'GET', path: (id) => `/v1/organizations/${id}`, fields: [], body: false },
  {
    method: 'PATCH',
    path: (id) => `/v1/organizations/${id}`,
    fields: ['name', 'authMethod'],
    body: true,
  },
  {
    method: 'PATCH',
    path: (id) => `/v1/organizations/${id}`,
    fields: ['name', 'authMethod'],
    body: true,
    realId: () => ids.orgId,
  },
  {
    method: 'POST',
    path: (id) => `/v1/organizations/${id}/sms-credits`,
    fields: ['amount', 'reference'],
    body: true,
  },
  {
    method: 'POST',
    path: (id) => `/v1/organizations/${id}/sms-credits`,
    fields: ['amount', 'reference'],
    body: true,
    realId: () => ids.orgId,
  },
  {
    method: 'PATCH',
    path: () => '/v1/settings/password',
    fields: ['twoFactorEnabled', 'skipTwoFactorCidrs', 'smsAllowedCountries'],
    body: true,
  },
  { method: 'POST', path: () => '/v1/users', fields: ['email', 'password', 'phone'], body: true },
  { method: 'GET', path: (id) => `/v1/users/${id}`, fields: [], body: false },
  {
    method: 'PATCH',
    path: (id) => `/v1/users/${id}`,
    fields: ['phone', 'twoFactorDisabled', 'password'],
    body: true,
  },
  {
    method: 'PATCH',
    path: (id) => `/v1/users/${id}`,
    fields: ['phone', 'twoFactorDisabled', 'password'],
    body: true,
    realId: () => ids.userId,
  },
  { method: 'DELETE', path: (id) => `/v1/users/${id}/trusted-devices`, fields: [], body: false },
  {
    method: 'POST',
    path: () => '/v1/logins',
    fields: ['email', 'password', 'ip', 'deviceToken'],
    body: true,
  },
  {
    method: 'POST',
    path: () => '/v1/challenges',
    fields: ['userId', 'ip', 'deviceToken'],
    body: true,
  },
  { method: 'GET', path: (id) => `/v1/challenges/${id}`, fields: [], body: false },
  { method: 'POST', path: (id) => `/v1/challenges/${id}/phone`, fields: ['phone'], body: true },
  {
    method: 'POST',
    path: (id) => `/v1/challenges/${id}/phone`,
    fields: ['phone'],
    body: true,
    realId: () => ids.phoneChallengeId,
  },
  { method: 'POST', path: (id) => `/v1/challenges/${id}/resend`, fields: [], body: false },
  { method: 'POST', path: (id) => `/v1/challenges/${id}/verify`, fields: ['code'], body: true },
  {
    method: 'POST',
    path: (id) => `/v1/challenges/${id}/verify`,
    fields: ['code'],
    body: true,
    realId: () => ids.challengeId,
  },
  {
    method: 'GET',
    path: (id) => `/v1/audit-events?limit=${id}&before=${id}`,
    fields: [],
    body: false,
  },
  {
    method: 'POST',
    path: () => '/webhooks/twilio/status',
    fields: ['MessageSid', 'MessageStatus'],
    body: true,
  },
];

type Body =
  | { kind: 'none' }
  | { kind: 'raw'; text: string; contentType?: string }
  | { kind: 'json'; value: unknown };

function bodyFor(route: Route): fc.Arbitrary<Body> {
  const options: fc.WeightedArbitrary<Body>[] = [
    { weight: 1, arbitrary: fc.constant<Body>({ kind: 'none' }) },
    {
      // Malformed or truncated JSON, and non-JSON under a JSON content type.
      weight: 3,
      arbitrary: fc
        .oneof(weirdString, fc.constantFrom('{', '{"a":', '[1,2', '{"a":1}}', "{'a':1}", 'nul'))
        .map((text): Body => ({ kind: 'raw', text })),
    },
    {
      // Over the 64 KiB limit.
      weight: 1,
      arbitrary: fc
        .integer({ min: 65 * 1024, max: 200 * 1024 })
        .map((n): Body => ({ kind: 'raw', text: JSON.stringify({ name: 'x'.repeat(n) }) })),
    },
    {
      weight: 2,
      arbitrary: fc.jsonValue({ maxDepth: 3 }).map((value): Body => ({ kind: 'json', value })),
    },
    {
      // A form body (what the webhook takes) without a valid signature.
      weight: 1,
      arbitrary: fc.dictionary(weirdString, weirdString, { maxKeys: 4 }).map(
        (form): Body => ({
          kind: 'raw',
          text: new URLSearchParams(form as Record<string, string>).toString(),
          contentType: 'application/x-www-form-urlencoded',
        }),
      ),
    },
  ];
  if (route.fields.length > 0) {
    // The route's own fields, each given a wrong value, plus stray ones.
    options.push({
      weight: 8,
      arbitrary: fc
        .record({
          known: fc
            .subarray(route.fields, { minLength: 1 })
            .chain((names) => fc.tuple(...names.map((n) => badValue.map((v) => [n, v] as const)))),
          extra: fc.dictionary(weirdString, badValue, { maxKeys: 2 }),
        })
        .map(
          ({ known, extra }): Body => ({
            kind: 'json',
            value: { ...extra, ...Object.fromEntries(known) },
          }),
        ),
    });
  }
  return fc.oneof(...options);
}

/** Valid input is not what this test is about; it may change rows, as it should. */
function isCountedAttempt(route: Route, body: Body): boolean {
  if (!route.path('x').endsWith('/verify') || body.kind !== 'json') return false;
  const code = (body.value as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^\d{6}$/.test(code);
}

const request = fc
  .record({
    route: fc.constantFrom(...ROUTES),
    id: badId,
    key: keyChoice,
  })
  .chain(({ route, id, key }) =>
    fc.record({
      route: fc.constant(route),
      id: fc.constant(id),
      key: fc.constant(key),
      body: route.body ? bodyFor(route) : fc.constant<Body>({ kind: 'none' }),
    }),
  );

/** Percent-encodes every UTF-8 byte; lone surrogates become U+FFFD as they would on the wire. */
function encodeSegment(id: string): string {
  return [...Buffer.from(id, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}

function keyValue(key: KeyChoice, route: Route): string | null {
  switch (key) {
    case 'right':
      return route.path('x').startsWith('/v1/organizations') ? PLATFORM_KEY : keys.org;
    case 'org':
      return keys.org;
    case 'other':
      return keys.other;
    case 'platform':
      return PLATFORM_KEY;
    case 'junk':
      return "tfk_' or 1=1 --";
    default:
      return null;
  }
}

describe('bad input', { timeout: 180_000 }, () => {
  it('never answers 5xx and never changes a row on a 4xx', async () => {
    let before = await checksums();
    const statuses: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(request, async ({ route, id, key, body }) => {
        fc.pre(!isCountedAttempt(route, body));
        const path = route.path(encodeSegment(route.realId?.() ?? id));
        const headers: Record<string, string> = {};
        let rawBody: string | undefined;
        if (body.kind === 'raw') {
          rawBody = body.text;
          headers['content-type'] = body.contentType ?? 'application/json';
        } else if (body.kind === 'json') {
          rawBody = JSON.stringify(body.value);
          headers['content-type'] = 'application/json';
        }
        const res = await h.request(route.method, path, {
          key: keyValue(key, route),
          rawBody,
          headers,
        });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
        const after = await checksums();
        if (res.status >= 400) {
          expect(res.headers.get('content-type')).toContain('application/problem+json');
          expect(typeof res.body.code).toBe('string');
          expect(after).toEqual(before);
        }
        // A 2xx took valid input (fast-check found some); it may change what it names.
        before = after;
      }),
      {
        numRuns: Number(process.env.FAST_CHECK_RUNS ?? 600),
        seed: Number(process.env.FAST_CHECK_SEED ?? Date.now() % 2 ** 31),
      },
    );
    console.log(`bad input: ${JSON.stringify(statuses)}`);
    // The run reached past authentication and validation, not just 401s.
    expect(Object.keys(statuses).map(Number)).toEqual(expect.arrayContaining([400, 401, 404]));
  });

  it('answers every malformed id on every id route with 404, and changes nothing', async () => {
    const before = await checksums();
    const idRoutes = ROUTES.filter(
      (r) => r.path('ID').includes('ID') && !r.realId && !r.path('ID').includes('?'),
    );
    const badIds = ["' or 1=1 --", '..', '%00', 'x'.repeat(5_000), '𝕳', '1', ids.otherChallengeId];
    for (const route of idRoutes) {
      for (const id of badIds) {
        const platform = route.path('ID').startsWith('/v1/organizations');
        const res = await h.request(route.method, route.path(encodeSegment(id)), {
          key: platform ? PLATFORM_KEY : keys.org,
          ...(route.body && { body: {} }),
        });
        // Not found, or the body was refused first: never a 5xx, never a 2xx.
        expect([400, 404], `${route.method} ${route.path(id).slice(0, 80)}`).toContain(res.status);
      }
    }
    expect(await checksums()).toEqual(before);
  });
});
