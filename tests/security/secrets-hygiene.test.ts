/**
 * Attack: reading secrets where they rest: log files, a Redis dump, a database
 * backup. Control: codes, device tokens, API keys and passwords are kept only
 * as (keyed or slow) hashes and redacted from logs; jobs carry ids only.
 *
 * A full login runs with a known code, then every captured log line, every
 * Redis key and value under the harness's prefix, and every text/json column
 * of every table is searched for each secret in clear.
 */

import { Redis } from 'ioredis';
import { Secret, TOTP } from 'otpauth';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, withHarness } from '../support/index.ts';
import { END_USER_IP, finnishMobile, messagesTo, nextCode } from './support.ts';

const PASSWORD = 'Tr0ub4dor&3-never-stored-in-clear';

const h = withHarness();
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(h.config.env.REDIS_URL, { lazyConnect: true });
  await redis.connect();
});
afterAll(async () => {
  redis?.disconnect();
});

/** A 6-digit code as a number of its own (not a slice of a timestamp or a hash). */
function codePattern(code: string): RegExp {
  return new RegExp(`(?<![0-9A-Za-z_-])${code}(?![0-9A-Za-z_-])`);
}

async function redisDump(prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      out.push(key);
      const type = await redis.type(key);
      if (type === 'string') out.push(String(await redis.get(key)));
      else if (type === 'hash') out.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') out.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') out.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset')
        out.push(JSON.stringify(await redis.zrange(key, '0', '-1', 'WITHSCORES')));
      else if (type === 'stream') out.push(JSON.stringify(await redis.xrange(key, '-', '+')));
      else if (type !== 'none') throw new Error(`no dump for Redis type ${type} (${key})`);
    }
  } while (cursor !== '0');
  return out;
}

async function databaseDump(): Promise<string[]> {
  const columns = await h.sql<{ table_schema: string; table_name: string; column_name: string }[]>`
    select c.table_schema, c.table_name, c.column_name
    from information_schema.columns c
    join information_schema.tables t
      on t.table_schema = c.table_schema and t.table_name = c.table_name
    where c.table_schema not in ('pg_catalog', 'information_schema')
      and t.table_type = 'BASE TABLE'
      and (c.data_type in ('text', 'character varying', 'character', 'json', 'jsonb')
        or (c.data_type = 'ARRAY' and c.udt_name in ('_text', '_varchar')))`;
  expect(columns.length).toBeGreaterThan(10);
  const out: string[] = [];
  for (const { table_schema, table_name, column_name } of columns) {
    const rows = await h.sql<{ v: string | null }[]>`
      select ${h.sql(column_name)}::text as v from ${h.sql(table_schema)}.${h.sql(table_name)}`;
    for (const row of rows) if (row.v !== null) out.push(`${table_name}.${column_name}=${row.v}`);
  }
  return out;
}

