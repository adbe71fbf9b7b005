/**
 * Attack: one tenant reading or changing another's users and challenges by
 * guessing or replaying ids. Control: every query is scoped by the key's
 * organization; a foreign id is 404, exactly like an unknown one.
 *
 * The routes come from the app's own OpenAPI document, so a route added later
 * is walked too, or fails this test until it says how it should be checked.
 */
import { randomUUID } from 'node:crypto';
import { sealSecret } from '@twofa/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_KEY,
  APP_SECRET,
  documentedOperations,
  expectRowForEveryRoute,
  type JsonResponse,
  type Operation,
  tableSnapshot,
  withHarness,
} from '../support/index.ts';
import { END_USER_IP, finnishMobile, PASSWORD } from './support.ts';

const h = withHarness({ worker: false });
let orgA: { id: string; apiKey: string };
let orgB: { id: string; apiKey: string };
const a = { email: 'owner@a.example', phone: finnishMobile() } as {
  email: string;
  phone: string;
  userId: string;
  pendingChallenge: string;
  phoneRequiredChallenge: string;
  webhookId: string;
  appId: string;
};

/** Organization routes: all of /v1 except the platform's /v1/organizations. */
async function organizationOperations(): Promise<Operation[]> {
  return (await documentedOperations(h)).filter(
    (op) => op.path.startsWith('/v1/') && !op.path.startsWith('/v1/organizations'),
  );
}

/** A body that would act on A's data if the route forgot the organization. */
const BODIES: Record<string, () => unknown> = {
  'PATCH /v1/users/{userId}': () => ({
    phone: finnishMobile(),
    twoFactorDisabled: true,
    password: 'taken over!',
  }),
  'POST /v1/challenges/{id}/phone': () => ({ phone: finnishMobile() }),
  'POST /v1/challenges/{id}/verify': () => ({ code: '123456' }),
  'POST /v1/users/{userId}/totp/confirm': () => ({ code: '123456' }),
  'POST /v1/challenges': () => ({ userId: a.userId, ip: END_USER_IP }),
  'POST /v1/logins': () => ({ email: a.email, password: PASSWORD, ip: END_USER_IP }),
  'PATCH /v1/settings/password': () => ({ twoFactorEnabled: false, smsAllowedCountries: [] }),
  // A public address literal: no lookup, no connection (this harness runs no worker).
  'POST /v1/webhooks': () => ({ url: 'https://[2606:4700::1111]/hook' }),
  // Off would fail A's pending deliveries and stop its events.
  'PATCH /v1/webhooks/{webhookId}': () => ({ enabled: false }),
  // B's own user with A's email (and another password): a separate account.
  'POST /v1/users': () => ({ email: a.email, password: 'B has its own password' }),
  'POST /v1/apps': () => ({ name: 'B app', redirectUris: ['https://b.example/cb'] }),
};

const bodyFor = (key: string): unknown => BODIES[key]?.();

/** Which of A's ids each path parameter takes: the one the action would succeed on. */
function idFor(op: Operation, param: string): string {
  if (param === 'userId') return a.userId;
  if (param === 'webhookId') return a.webhookId;
  if (param === 'appId') return a.appId;
  if (param === 'id' && op.path.startsWith('/v1/challenges/')) {
    return op.path.endsWith('/phone') ? a.phoneRequiredChallenge : a.pendingChallenge;
  }
  throw new Error(`${op.key}: no id of organization A for {${param}}; add one here`);
}

/** Routes that name an A id in the body rather than the path. */
const ID_IN_BODY = new Set(['POST /v1/challenges']);

