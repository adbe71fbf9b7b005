import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  createHarness,
  documentedOperations,
  expectRowForEveryRoute,
  readJson,
  routeKey,
  tableSnapshot,
} from '../support/index.ts';

/**
 * Every route, fed bad requests: each answer is the right problem+json, and
 * each leaves every table exactly as it was. The routes come from the app's
 * OpenAPI document: one without a valid request and a table below fails.
 */

// At collection time: the authentication rows are generated from the document.
const h = await createHarness({ worker: false, env: { DB_POOL_SIZE: '3' } });
afterAll(async () => {
  await h.close();
});
const OPERATIONS = (await documentedOperations(h)).filter((op) => op.path.startsWith('/v1/'));
const ids: Record<string, string> = {};

const PASSWORD = 'correct horse battery';
const USER_EMAIL = 'staff@example.com';
const UNKNOWN_UUID = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

beforeAll(async () => {
  const org = await h.createOrganization({ name: 'Happy Paws', country: 'FI' });
  const other = await h.createOrganization({ name: 'Other Clinic', country: 'FI' });
  await h.topUp(org.id, 10);
  await h.enableTwoFactor(org.apiKey);
  await h.enableTwoFactor(other.apiKey);
  ids.org = org.id;
  ids.orgKey = org.apiKey;
  ids.otherOrg = other.id;
  ids.otherKey = other.apiKey;
  ids.user = (
    await h.createUser(org.apiKey, {
      email: USER_EMAIL,
      password: PASSWORD,
      phone: '+358401000300',
    })
  ).id;
  ids.noPhoneUser = (
    await h.createUser(org.apiKey, { email: 'nophone@example.com', password: PASSWORD })
  ).id;
  ids.otherUser = (await h.createUser(other.apiKey, { email: USER_EMAIL, password: PASSWORD })).id;
  const start = async (key: string, userId: string, ip: string) => {
    const res = await h.request('POST', '/v1/challenges', { key, body: { userId, ip } });
    expect(res.body.result).toBe('challenge_required');
    return res.body.challenge.id as string;
  };
  ids.pending = await start(org.apiKey, ids.user, '198.51.100.1');
  ids.phoneRequired = await start(org.apiKey, ids.noPhoneUser, '198.51.100.2');
  ids.otherChallenge = await start(other.apiKey, ids.otherUser, '198.51.100.3');
  const app = async (key: string) => {
    const res = await h.request('POST', '/v1/apps', {
      key,
      body: { name: 'Clinic app', redirectUris: ['https://clinic.example/cb'] },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  ids.app = await app(org.apiKey);
  ids.otherApp = await app(other.apiKey);
  const webhook = async (key: string) => {
    // A public address literal: checked without a lookup; nothing is delivered here.
    const res = await h.request('POST', '/v1/webhooks', {
      key,
      body: { url: 'https://[2606:4700::1111]/hook' },
    });
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  ids.webhook = await webhook(org.apiKey);
  ids.otherWebhook = await webhook(other.apiKey);
});

type KeyKind = 'org' | 'platform' | 'other' | 'none' | 'bad';

interface Row {
  name: string;
  method: string;
  /** `:name` segments are filled from `ids`. */
  path: string;
  key?: KeyKind;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
  status: number;
  code: string;
  /** For 400s: the field `detail` must name. */
  field?: string;
}

function fill(text: string): string {
  return text.replace(/:([a-zA-Z]+)/g, (whole, name: string) => ids[name] ?? whole);
}

function keyFor(kind: KeyKind): string | null {
  switch (kind) {
    case 'org':
      return ids.orgKey!;
    case 'other':
      return ids.otherKey!;
    case 'platform':
      return ADMIN_KEY;
    case 'bad':
      return 'tfa_this-is-not-a-key-of-anyone-at-all-000000000';
    case 'none':
      return null;
  }
}

async function send(row: Row) {
  const key = keyFor(row.key ?? (row.path.startsWith('/v1/organizations') ? 'platform' : 'org'));
  const body = row.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(row.body)));
  return h.request(row.method, fill(row.path), {
    key,
    body,
    rawBody: row.rawBody,
    headers: row.headers,
  });
}

/** Row count and a digest of the contents of every table, plus the organizations rows in full. */
const snapshot = () => tableSnapshot(h.sql, { inFull: ['organizations'] });

function expectProblem(res: Awaited<ReturnType<typeof send>>, row: Row) {
  expect(res.status).toBe(row.status);
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({
    type: 'about:blank',
    status: row.status,
    code: row.code,
    title: expect.any(String),
    detail: expect.any(String),
    requestId: expect.any(String),
  });
  if (row.field) expect(res.body.detail).toContain(row.field);
  const text = JSON.stringify(res.body);
  expect(text).not.toMatch(/\bat .+:\d+:\d+|node_modules|\.ts:\d|stack/i);
  expect(text).not.toMatch(/\b(select|insert|update|delete) .+ (from|into|set)\b/i);
  expect(text).not.toMatch(/postgres|violates|constraint|syntax error/i);
  expect(text).not.toContain(ids.orgKey);
  expect(text).not.toContain(ADMIN_KEY);
}

/** The routes (`METHOD path` as documented) a table of their own below is about. */
const tabled = new Set<string>();

function table(title: string, rows: Row[]) {
  const [method = '', path = ''] = title.split(' ');
  if (OPERATIONS.some((op) => op.key === routeKey(method, path))) tabled.add(title);
  describe(title, () => {
    it.each(rows.map((row) => [`${row.method} ${row.path}: ${row.name}`, row] as const))(
      '%s',
      async (_label, row) => {
        const before = await snapshot();
        const res = await send(row);
        expectProblem(res, row);
        expect(await snapshot()).toEqual(before);
      },
    );
  });
}

const BIG = 'x'.repeat(60_000); // a huge string that still fits the 64 KiB body limit
const OVER_LIMIT = 'x'.repeat(64 * 1024 + 1);

/**
 * A valid request for every /v1 route, keyed `METHOD path` as in the OpenAPI
 * document: with the wrong key, it must still change nothing. Path parameters
 * take the ids of PATH_IDS unless the row names others.
 */
const VALID_REQUESTS: Record<string, { body?: unknown; ids?: Record<string, string> }> = {
  'GET /v1/settings/password': {},
  'PATCH /v1/settings/password': {
    body: { twoFactorEnabled: false, skipTwoFactorCidrs: ['10.0.0.0/8'] },
  },
  'GET /v1/sms-balance': {},
  'POST /v1/users': { body: { email: 'new@example.com', password: PASSWORD } },
  'GET /v1/users/{userId}': {},
  'PATCH /v1/users/{userId}': { body: { twoFactorDisabled: true, phone: null } },
  'DELETE /v1/users/{userId}/trusted-devices': {},
  'POST /v1/users/{userId}/unlock': {},
  'POST /v1/users/{userId}/totp': {},
  'POST /v1/users/{userId}/totp/confirm': { body: { code: '123456' } },
  'DELETE /v1/users/{userId}/totp': {},
  'POST /v1/users/{userId}/backup-codes': {},
  'POST /v1/users/{userId}/second-factors/reset': {},
  'POST /v1/logins': { body: { email: USER_EMAIL, password: PASSWORD, ip: '192.0.2.10' } },
  'POST /v1/challenges': { body: { userId: ':user', ip: '192.0.2.11' } },
  'GET /v1/challenges/{id}': {},
  'POST /v1/challenges/{id}/phone': {
    ids: { id: 'phoneRequired' },
    body: { phone: '+358401000301' },
  },
  'POST /v1/challenges/{id}/resend': {},
  'POST /v1/challenges/{id}/verify': { body: { code: '123456' } },
  'GET /v1/audit-events': {},
  'POST /v1/organizations': { body: { name: 'Sneaky Clinic' } },
  'GET /v1/organizations/{orgId}': {},
  'PATCH /v1/organizations/{orgId}': { body: { authMethod: 'saml2' } },
  'POST /v1/organizations/{orgId}/sms-credits': { body: { amount: 1000 } },
  'POST /v1/apps': { body: { name: 'Sneaky app', redirectUris: ['https://sneaky.example/cb'] } },
  'GET /v1/apps': {},
  'DELETE /v1/apps/{appId}': {},
  'POST /v1/apps/{appId}/secret': {},
  'POST /v1/webhooks': { body: { url: 'https://[2606:4700::1111]/sneaky' } },
  'GET /v1/webhooks': {},
  'GET /v1/webhooks/{webhookId}/deliveries': {},
  'POST /v1/webhooks/{webhookId}/test': {},
  'DELETE /v1/webhooks/{webhookId}': {},
  'PATCH /v1/webhooks/{webhookId}': { body: { enabled: false } },
};

/** Which of `ids` fills each path parameter by default. */
const PATH_IDS: Record<string, string> = {
  userId: 'user',
  orgId: 'org',
  id: 'pending',
  appId: 'app',
  webhookId: 'webhook',
};

/** Routes with no body, id or query to get wrong: their authentication rows are all there is. */
const AUTHENTICATION_ONLY = new Set([
  'GET /v1/settings/password',
  'GET /v1/sms-balance',
  'GET /v1/apps',
  'GET /v1/webhooks',
]);

const validRequests = (platform: boolean): Array<Pick<Row, 'method' | 'path' | 'body'>> =>
  OPERATIONS.filter((op) => op.path.startsWith('/v1/organizations') === platform).flatMap((op) => {
    const valid = VALID_REQUESTS[op.key];
    // A route without a valid request fails the coverage test below.
    if (!valid) return [];
    const path = op.path.replace(
      /\{(\w+)\}/g,
      (whole, param: string) => `:${valid.ids?.[param] ?? PATH_IDS[param] ?? whole}`,
    );
    return [{ method: op.method, path, body: valid.body }];
  });

describe('the route tables', () => {
  it('have a valid request for every /v1 route in the OpenAPI document', () => {
    expect(OPERATIONS.length).toBeGreaterThanOrEqual(18);
    expectRowForEveryRoute(OPERATIONS, Object.keys(VALID_REQUESTS), 'VALID_REQUESTS');
  });

  it('have a table of bad requests for every /v1 route that takes input', () => {
    expectRowForEveryRoute(
      OPERATIONS,
      [...tabled, ...AUTHENTICATION_ONLY],
      'the bad-input tables (or AUTHENTICATION_ONLY)',
    );
  });
});

const authRows = (
  routes: Array<Pick<Row, 'method' | 'path' | 'body'>>,
  wrongKind: KeyKind,
): Row[] =>
  routes.flatMap((route) => [
    { ...route, name: 'no key', key: 'none' as const, status: 401, code: 'unauthorized' },
    { ...route, name: 'an unknown key', key: 'bad' as const, status: 401, code: 'unauthorized' },
    {
      ...route,
      name: 'a Basic header',
      key: 'none' as const,
      headers: { authorization: `Basic ${Buffer.from(`admin:${ADMIN_KEY}`).toString('base64')}` },
      status: 401,
      code: 'unauthorized',
    },
    {
      ...route,
      name: 'an empty bearer',
      key: 'none' as const,
      headers: { authorization: 'Bearer ' },
      status: 401,
      code: 'unauthorized',
    },
    {
      ...route,
      name: 'the wrong kind of key',
      key: wrongKind,
      status: 403,
      code: 'forbidden',
    },
  ]);

table('authentication on organization routes', authRows(validRequests(false), 'platform'));
table('authentication on platform routes', authRows(validRequests(true), 'org'));

table('authentication is checked before validation', [
  {
    name: 'no key and a bad body',
    method: 'POST',
    path: '/v1/users',
    key: 'none',
    body: { email: 5 },
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'platform key and a bad body',
    method: 'PATCH',
    path: '/v1/settings/password',
    key: 'platform',
    body: { twoFactorEnabled: 'yes' },
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'org key and a bad body',
    method: 'POST',
    path: '/v1/organizations',
    key: 'org',
    body: {},
    status: 403,
    code: 'forbidden',
  },
  {
    name: 'no key and a malformed id',
    method: 'GET',
    path: '/v1/users/not-a-uuid',
    key: 'none',
    status: 401,
    code: 'unauthorized',
  },
]);

const malformedJson = (method: string, path: string): Row[] => [
  {
    name: 'malformed JSON',
    method,
    path,
    rawBody: '{"a": ',
    status: 400,
    code: 'invalid_request',
  },
  { name: 'an empty body', method, path, rawBody: '', status: 400, code: 'invalid_request' },
  { name: 'a JSON array', method, path, rawBody: '[]', status: 400, code: 'invalid_request' },
  { name: 'JSON null', method, path, rawBody: 'null', status: 400, code: 'invalid_request' },
  {
    name: 'a non-JSON content type',
    method,
    path,
    rawBody: '{}',
    headers: { 'content-type': 'text/plain' },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a form body',
    method,
    path,
    rawBody: 'name=x&email=a%40b.com',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 400,
    code: 'invalid_request',
  },
  {
    name: 'a body over 64 KiB',
    method,
    path,
    body: { pad: OVER_LIMIT },
    status: 413,
    code: 'payload_too_large',
  },
];

const invalid = (
  method: string,
  path: string,
  field: string,
  cases: Array<[string, unknown]>,
): Row[] =>
  cases.map(([name, body]) => ({
    name,
    method,
    path,
    body,
    status: 400,
    code: 'invalid_request',
    field,
  }));

const notFound = (method: string, path: string, body?: unknown): Row[] =>
  [
    ['a malformed id', 'not-a-uuid'],
    ['a numeric id', '12345'],
    ['an id with trailing junk', `${UNKNOWN_UUID}x`],
    ['an injection attempt', encodeURIComponent("' or '1'='1")],
    ['an unknown id', UNKNOWN_UUID],
  ].map(([name, id]) => ({
    name: name!,
    method,
    path: path.replace('{id}', id!),
    body,
    status: 404,
    code: 'not_found',
  }));

table('POST /v1/organizations', [
  ...malformedJson('POST', '/v1/organizations'),
  ...invalid('POST', '/v1/organizations', 'name', [
    ['missing name', {}],
    ['name a number', { name: 5 }],
    ['name null', { name: null }],
    ['name blank', { name: '   ' }],
    ['name huge', { name: BIG }],
    ['name with a NUL', { name: 'Paws\u0000' }],
  ]),
  ...invalid('POST', '/v1/organizations', 'authMethod', [
    ['unknown authMethod', { name: 'X', authMethod: 'oauth' }],
    ['authMethod upper-case', { name: 'X', authMethod: 'SAML2' }],
    ['authMethod a boolean', { name: 'X', authMethod: true }],
  ]),
  ...invalid('POST', '/v1/organizations', 'country', [
    ['alpha-3 country', { name: 'X', country: 'FIN' }],
    ['numeric country', { name: 'X', country: 246 }],
    ['country with digits', { name: 'X', country: 'F1' }],
  ]),
]);

table('GET /v1/organizations/{orgId}', notFound('GET', '/v1/organizations/{id}'));

table('PATCH /v1/organizations/{orgId}', [
  ...malformedJson('PATCH', '/v1/organizations/:org'),
  ...invalid('PATCH', '/v1/organizations/:org', 'authMethod', [
    ['unknown authMethod', { authMethod: 'kerberos' }],
    ['authMethod null', { authMethod: null }],
  ]),
  ...invalid('PATCH', '/v1/organizations/:org', 'name', [
    ['empty name', { name: '' }],
    ['name huge', { name: BIG }],
    ['name an object', { name: { first: 'x' } }],
  ]),
  ...notFound('PATCH', '/v1/organizations/{id}', { name: 'Renamed' }),
  {
    name: 'validation before not found',
    method: 'PATCH',
    path: '/v1/organizations/not-a-uuid',
    body: { authMethod: 'kerberos' },
    status: 400,
    code: 'invalid_request',
    field: 'authMethod',
  },
]);

table('POST /v1/organizations/{orgId}/sms-credits', [
  ...malformedJson('POST', '/v1/organizations/:org/sms-credits'),
  ...invalid('POST', '/v1/organizations/:org/sms-credits', 'amount', [
    ['missing amount', {}],
    ['zero', { amount: 0 }],
    ['negative', { amount: -5 }],
    ['fractional', { amount: 1.5 }],
    ['a numeric string', { amount: '5' }],
    ['too large', { amount: 10_000_001 }],
    ['null', { amount: null }],
  ]),
  {
    name: 'amount overflowing a double',
    method: 'POST',
    path: '/v1/organizations/:org/sms-credits',
    rawBody: '{"amount": 1e400}',
    status: 400,
    code: 'invalid_request',
    field: 'amount',
  },
  ...invalid('POST', '/v1/organizations/:org/sms-credits', 'reference', [
    ['reference huge', { amount: 5, reference: BIG }],
    ['reference a number', { amount: 5, reference: 42 }],
    ['reference with a NUL', { amount: 5, reference: 'inv\u0000oice' }],
  ]),
  ...notFound('POST', '/v1/organizations/{id}/sms-credits', { amount: 5 }),
]);

table('PATCH /v1/settings/password', [
  ...malformedJson('PATCH', '/v1/settings/password'),
  ...invalid('PATCH', '/v1/settings/password', 'twoFactorEnabled', [
    ['twoFactorEnabled a string', { twoFactorEnabled: 'yes' }],
    ['twoFactorEnabled a number', { twoFactorEnabled: 1 }],
    ['twoFactorEnabled null', { twoFactorEnabled: null }],
  ]),
  ...invalid('PATCH', '/v1/settings/password', 'skipTwoFactorCidrs', [
    ['CIDRs a string', { skipTwoFactorCidrs: '10.0.0.0/8' }],
    ['a CIDR a number', { skipTwoFactorCidrs: [10] }],
    ['a huge CIDR entry', { skipTwoFactorCidrs: [BIG] }],
    ['CIDRs null', { skipTwoFactorCidrs: null }],
  ]),
  ...invalid('PATCH', '/v1/settings/password', 'methods', [
    ['methods empty', { methods: [] }],
    ['an unknown method', { methods: ['sms', 'email'] }],
    ['methods a string', { methods: 'sms' }],
    ['methods null', { methods: null }],
    ['an unknown method with 2FA on', { methods: ['voice'], twoFactorEnabled: true }],
  ]),
  ...invalid('PATCH', '/v1/settings/password', 'smsAllowedCountries', [
    ['alpha-3 country', { smsAllowedCountries: ['FIN'] }],
    ['country a number', { smsAllowedCountries: [246] }],
    ['countries a string', { smsAllowedCountries: 'FI' }],
  ]),
  {
    name: 'a bare address among CIDRs (and 2FA off in the same request)',
    method: 'PATCH',
    path: '/v1/settings/password',
    body: { twoFactorEnabled: false, skipTwoFactorCidrs: ['192.168.0.0/16', '192.168.10.7'] },
    status: 422,
    code: 'invalid_cidr',
    field: '192.168.10.7',
  },
  {
    name: 'garbage among CIDRs',
    method: 'PATCH',
    path: '/v1/settings/password',
    body: { skipTwoFactorCidrs: ['clinic wifi'] },
    status: 422,
    code: 'invalid_cidr',
    field: 'clinic wifi',
  },
  {
    name: 'a /33',
    method: 'PATCH',
    path: '/v1/settings/password',
    body: { skipTwoFactorCidrs: ['10.0.0.0/33'] },
    status: 422,
    code: 'invalid_cidr',
    field: '10.0.0.0/33',
  },
]);

table('POST /v1/users', [
  ...malformedJson('POST', '/v1/users'),
  ...invalid('POST', '/v1/users', 'email', [
    ['missing email', { password: PASSWORD }],
    ['email a number', { email: 5 }],
    ['malformed email', { email: 'not-an-email' }],
    ['email without domain', { email: 'vet@' }],
    ['email with spaces', { email: 'v et@example.com' }],
    ['email huge', { email: `${BIG}@example.com` }],
    ['email over 254 characters', { email: `${'a'.repeat(250)}@example.com` }],
  ]),
  ...invalid('POST', '/v1/users', 'password', [
    ['empty password', { email: 'a@example.com', password: '' }],
    ['password a number', { email: 'a@example.com', password: 123456 }],
    ['password huge', { email: 'a@example.com', password: BIG }],
  ]),
  ...invalid('POST', '/v1/users', 'phone', [
    ['phone a number', { email: 'a@example.com', phone: 358401234567 }],
    ['phone huge', { email: 'a@example.com', phone: BIG }],
  ]),
  {
    name: 'an invalid phone',
    method: 'POST',
    path: '/v1/users',
    body: { email: 'a@example.com', phone: '12' },
    status: 422,
    code: 'invalid_phone',
    field: '12',
  },
  {
    name: 'a duplicate email in another case',
    method: 'POST',
    path: '/v1/users',
    body: { email: USER_EMAIL.toUpperCase(), password: PASSWORD },
    status: 409,
    code: 'email_taken',
  },
]);

table('GET /v1/users/{userId}', [
  ...notFound('GET', '/v1/users/{id}'),
  {
    name: "another organization's user",
    method: 'GET',
    path: '/v1/users/:otherUser',
    status: 404,
    code: 'not_found',
  },
]);

table('PATCH /v1/users/{userId}', [
  ...malformedJson('PATCH', '/v1/users/:user'),
  ...invalid('PATCH', '/v1/users/:user', 'twoFactorDisabled', [
    ['twoFactorDisabled a string', { twoFactorDisabled: 'true' }],
    ['twoFactorDisabled null', { twoFactorDisabled: null }],
  ]),
  ...invalid('PATCH', '/v1/users/:user', 'phone', [
    ['phone a number', { phone: 358401234567 }],
    ['phone huge', { phone: BIG }],
  ]),
  ...invalid('PATCH', '/v1/users/:user', 'password', [
    ['empty password', { password: '' }],
    ['password null', { password: null }],
  ]),
  {
    name: 'an invalid phone together with a valid exemption',
    method: 'PATCH',
    path: '/v1/users/:user',
    body: { phone: 'call me maybe', twoFactorDisabled: true },
    status: 422,
    code: 'invalid_phone',
    field: 'call me maybe',
  },
  ...notFound('PATCH', '/v1/users/{id}', { twoFactorDisabled: true }),
  {
    name: "another organization's user",
    method: 'PATCH',
    path: '/v1/users/:otherUser',
    body: { twoFactorDisabled: true },
    status: 404,
    code: 'not_found',
  },
]);

table('DELETE /v1/users/{userId}/trusted-devices', [
  ...notFound('DELETE', '/v1/users/{id}/trusted-devices'),
  {
    name: "another organization's user",
    method: 'DELETE',
    path: '/v1/users/:otherUser/trusted-devices',
    status: 404,
    code: 'not_found',
  },
]);

table('POST /v1/users/{userId}/unlock', [
  ...notFound('POST', '/v1/users/{id}/unlock'),
  {
    name: "another organization's user",
    method: 'POST',
    path: '/v1/users/:otherUser/unlock',
    status: 404,
    code: 'not_found',
  },
]);

for (const [method, route] of [
  ['POST', '/totp'],
  ['DELETE', '/totp'],
  ['POST', '/backup-codes'],
  ['POST', '/second-factors/reset'],
] as const) {
  table(`${method} /v1/users/{userId}${route}`, [
    ...notFound(method, `/v1/users/{id}${route}`),
    {
      name: "another organization's user",
      method,
      path: `/v1/users/:otherUser${route}`,
      status: 404,
      code: 'not_found',
    },
  ]);
}

table('POST /v1/users/{userId}/totp/confirm', [
  ...malformedJson('POST', '/v1/users/:user/totp/confirm'),
  ...invalid('POST', '/v1/users/:user/totp/confirm', 'code', [
    ['missing code', {}],
    ['five digits', { code: '12345' }],
    ['letters', { code: 'abcdef' }],
    ['a number, not a string', { code: 123456 }],
    ['code huge', { code: BIG }],
  ]),
  ...notFound('POST', '/v1/users/{id}/totp/confirm', { code: '123456' }),
  {
    name: "another organization's user",
    method: 'POST',
    path: '/v1/users/:otherUser/totp/confirm',
    body: { code: '123456' },
    status: 404,
    code: 'not_found',
  },
  {
    name: 'no enrollment to confirm',
    method: 'POST',
    path: '/v1/users/:user/totp/confirm',
    body: { code: '123456' },
    status: 409,
    code: 'totp_not_enrolled',
  },
]);

const login = { email: USER_EMAIL, password: PASSWORD, ip: '192.0.2.20' };

table('POST /v1/logins', [
  ...malformedJson('POST', '/v1/logins'),
  ...invalid('POST', '/v1/logins', 'email', [
    ['missing email', { ...login, email: undefined }],
    ['malformed email', { ...login, email: 'staff.example.com' }],
    ['email huge', { ...login, email: `${BIG}@example.com` }],
  ]),
  ...invalid('POST', '/v1/logins', 'password', [
    ['missing password', { ...login, password: undefined }],
    ['password a number', { ...login, password: 1 }],
    ['password huge', { ...login, password: BIG }],
  ]),
  ...invalid('POST', '/v1/logins', 'ip', [
    ['missing ip', { ...login, ip: undefined }],
    ['ip not an address', { ...login, ip: 'localhost' }],
    ['ip with a prefix', { ...login, ip: '192.0.2.0/24' }],
    ['ip with an octal-looking octet', { ...login, ip: '010.0.0.1' }],
    ['ip as a number', { ...login, ip: 3221225994 }],
    ['ip huge', { ...login, ip: BIG }],
  ]),
  ...invalid('POST', '/v1/logins', 'deviceToken', [
    ['deviceToken a number', { ...login, deviceToken: 5 }],
    ['deviceToken empty', { ...login, deviceToken: '' }],
    ['deviceToken huge', { ...login, deviceToken: BIG }],
  ]),
]);

table('POST /v1/challenges', [
  ...malformedJson('POST', '/v1/challenges'),
  ...invalid('POST', '/v1/challenges', 'userId', [
    ['missing userId', { ip: '192.0.2.21' }],
    ['userId a number', { userId: 5, ip: '192.0.2.21' }],
    ['userId huge', { userId: BIG, ip: '192.0.2.21' }],
  ]),
  ...invalid('POST', '/v1/challenges', 'ip', [
    ['missing ip', { userId: ':user' }],
    ['ip garbage', { userId: ':user', ip: 'not an ip' }],
  ]),
  ...invalid('POST', '/v1/challenges', 'deviceToken', [
    ['deviceToken an object', { userId: ':user', ip: '192.0.2.21', deviceToken: {} }],
  ]),
  ...[
    ['a malformed userId', 'not-a-uuid'],
    ['an unknown userId', UNKNOWN_UUID],
    ["another organization's user", ':otherUser'],
  ].map(([name, userId]) => ({
    name: name!,
    method: 'POST',
    path: '/v1/challenges',
    body: { userId, ip: '192.0.2.22' },
    status: 404,
    code: 'not_found',
  })),
]);

table('GET /v1/challenges/{id}', [
  ...notFound('GET', '/v1/challenges/{id}'),
  {
    name: "another organization's challenge",
    method: 'GET',
    path: '/v1/challenges/:otherChallenge',
    status: 404,
    code: 'not_found',
  },
]);

table('POST /v1/challenges/{id}/phone', [
  ...malformedJson('POST', '/v1/challenges/:phoneRequired/phone'),
  ...invalid('POST', '/v1/challenges/:phoneRequired/phone', 'phone', [
    ['missing phone', {}],
    ['phone a number', { phone: 358401234567 }],
    ['phone huge', { phone: BIG }],
  ]),
  {
    name: 'an invalid phone',
    method: 'POST',
    path: '/v1/challenges/:phoneRequired/phone',
    body: { phone: '040' },
    status: 422,
    code: 'invalid_phone',
    field: '040',
  },
  {
    name: 'a number outside the allowed countries',
    method: 'POST',
    path: '/v1/challenges/:phoneRequired/phone',
    body: { phone: '+46 70 123 45 67' },
    status: 422,
    code: 'phone_country_not_allowed',
  },
  {
    name: 'a challenge that already has a phone',
    method: 'POST',
    path: '/v1/challenges/:pending/phone',
    body: { phone: '+358401000302' },
    status: 409,
    code: 'phone_already_set',
  },
  ...notFound('POST', '/v1/challenges/{id}/phone', { phone: '+358401000303' }),
  {
    name: "another organization's challenge",
    method: 'POST',
    path: '/v1/challenges/:otherChallenge/phone',
    body: { phone: '+358401000304' },
    status: 404,
    code: 'not_found',
  },
]);

table('POST /v1/challenges/{id}/resend', [
  ...notFound('POST', '/v1/challenges/{id}/resend'),
  {
    name: "another organization's challenge",
    method: 'POST',
    path: '/v1/challenges/:otherChallenge/resend',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'a phone_required challenge',
    method: 'POST',
    path: '/v1/challenges/:phoneRequired/resend',
    status: 409,
    code: 'challenge_not_pending',
  },
]);

table('POST /v1/challenges/{id}/verify', [
  ...malformedJson('POST', '/v1/challenges/:pending/verify'),
  ...invalid('POST', '/v1/challenges/:pending/verify', 'code', [
    ['missing code', {}],
    ['five digits', { code: '12345' }],
    ['seven digits', { code: '1234567' }],
    ['letters', { code: 'abcdef' }],
    ['a number, not a string', { code: 123456 }],
    ['spaces around', { code: ' 123456 ' }],
    ['code huge', { code: BIG }],
    ['both a code and a backup code', { code: '123456', backupCode: 'abcde-fghjk' }],
  ]),
  ...invalid('POST', '/v1/challenges/:pending/verify', 'backupCode', [
    ['backupCode a number', { backupCode: 12345 }],
    ['backupCode empty', { backupCode: '' }],
    ['backupCode huge', { backupCode: BIG }],
  ]),
  ...notFound('POST', '/v1/challenges/{id}/verify', { code: '123456' }),
  {
    name: "another organization's challenge",
    method: 'POST',
    path: '/v1/challenges/:otherChallenge/verify',
    body: { code: '123456' },
    status: 404,
    code: 'not_found',
  },
  {
    name: 'a phone_required challenge',
    method: 'POST',
    path: '/v1/challenges/:phoneRequired/verify',
    body: { code: '123456' },
    status: 409,
    code: 'challenge_not_pending',
  },
]);

const appBody = { name: 'Clinic app', redirectUris: ['https://clinic.example/cb'] };

table('POST /v1/apps', [
  ...malformedJson('POST', '/v1/apps'),
  ...invalid('POST', '/v1/apps', 'name', [
    ['missing name', { ...appBody, name: undefined }],
    ['empty name', { ...appBody, name: '  ' }],
    ['name huge', { ...appBody, name: BIG }],
  ]),
  ...invalid('POST', '/v1/apps', 'redirectUris', [
    ['missing redirect URIs', { ...appBody, redirectUris: undefined }],
    ['no redirect URI', { ...appBody, redirectUris: [] }],
    ['eleven redirect URIs', { ...appBody, redirectUris: Array(11).fill('https://c.example/') }],
    ['a redirect URI not a string', { ...appBody, redirectUris: [42] }],
  ]),
  ...[
    ['http off loopback', 'http://clinic.example/cb'],
    ['a fragment', 'https://clinic.example/cb#x'],
    ['relative', '/cb'],
  ].map(([name, uri]) => ({
    name: name!,
    method: 'POST',
    path: '/v1/apps',
    body: { ...appBody, redirectUris: [uri] },
    status: 422,
    code: 'invalid_redirect_uri',
  })),
]);

table('DELETE /v1/apps/{appId}', [
  ...notFound('DELETE', '/v1/apps/{id}'),
  {
    name: "another organization's app",
    method: 'DELETE',
    path: '/v1/apps/:otherApp',
    status: 404,
    code: 'not_found',
  },
]);

table('POST /v1/apps/{appId}/secret', [
  ...notFound('POST', '/v1/apps/{id}/secret'),
  {
    name: "another organization's app",
    method: 'POST',
    path: '/v1/apps/:otherApp/secret',
    status: 404,
    code: 'not_found',
  },
]);

const otherWebhook = (method: string, path: string): Row => ({
  name: "another organization's webhook",
  method,
  path,
  status: 404,
  code: 'not_found',
});

table('POST /v1/webhooks', [
  ...malformedJson('POST', '/v1/webhooks'),
  ...invalid('POST', '/v1/webhooks', 'url', [
    ['missing url', {}],
    ['url a number', { url: 5 }],
  ]),
  ...invalid('POST', '/v1/webhooks', 'events', [
    ['an unknown event type', { url: 'https://[2606:4700::1111]/h', events: ['nope'] }],
    ['events not a list', { url: 'https://[2606:4700::1111]/h', events: 'user_created' }],
  ]),
  ...[
    ['plain http', 'http://[2606:4700::1111]/h'],
    ['loopback', 'https://127.0.0.1/h'],
    ['a private address', 'https://10.0.0.1/h'],
    ['an IPv4-mapped loopback', 'https://[::ffff:127.0.0.1]/h'],
  ].map(([name, url]) => ({
    name: name!,
    method: 'POST',
    path: '/v1/webhooks',
    body: { url },
    status: 422,
    code: 'invalid_webhook_url',
  })),
]);

table('DELETE /v1/webhooks/{webhookId}', [
  ...notFound('DELETE', '/v1/webhooks/{id}'),
  otherWebhook('DELETE', '/v1/webhooks/:otherWebhook'),
]);

table('PATCH /v1/webhooks/{webhookId}', [
  ...malformedJson('PATCH', '/v1/webhooks/:webhook'),
  ...invalid('PATCH', '/v1/webhooks/:webhook', 'enabled', [
    ['missing enabled', {}],
    ['enabled a string', { enabled: 'yes' }],
    ['enabled null', { enabled: null }],
  ]),
  ...notFound('PATCH', '/v1/webhooks/{id}', { enabled: false }),
  { ...otherWebhook('PATCH', '/v1/webhooks/:otherWebhook'), body: { enabled: false } },
]);

table('POST /v1/webhooks/{webhookId}/test', [
  ...notFound('POST', '/v1/webhooks/{id}/test'),
  otherWebhook('POST', '/v1/webhooks/:otherWebhook/test'),
]);

table('GET /v1/webhooks/{webhookId}/deliveries', [
  ...notFound('GET', '/v1/webhooks/{id}/deliveries'),
  otherWebhook('GET', '/v1/webhooks/:otherWebhook/deliveries'),
  ...[
    ['limit zero', 'limit=0'],
    ['limit over 100', 'limit=101'],
    ['limit not a number', 'limit=ten'],
    ['before not a cursor', 'before=abc'],
  ].map(([name, query]) => ({
    name: name!,
    method: 'GET',
    path: `/v1/webhooks/:webhook/deliveries?${query}`,
    status: 400,
    code: 'invalid_request',
  })),
]);

table('GET /v1/audit-events', [
  ...[
    ['limit zero', 'limit=0'],
    ['limit over 100', 'limit=101'],
    ['limit negative', 'limit=-1'],
    ['limit fractional', 'limit=1.5'],
    ['limit not a number', 'limit=ten'],
  ].map(([name, query]) => ({
    name: name!,
    method: 'GET',
    path: `/v1/audit-events?${query}`,
    status: 400,
    code: 'invalid_request',
    field: 'limit',
  })),
  ...[
    ['before not a cursor', 'before=abc'],
    ['before negative', 'before=-1'],
    ['before huge', `before=${'9'.repeat(40)}`],
  ].map(([name, query]) => ({
    name: name!,
    method: 'GET',
    path: `/v1/audit-events?${query}`,
    status: 400,
    code: 'invalid_request',
    field: 'before',
  })),
]);

table('unknown routes', [
  { name: 'unknown path', method: 'GET', path: '/v1/nope', status: 404, code: 'not_found' },
  { name: 'unknown version', method: 'GET', path: '/v2/users', status: 404, code: 'not_found' },
  // `/` is the front door (a redirect to /login, tests/pages), not an unknown route.
  { name: 'the root path of the API', method: 'GET', path: '/v1', status: 404, code: 'not_found' },
  {
    name: 'unknown method on a known path',
    method: 'DELETE',
    path: '/v1/settings/password',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'GET on a POST-only route',
    method: 'GET',
    path: '/v1/logins',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'PUT on a user',
    method: 'PUT',
    path: '/v1/users/:user',
    body: { email: 'x@example.com' },
    status: 404,
    code: 'not_found',
  },
  {
    name: 'an unknown sub-resource',
    method: 'POST',
    path: '/v1/users/:user/promote',
    status: 404,
    code: 'not_found',
  },
  {
    name: 'an unknown platform sub-resource',
    method: 'DELETE',
    path: '/v1/organizations/:org',
    status: 404,
    code: 'not_found',
  },
]);

describe('a body with no content type', () => {
  it('is 400 invalid_request and changes nothing', async () => {
    const before = await snapshot();
    const res = await readJson(
      await h.app.request('/v1/users', {
        method: 'POST',
        headers: { authorization: `Bearer ${ids.orgKey}` },
        body: JSON.stringify({ email: 'untyped@example.com' }),
      }),
    );
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('invalid_request');
    expect(await snapshot()).toEqual(before);
  });
});
