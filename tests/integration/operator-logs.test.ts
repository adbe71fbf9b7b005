import { closeServices, createServices } from '@twofa/api';
import { loadConfig } from '@twofa/config';
import { createLogger } from '@twofa/observability';
import { startWorker } from '@twofa/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, testEnv, uniquePrefix, withHarness } from '../support/index.ts';
import { logRecords } from './operator-support.ts';

const h = withHarness({ env: { DB_POOL_SIZE: '3', WORKER_CONCURRENCY: '2' } });
let org: { id: string; apiKey: string };

const PASSWORD = 'Sup3r-Secret-Passw0rd';
const PHONE = '+358401234567';

beforeAll(async () => {
  org = await h.createOrganization({ name: 'Logging Clinic', country: 'FI' });
  await h.topUp(org.id, 10);
  await h.enableTwoFactor(org.apiKey);
});

function captured(name: string, level = 'debug') {
  const lines: string[] = [];
  const destination = { write: (line: string) => void lines.push(line) };
  return { lines, logger: createLogger({ name, level, destination }) };
}

describe('request and job logs', () => {
  let challengeId: string;
  let code: string;
  let deviceToken: string;

  beforeAll(async () => {
    await h.createUser(org.apiKey, { email: 'logs@example.com', password: PASSWORD, phone: PHONE });
    const login = await h.request('POST', '/v1/logins', {
      key: org.apiKey,
      body: { email: 'logs@example.com', password: PASSWORD, ip: '198.51.100.20' },
    });
    challengeId = login.body.challenge.id;
    await h.waitFor(async () => {
      const res = await h.request('GET', `/v1/challenges/${challengeId}`, { key: org.apiKey });
      return res.body.delivery?.status === 'sent';
    });
    code = h.lastCodeFor(PHONE) as string;
    const verify = await h.request('POST', `/v1/challenges/${challengeId}/verify`, {
      key: org.apiKey,
      body: { code },
    });
    expect(verify.status).toBe(200);
    deviceToken = verify.body.deviceToken;
  });

  it('writes one line per request with request id, route, status, duration and organization', async () => {
    const res = await h.request('GET', `/v1/challenges/${challengeId}`, {
      key: org.apiKey,
      headers: { 'x-request-id': 'ops-test-request-1' },
    });
    expect(res.headers.get('x-request-id')).toBe('ops-test-request-1');
    const lines = logRecords(h.logs.lines).filter(
      (l) => l.requestId === 'ops-test-request-1' && l.msg === 'request',
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 'info',
      method: 'GET',
      route: '/v1/challenges/:id',
      status: 200,
      organizationId: org.id,
    });
    expect(typeof lines[0]?.durationMs).toBe('number');
    expect(typeof lines[0]?.time).toBe('string');

    // A generated id when none is given, the same in the answer and the line.
    const anonymous = await h.request('GET', '/v1/settings/password');
    const id = anonymous.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const line = logRecords(h.logs.lines).find((l) => l.requestId === id && l.msg === 'request');
    expect(line).toMatchObject({ status: 401, route: '/v1/settings/password' });
    expect(line).not.toHaveProperty('organizationId');
  });

  it('logs each job with its job id and challenge id', async () => {
    const sendId = (await h.sql`select id from sms_sends where challenge_id = ${challengeId}`)[0]
      ?.id as string;
    const jobLines = logRecords(h.workerLogs.lines).filter((l) => l.jobId === sendId);
    expect(jobLines.length).toBeGreaterThan(0);
    const handed = jobLines.find((l) => l.msg === 'code handed to provider');
    expect(handed).toMatchObject({ jobId: sendId, sendId, challengeId, organizationId: org.id });
  });

  it('keeps secrets out of every line and masks phone numbers', async () => {
    const all = [...h.logs.lines, ...h.workerLogs.lines].join('');
    expect(all.length).toBeGreaterThan(0);
    for (const secret of [PASSWORD, org.apiKey, ADMIN_KEY, deviceToken, PHONE, PHONE.slice(1)]) {
      expect(all).not.toContain(secret);
    }
    expect(all).not.toMatch(new RegExp(`(?<![0-9a-f])${code}(?![0-9a-f])`));
  });
});