/** Routes that name no id: what B gets must be B's own, and A must see no change. */
const OWN_DATA_CHECKS: Record<string, (res: JsonResponse) => void> = {
  'GET /v1/settings/password': (res) => expect(res.status).toBe(200),
  'PATCH /v1/settings/password': (res) => expect(res.status).toBe(200),
  'GET /v1/sms-balance': (res) => {
    expect(res.body.balance).toBe(0);
    expect(res.body.ledger).toEqual([]);
  },
  'GET /v1/audit-events': (res) => {
    expect(res.status).toBe(200);
  },
  'GET /v1/webhooks': (res) => {
    expect(res.status).toBe(200);
    expect(res.body.webhooks.map((w: { id: string }) => w.id)).not.toContain(a.webhookId);
  },
  // B's own webhook; A's are untouched.
  'POST /v1/webhooks': (res) => expect(res.status).toBe(201),
  // B sees its own apps only (at most the one it registered here), never A's.
  'GET /v1/apps': (res) => {
    expect(res.status).toBe(200);
    expect(res.body.apps.map((app: { id: string }) => app.id)).not.toContain(a.appId);
    expect(res.body.apps.every((app: { name: string }) => app.name === 'B app')).toBe(true);
  },
  'POST /v1/apps': (res) => expect(res.status).toBe(201),
  // A's email is free in B: an email_taken here would tell B that A has that user.
  'POST /v1/users': (res) => expect(res.status).toBe(201),
  // B cannot log A's users in, and the answer is the plain credential failure.
  'POST /v1/logins': (res) => {
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_credentials');
  },
};

function fill(op: Operation, id: (param: string) => string): string {
  return op.path.replace(/\{(\w+)\}/g, (_m, param: string) => id(param));
}

const snapshotA = () => tableSnapshot(h.sql, { organizationId: orgA.id });

function withoutRequestId(res: JsonResponse) {
  const { requestId: _r, instance: _i, ...rest } = res.body ?? {};
  return { status: res.status, body: rest };
}

beforeAll(async () => {
  orgA = await h.createOrganization({ name: 'Clinic A', country: 'FI' });
  orgB = await h.createOrganization({ name: 'Clinic B', country: 'FI' });
  await h.topUp(orgA.id, 10);
  await h.enableTwoFactor(orgA.apiKey);
  await h.enableTwoFactor(orgB.apiKey);
  a.userId = (
    await h.createUser(orgA.apiKey, { email: a.email, password: PASSWORD, phone: a.phone })
  ).id;
  const started = await h.request('POST', '/v1/logins', {
    key: orgA.apiKey,
    body: { email: a.email, password: PASSWORD, ip: END_USER_IP },
  });
  a.pendingChallenge = started.body.challenge.id;
  await h.createUser(orgA.apiKey, { email: 'nophone@a.example', password: PASSWORD });
  const noPhone = await h.request('POST', '/v1/logins', {
    key: orgA.apiKey,
    body: { email: 'nophone@a.example', password: PASSWORD, ip: END_USER_IP },
  });
  a.phoneRequiredChallenge = noPhone.body.challenge.id;
  // A webhook with a delivery, so a read, test or delete through B would show.
  a.webhookId = randomUUID();
  await h.sql`
    insert into webhooks (id, organization_id, url, events, secret_sealed)
    values (${a.webhookId}, ${orgA.id}, 'https://hooks.a.example/in', '{}',
      ${sealSecret(APP_SECRET, 'webhook-secret', `whsec_${'A'.repeat(43)}=`, a.webhookId)})`;
  await h.createUser(orgA.apiKey, { email: 'webhook-event@a.example' });
  const app = await h.request('POST', '/v1/apps', {
    key: orgA.apiKey,
    body: { name: 'A app', redirectUris: ['https://a.example/cb'] },
  });
  a.appId = app.body.id;
  // A trusted device, so a revocation through B would show.
  await h.sql`
    insert into trusted_devices (organization_id, user_id, token_hash, expires_at)
    values (${orgA.id}, ${a.userId}, 'not-a-real-hash', now() + interval '30 days')`;
});

