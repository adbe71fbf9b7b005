/**
 * The API and a worker with every Postgres connection through PgBouncer in
 * transaction mode, on two server connections for a dozen clients, so
 * consecutive transactions of one client land on different server sessions:
 * logins, sends and verifies all go through, with the ledger audited.
 * (`TEST_DATABASE_VIA=pgbouncer npm test` runs the whole suite this way.)
 */

import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSendPipeline, waitForSettled } from '../faults/audit.ts';
import {
  createHarness,
  type Harness,
  type PgBouncer,
  startPgBouncer,
  TEST_PG_BASE,
} from '../support/index.ts';
import { countBy } from './support.ts';

let bouncer: PgBouncer;
let h: Harness;
let admin: postgres.Sql;
const saved = {
  url: process.env.TEST_DATABASE_APP_URL,
  prepare: process.env.DATABASE_PREPARED_STATEMENTS,
};

beforeAll(async () => {
  bouncer = await startPgBouncer({ target: TEST_PG_BASE, poolSize: 2 });
  // This file's own switch, as tests/global-setup.ts sets it for a whole run.
  process.env.TEST_DATABASE_APP_URL = `${bouncer.urlFor('{database}')}?prepare=false`;
  process.env.DATABASE_PREPARED_STATEMENTS = 'false';
  // Status callbacks name their send, which the audit matches messages by.
  h = await createHarness({ env: { PUBLIC_BASE_URL: 'http://127.0.0.1:9' } });
  // PgBouncer's admin console (simple query protocol only).
  admin = postgres(bouncer.urlFor('pgbouncer'), {
    max: 1,
    prepare: false,
    fetch_types: false,
    onnotice: () => {},
  });
}, 60_000);

afterAll(async () => {
  await admin?.end();
  await h?.close();
  await bouncer?.close();
  for (const [name, value] of [
    ['TEST_DATABASE_APP_URL', saved.url],
    ['DATABASE_PREPARED_STATEMENTS', saved.prepare],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

describe('behind PgBouncer in transaction mode', { timeout: 60_000 }, () => {
  it('logs in, sends and verifies with prepared statements off and pooled server sessions', async () => {
    expect(new URL(h.databaseUrl).port).toBe(String(bouncer.port));
    expect(h.config.env.DATABASE_PREPARED_STATEMENTS).toBe(false);
    expect(h.services.db.sql.options.prepare).toBe(false);

    const org = await h.createOrganization({ name: 'Pooled Paws', country: 'FI' });
    await h.topUp(org.id, 40);
    await h.enableTwoFactor(org.apiKey);
    const users = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        h.createUser(org.apiKey, {
          email: `pooled${i}@example.com`,
          password: 'correct horse battery',
          phone: `+3584055500${String(i).padStart(2, '0')}`,
        }),
      ),
    );
    const logins = await Promise.all(
      users.map((_, i) =>
        h.request('POST', '/v1/logins', {
          key: org.apiKey,
          body: {
            email: `pooled${i}@example.com`,
            password: 'correct horse battery',
            ip: `203.0.113.${i}`,
          },
        }),
      ),
    );
    expect(countBy(logins, (l) => `${l.status} ${l.body.result}`)).toEqual({
      '200 challenge_required': 30,
    });
    await waitForSettled(h.sql, { timeoutMs: 30_000 });
    const verifies = await Promise.all(
      logins.map(async (login, i) => {
        const code = await h.waitFor(async () =>
          h.lastCodeFor(`+3584055500${String(i).padStart(2, '0')}`),
        );
        return h.request('POST', `/v1/challenges/${login.body.challenge.id}/verify`, {
          key: org.apiKey,
          body: { code },
        });
      }),
    );
    expect(countBy(verifies, (v) => `${v.status} ${v.body.result}`)).toEqual({
      '200 authenticated': 30,
    });
    const report = await auditSendPipeline(h.sql, { messages: h.twilio.messages });
    expect(report.byStatus).toEqual({ sent: 30 });

    // All of it went through the pooler, on at most its two server connections.
    const pools = await admin.unsafe('SHOW POOLS').simple();
    const mine = pools.find((p) => p.database === new URL(h.databaseUrl).pathname.slice(1));
    expect(mine).toBeDefined();
    expect(
      Number(mine!.sv_active) + Number(mine!.sv_idle) + Number(mine!.sv_used),
    ).toBeLessThanOrEqual(2);
  });
});