describe('the redaction list', () => {
  it('removes codes, tokens, keys and passwords at any of the first levels, and masks phones', () => {
    const { lines, logger } = captured('redact');
    logger.info(
      {
        phone: '+358401234567',
        to: '+14155550123',
        code: '123456',
        password: 'hunter2-hunter2',
        apiKey: 'tfa_live_key_material',
        token: 'plain-token-material',
        deviceToken: 'tfd_device_token_material',
        authorization: 'Bearer platform-key-material',
        user: { phone: '+447700900123', password: 'nested-password' },
        req: { headers: { authorization: 'Basic YWRtaW46c2VjcmV0' } },
        config: {
          env: {
            APP_SECRET: 'app-secret-material',
            ADMIN_API_KEY: 'admin-material',
            DATABASE_URL: 'postgres://u:db-password-material@db/x',
          },
        },
        body: { code: '654321' },
        twilio: { authToken: 'twilio-token-material' },
      },
      'redaction probe',
    );
    const text = lines.join('');
    for (const secret of [
      '358401234567',
      '4155550123',
      '7700900123',
      '123456',
      '654321',
      'hunter2',
      'nested-password',
      'key_material',
      'token-material',
      'device_token_material',
      'platform-key-material',
      'YWRtaW46c2VjcmV0',
      'app-secret-material',
      'admin-material',
      'db-password-material',
      'twilio-token-material',
    ]) {
      expect(text, secret).not.toContain(secret);
    }
    const record = JSON.parse(lines[0] as string);
    expect(record.phone).toBe('+35840*****67');
    expect(record.user.phone).toMatch(/^\+44770\*+23$/);
    expect(record.code).toBe('[redacted]');
    expect(record.msg).toBe('redaction probe');
  });
});

describe('redaction beyond the line itself', () => {
  it("covers a child logger's bindings, and its children's", () => {
    const { lines, logger } = captured('child');
    const child = logger.child({ requestId: 'r-1', phone: '+358401234567', token: 'child-token' });
    child.info({ route: '/x' }, 'one');
    child.child({ apiKey: 'grandchild-key', user: { password: 'grandchild-pw' } }).info('two');
    const text = lines.join('');
    for (const secret of ['358401234567', 'child-token', 'grandchild-key', 'grandchild-pw']) {
      expect(text, secret).not.toContain(secret);
    }
    const [one, two] = lines.map((l) => JSON.parse(l));
    expect(one).toMatchObject({ requestId: 'r-1', phone: '+35840*****67', route: '/x' });
    expect(two).toMatchObject({ requestId: 'r-1', apiKey: '[redacted]' });
  });

  it("searches an error's own fields four levels down, and keeps its message and stack", () => {
    const { lines, logger } = captured('err');
    const err = Object.assign(new Error('provider refused'), {
      status: 401,
      config: { auth: { password: 'err-password' }, headers: { authorization: 'Basic err-auth' } },
    });
    logger.error({ err, nested: { deeper: { deepest: { code: '123456' } } } }, 'failed');
    const text = lines.join('');
    for (const secret of ['err-password', 'err-auth', '123456']) {
      expect(text, secret).not.toContain(secret);
    }
    const record = JSON.parse(lines[0] as string);
    expect(record.err).toMatchObject({ type: 'Error', message: 'provider refused', status: 401 });
    expect(record.err.stack).toContain('provider refused');
    expect(record.err.raw).toBeUndefined();
  });

  it('leaves a line with nothing to hide as it was given', () => {
    const { lines, logger } = captured('plain');
    logger.info({ method: 'POST', route: '/v1/challenges', status: 200, durationMs: 1.5 }, 'r');
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      method: 'POST',
      route: '/v1/challenges',
      status: 200,
      durationMs: 1.5,
    });
  });
});

describe('LOG_LEVEL', () => {
  it('sets the level of the logger and drops lines below it', () => {
    const { lines, logger } = captured('lvl', 'warn');
    logger.info('dropped');
    logger.warn('kept');
    expect(logRecords(lines).map((l) => l.msg)).toEqual(['kept']);

    const previous = process.env.LOG_LEVEL;
    process.env.LOG_LEVEL = 'error';
    try {
      const fromEnv = createLogger({ name: 'env', destination: { write: () => {} } });
      expect(fromEnv.level).toBe('error');
    } finally {
      if (previous === undefined) delete process.env.LOG_LEVEL;
      else process.env.LOG_LEVEL = previous;
    }
  });

  it('reaches the API and worker loggers through the configuration', async () => {
    const config = loadConfig(
      testEnv(h.databaseUrl, uniquePrefix('lvl'), h.twilio.url, {
        LOG_LEVEL: 'error',
        DB_POOL_SIZE: '1',
        WORKER_CONCURRENCY: '1',
      }),
    );
    const services = createServices(config);
    try {
      expect(services.logger.level).toBe('error');
    } finally {
      await closeServices(services);
    }
    const worker = await startWorker(config, { metricsPort: null, reconcileIntervalMs: 3_600_000 });
    try {
      expect(worker.deps.logger.level).toBe('error');
    } finally {
      await worker.close();
    }
  });
});