describe('tenant isolation', () => {
  it('has a way to aim at A for every organization route in the OpenAPI document', async () => {
    const ops = await organizationOperations();
    // A route with ids in its path is aimed at A's (idFor throws for one it has no id for).
    for (const op of ops) for (const param of op.pathParams) idFor(op, param);
    const aimed = ops
      .filter((op) => op.pathParams.length > 0 || ID_IN_BODY.has(op.key))
      .map((op) => op.key);
    expectRowForEveryRoute(
      ops,
      [...aimed, ...Object.keys(OWN_DATA_CHECKS)],
      'the tenant walk (an id of A, ID_IN_BODY or OWN_DATA_CHECKS)',
    );
    const documented = new Set(ops.map((op) => op.key));
    expect([...Object.keys(BODIES), ...ID_IN_BODY].filter((key) => !documented.has(key))).toEqual(
      [],
    );
  });

  it("walks every organization route with B's key against A's ids", async () => {
    const ops = await organizationOperations();
    expect(ops.length).toBeGreaterThanOrEqual(10);
    const before = await snapshotA();
    const walked: string[] = [];

    for (const op of ops) {
      const body = bodyFor(op.key);
      const needsId = op.pathParams.length > 0 || ID_IN_BODY.has(op.key);
      if (!needsId && !OWN_DATA_CHECKS[op.key]) {
        throw new Error(`${op.key} is not covered by the tenant walk: add a check for it`);
      }
      const res = await h.request(
        op.method,
        fill(op, (p) => idFor(op, p)),
        {
          key: orgB.apiKey,
          body,
        },
      );
      walked.push(`${op.key} -> ${res.status}`);
      if (!needsId) {
        OWN_DATA_CHECKS[op.key]!(res);
        expect(JSON.stringify(res.body)).not.toContain(orgA.id);
        expect(JSON.stringify(res.body)).not.toContain(a.userId);
        continue;
      }
      expect(res.status, `${op.key}: ${JSON.stringify(res.body)}`).toBe(404);
      expect(res.body.code).toBe('not_found');
      // Indistinguishable from an id that exists nowhere.
      const unknownId = randomUUID();
      const unknownBody =
        op.key === 'POST /v1/challenges' ? { userId: unknownId, ip: END_USER_IP } : body;
      const unknown = await h.request(
        op.method,
        fill(op, () => unknownId),
        {
          key: orgB.apiKey,
          body: unknownBody,
        },
      );
      expect(withoutRequestId(res)).toEqual(withoutRequestId(unknown));
    }

    expect(await snapshotA()).toEqual(before);
    // Every route was walked, and the ids aimed at are A's real ones.
    expect(walked.length).toBe(ops.length);
    expect((await h.request('GET', `/v1/users/${a.userId}`, { key: orgA.apiKey })).status).toBe(
      200,
    );
    for (const id of [a.pendingChallenge, a.phoneRequiredChallenge]) {
      expect((await h.request('GET', `/v1/challenges/${id}`, { key: orgA.apiKey })).status).toBe(
        200,
      );
    }
  });

  it("never shows A's events, balance or settings to B", async () => {
    const audit = await h.request('GET', '/v1/audit-events?limit=100', { key: orgB.apiKey });
    const ownUsers = await h.sql<
      { id: string }[]
    >`select id from users where organization_id = ${orgB.id}`;
    for (const event of audit.body.events) {
      const userId = event.data.userId;
      if (userId) expect(ownUsers.map((u) => u.id)).toContain(userId);
    }
    const aEvents = await h.request('GET', '/v1/audit-events?limit=100', { key: orgA.apiKey });
    const aIds = new Set(aEvents.body.events.map((e: { id: string }) => e.id));
    expect(aIds.size).toBeGreaterThan(0);
    for (const event of audit.body.events) expect(aIds.has(event.id)).toBe(false);
  });

  it("refuses an organization key on the platform's routes", async () => {
    const res = await h.request('GET', `/v1/organizations/${orgA.id}`, { key: orgB.apiKey });
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
    const own = await h.request('GET', `/v1/organizations/${orgA.id}`, { key: ADMIN_KEY });
    expect(own.status).toBe(200);
  });
});
