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
import {
  createHarness,
  documentedOperations,
  expectRowForEveryRoute,
  type Harness,
  type Operation,
  ADMIN_KEY as PLATFORM_KEY,
  tableSnapshot,
} from '../support/index.ts';

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
let operations: Operation[];

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
  operations = await documentedOperations(h);
  fuzzed = fuzzedRoutes(operations);
}, 60_000);

afterAll(async () => {
  await h?.close();
});

/** Every table's row count and digest (`TABLES` and any added later). */
const checksums = () => tableSnapshot(h.sql);

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

interface FuzzRow {
  /** Body fields the route knows; a route with none is sent no body. */
  fields: string[];
  /** The path with the generated id in it, where not every `{param}` takes it. */
  path?: (id: string) => string;
  /** Also fuzzed with the real id of the right tenant, so only the body is bad. */
  realIds?: Array<() => string>;
}

/**
 * Every documented route, keyed `METHOD path` as in the OpenAPI document: how
 * to fuzz it, or why it is not. A route the document gains fails the coverage
 * test until it has a row here.
 */
/** HTML pages: session cookies and CSRF, not API keys; their bad input is tests/pages. */
const PAGE = { skip: 'a page for people, covered by tests/pages' };

const FUZZ: Record<string, FuzzRow | { skip: string }> = {
  'POST /v1/organizations': { fields: ['name', 'authMethod', 'country'] },
  'GET /v1/organizations/{orgId}': { fields: [] },
  'PATCH /v1/organizations/{orgId}': {
    fields: ['name', 'authMethod'],
    realIds: [() => ids.orgId],
  },
  'POST /v1/organizations/{orgId}/sms-credits': {
    fields: ['amount', 'reference'],
    realIds: [() => ids.orgId],
  },
  'GET /v1/settings/password': { skip: 'takes no input but the key' },
  'PATCH /v1/settings/password': {
    fields: ['twoFactorEnabled', 'skipTwoFactorCidrs', 'smsAllowedCountries'],
  },
  'GET /v1/sms-balance': { skip: 'takes no input but the key' },
  'POST /v1/users': { fields: ['email', 'password', 'phone'] },
  'GET /v1/users/{userId}': { fields: [] },
  'PATCH /v1/users/{userId}': {
    fields: ['phone', 'twoFactorDisabled', 'password'],
    realIds: [() => ids.userId],
  },
  'DELETE /v1/users/{userId}/trusted-devices': { fields: [] },
  'POST /v1/users/{userId}/unlock': { fields: [] },
  'POST /v1/users/{userId}/totp': { fields: [] },
  'DELETE /v1/users/{userId}/totp': { fields: [] },
  'POST /v1/users/{userId}/totp/confirm': { fields: ['code'] },
  'POST /v1/users/{userId}/backup-codes': { fields: [] },
  'POST /v1/users/{userId}/second-factors/reset': { fields: [] },
  'POST /v1/logins': { fields: ['email', 'password', 'ip', 'deviceToken'] },
  'POST /v1/challenges': { fields: ['userId', 'ip', 'deviceToken'] },
  'GET /v1/challenges/{id}': { fields: [] },
  'POST /v1/challenges/{id}/phone': { fields: ['phone'], realIds: [() => ids.phoneChallengeId] },
  'POST /v1/challenges/{id}/resend': { fields: [] },
  'POST /v1/challenges/{id}/verify': { fields: ['code'], realIds: [() => ids.challengeId] },
  'GET /v1/audit-events': {
    fields: [],
    path: (id) => `/v1/audit-events?limit=${id}&before=${id}`,
  },
  'POST /v1/webhooks': { fields: ['url', 'events'] },
  'GET /v1/webhooks': { skip: 'takes no input but the key' },
  'DELETE /v1/webhooks/{webhookId}': { fields: [] },
  'GET /v1/webhooks/{webhookId}/deliveries': {
    fields: [],
    path: (id) => `/v1/webhooks/${id}/deliveries?limit=${id}&before=${id}`,
  },
  'POST /v1/webhooks/{webhookId}/test': { fields: [] },
  'PATCH /v1/webhooks/{webhookId}': { fields: ['enabled'] },
  'POST /v1/apps': { fields: ['name', 'redirectUris'] },
  'GET /v1/apps': { skip: 'takes no input but the key' },
  'DELETE /v1/apps/{appId}': { fields: [] },
  'POST /v1/apps/{appId}/secret': { fields: [] },
  'POST /webhooks/twilio/status': { fields: ['MessageSid', 'MessageStatus'] },
  'GET /health': { skip: 'operations: no input, no rows' },
  'GET /ready': { skip: 'operations: no input, no rows' },
  'GET /metrics': { skip: 'operations: no input, no rows' },
  'GET /admin/queues': { skip: 'the bull-board dashboard, not this API' },
  'GET /openapi.json': { skip: 'a static document' },
  'GET /docs': { skip: 'a static page' },
  'GET /login': PAGE,
  'GET /login/backup-code': PAGE,
  'POST /login/backup-code': PAGE,
  'POST /account/totp': PAGE,
  'GET /account/totp': PAGE,
  'POST /account/totp/confirm': PAGE,
  'POST /account/totp/remove': PAGE,
  'POST /account/backup-codes': PAGE,
  'POST /settings/users/{userId}/second-factors/reset': PAGE,
  'POST /login': PAGE,
  'GET /login/code': PAGE,
  'POST /login/code': PAGE,
  'POST /login/resend': PAGE,
  'GET /login/phone': PAGE,
  'POST /login/phone': PAGE,
  'POST /logout': PAGE,
  'GET /account': PAGE,
  'GET /settings/password': PAGE,
  'POST /settings/password': PAGE,
  'GET /settings/users': PAGE,
  'POST /settings/users/{userId}/two-factor': PAGE,
  'POST /settings/users/{userId}/trusted-devices': PAGE,
  'POST /settings/users/{userId}/unlock': PAGE,
  'GET /settings/subscription': PAGE,
  'GET /settings/audit': PAGE,
  'GET /settings/webhooks': PAGE,
  'POST /settings/webhooks': PAGE,
  'POST /settings/webhooks/{webhookId}/test': PAGE,
  'POST /settings/webhooks/{webhookId}/delete': PAGE,
  'POST /settings/webhooks/{webhookId}/enable': PAGE,
  'POST /settings/webhooks/{webhookId}/disable': PAGE,
  'GET /settings/apps': PAGE,
  'POST /settings/apps': PAGE,
  'POST /settings/apps/{appId}/secret': PAGE,
  'POST /settings/apps/{appId}/delete': PAGE,
  'GET /dev/sms': PAGE,
  'GET /pages/style.css': PAGE,
  'GET /pages/countdown.js': PAGE,
  'GET /': PAGE,
  'GET /help': PAGE,
};