describe('secrets at rest', () => {
  it('finds no code, device token, API key or password in logs, Redis or the database', async () => {
    const org = await h.createOrganization({ name: 'Hygiene Clinic', country: 'FI' });
    await h.topUp(org.id, 20);
    await h.enableTwoFactor(org.apiKey);
    const phone = finnishMobile();
    const user = await h.createUser(org.apiKey, {
      email: 'clean@example.com',
      password: PASSWORD,
      phone,
    });
    const body = { email: 'clean@example.com', password: PASSWORD, ip: END_USER_IP };

    // A failed password, a challenge, a wrong code, a resend, the right code, a trusted login.
    expect(
      (
        await h.request('POST', '/v1/logins', {
          key: org.apiKey,
          body: { ...body, password: 'wrong' },
        })
      ).status,
    ).toBe(401);
    const start = await h.request('POST', '/v1/logins', { key: org.apiKey, body });
    const challengeId = start.body.challenge.id;
    const first = await nextCode(h, phone, 0);
    const wrong = first === '000000' ? '111111' : '000000';
    expect(
      (
        await h.request('POST', `/v1/challenges/${challengeId}/verify`, {
          key: org.apiKey,
          body: { code: wrong },
        })
      ).status,
    ).toBe(422);
    await h.travel(31_000);
    const resend = await h.request('POST', `/v1/challenges/${challengeId}/resend`, {
      key: org.apiKey,
    });
    expect(resend.status).toBe(202);
    const code = await nextCode(h, phone, 1);
    const verify = await h.request('POST', `/v1/challenges/${challengeId}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(verify.status).toBe(200);
    const deviceToken: string = verify.body.deviceToken;
    const trusted = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { ...body, deviceToken },
    });
    expect(trusted.body.reason).toBe('trusted_device');
    // Let the worker finish recording both sends before looking.
    await h.waitFor(async () => {
      const rows = await h.sql`
        select 1 from sms_sends where challenge_id = ${challengeId} and status in ('sent', 'delivered')`;
      return rows.length === 2;
    });

    // The search would find a code: both are in the SMS bodies, as standalone numbers.
    const smsBodies = h.twilio.messages.filter((m) => m.to === phone).map((m) => m.body);
    expect(messagesTo(h, phone)).toBe(2);
    expect(codePattern(first).test(smsBodies[0]!)).toBe(true);
    expect(codePattern(code).test(smsBodies[1]!)).toBe(true);

    const logs = [...h.logs.lines, ...h.workerLogs.lines];
    const redisValues = await redisDump(h.queuePrefix);
    const database = await databaseDump();
    // Each place searched really holds this login's traces.
    expect(logs.some((l) => l.includes(challengeId))).toBe(true);
    expect(h.workerLogs.lines.length).toBeGreaterThan(0);
    expect(redisValues.some((v) => v.includes(`${h.queuePrefix}:`))).toBe(true);
    expect(database.some((v) => v.includes('clean@example.com'))).toBe(true);
    expect(database.some((v) => v.includes(user.id))).toBe(true);

    const places: Record<string, string[]> = { logs, redis: redisValues, database };
    const clearSecrets: Record<string, string> = {
      deviceToken,
      'deviceToken (random part)': deviceToken.slice(deviceToken.indexOf('_') + 1),
      apiKey: org.apiKey,
      'apiKey (random part)': org.apiKey.slice(org.apiKey.indexOf('_') + 1),
      platformKey: ADMIN_KEY,
      password: PASSWORD,
    };
    for (const [place, lines] of Object.entries(places)) {
      for (const [what, secret] of Object.entries(clearSecrets)) {
        const hit = lines.find((line) => line.includes(secret));
        expect(hit, `${what} found in ${place}`).toBeUndefined();
      }
      for (const secretCode of [first, code]) {
        const hit = lines.find((line) => codePattern(secretCode).test(line));
        expect(hit, `code ${secretCode} found in ${place}`).toBeUndefined();
      }
    }
  });

  it('finds no authenticator secret, app code or backup code in logs, Redis or the database', async () => {
    const org = await h.createOrganization({ name: 'Factor Hygiene', country: 'FI' });
    await h.enableTwoFactor(org.apiKey);
    const email = 'factors@example.com';
    const user = await h.createUser(org.apiKey, { email, password: PASSWORD });
    const enroll = await h.request('POST', `/v1/users/${user.id}/totp`, { key: org.apiKey });
    const secret: string = enroll.body.secret;
    const codeAt = (ms: number) =>
      TOTP.generate({ secret: Secret.fromBase32(secret), timestamp: ms });
    const confirmCode = codeAt(h.clock.now().getTime() - 30_000);
    const confirm = await h.request('POST', `/v1/users/${user.id}/totp/confirm`, {
      key: org.apiKey,
      body: { code: confirmCode },
    });
    expect(confirm.status).toBe(200);
    const generated = await h.request('POST', `/v1/users/${user.id}/backup-codes`, {
      key: org.apiKey,
    });
    const codes: string[] = generated.body.codes;
    const body = { email, password: PASSWORD, ip: END_USER_IP };
    const byApp = await h.request('POST', '/v1/logins', { key: org.apiKey, body });
    const appCode = codeAt(h.clock.now().getTime());
    const appLogin = await h.request('POST', `/v1/challenges/${byApp.body.challenge.id}/verify`, {
      key: org.apiKey,
      body: { code: appCode },
    });
    expect(appLogin.status).toBe(200);
    const byCode = await h.request('POST', '/v1/logins', { key: org.apiKey, body });
    const wrongBackup = await h.request(
      'POST',
      `/v1/challenges/${byCode.body.challenge.id}/verify`,
      { key: org.apiKey, body: { backupCode: 'zzzzz-zzzzz' } },
    );
    expect(wrongBackup.status).toBe(422);
    const codeLogin = await h.request('POST', `/v1/challenges/${byCode.body.challenge.id}/verify`, {
      key: org.apiKey,
      body: { backupCode: codes[0] },
    });
    expect(codeLogin.status).toBe(200);

    const logs = [...h.logs.lines, ...h.workerLogs.lines];
    const database = await databaseDump();
    const redisValues = await redisDump(h.queuePrefix);
    expect(logs.some((l) => l.includes('/v1/challenges/:id/verify'))).toBe(true);
    expect(database.some((v) => v.startsWith('authenticators.secret_sealed='))).toBe(true);
    expect(database.filter((v) => v.startsWith('backup_codes.code_hash='))).toHaveLength(10);

    const secretBytes = Buffer.from(Secret.fromBase32(secret).bytes);
    const clearSecrets: Record<string, string> = {
      'TOTP secret (base32)': secret,
      'TOTP secret (lower case)': secret.toLowerCase(),
      'TOTP secret (hex)': secretBytes.toString('hex'),
      'TOTP secret (base64)': secretBytes.toString('base64').replace(/=+$/, ''),
      'TOTP secret (base64url)': secretBytes.toString('base64url'),
      otpauthUri: enroll.body.otpauthUri,
    };
    for (const [i, code] of codes.entries()) {
      clearSecrets[`backup code ${i}`] = code;
      clearSecrets[`backup code ${i} (normalized)`] = code.replace('-', '');
      clearSecrets[`backup code ${i} (upper case)`] = code.toUpperCase();
    }
    const places: Record<string, string[]> = { logs, redis: redisValues, database };
    for (const [place, lines] of Object.entries(places)) {
      for (const [what, value] of Object.entries(clearSecrets)) {
        const hit = lines.find((line) => line.includes(value));
        expect(hit, `${what} found in ${place}`).toBeUndefined();
      }
      for (const appCodeUsed of [confirmCode, appCode]) {
        const hit = lines.find((line) => codePattern(appCodeUsed).test(line));
        expect(hit, `app code ${appCodeUsed} found in ${place}`).toBeUndefined();
      }
    }
  });
});