/** The fuzzed routes, from the document: one a route, and one more per real id. */
function fuzzedRoutes(operations: readonly Operation[]): Route[] {
  return operations.flatMap((op) => {
    const row = FUZZ[op.key];
    if (!row || 'skip' in row) return [];
    const path = row.path ?? ((id: string) => op.path.replace(/\{\w+\}/g, id));
    const route = { method: op.method, path, fields: row.fields, body: row.fields.length > 0 };
    return [route, ...(row.realIds ?? []).map((realId) => ({ ...route, realId }))];
  });
}

/** Filled in beforeAll, from the document. */
let fuzzed: Route[];

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

const requestFor = (routes: Route[]) =>
  fc
    .record({
      route: fc.constantFrom(...routes),
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
  it('has a row for every route in the OpenAPI document', () => {
    expectRowForEveryRoute(operations, Object.keys(FUZZ), 'FUZZ');
    expect(fuzzed.length).toBeGreaterThanOrEqual(22);
  });

  it('never answers 5xx and never changes a row on a 4xx', async () => {
    let before = await checksums();
    const statuses: Record<number, number> = {};
    await fc.assert(
      fc.asyncProperty(requestFor(fuzzed), async ({ route, id, key, body }) => {
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
    const idRoutes = fuzzed.filter(
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
