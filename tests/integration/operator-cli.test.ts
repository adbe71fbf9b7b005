import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { MAX_SMS_BALANCE } from '@twofa/core';
import { createQueueConnections, SEND_CODE_QUEUE, webhookDeliveryJobId } from '@twofa/queue';
import { describe, expect, it } from 'vitest';
import { testEnv, withHarness } from '../support/index.ts';
import { failOneJob } from './operator-support.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// No in-process worker: the CLI is what moves things here.
const h = withHarness({ worker: false, env: { DB_POOL_SIZE: '3' } });

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** Runs the CLI as an operator would, against this file's database and queue prefix. */
function cli(...args: string[]): Promise<Run> {
  const env = {
    PATH: process.env.PATH,
    ...testEnv(h.databaseUrl, h.queuePrefix, h.twilio.url, { DB_POOL_SIZE: '2' }),
  };
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'scripts/cli.ts', ...args],
      { cwd: ROOT, env, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        let json: unknown = null;
        try {
          json = JSON.parse(stdout);
        } catch {
          // not JSON
        }
        resolve({ code, stdout, stderr, json });
      },
    );
  });
}

const orgCount = async () =>
  Number((await h.sql`select count(*)::int as n from organizations`)[0]?.n);

// Each run starts a Node process; on a busy machine that takes seconds.
describe('operator CLI', { timeout: 180_000 }, () => {
  it('creates an organization and prints its key once; the key works and is stored hashed', async () => {
    const run = await cli('org:create', '--name', 'CLI Clinic', '--country', 'fi');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toMatchObject({
      name: 'CLI Clinic',
      country: 'FI',
      authMethod: 'password',
    });
    const { id, apiKey } = run.json as { id: string; apiKey: string };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(apiKey.length).toBeGreaterThanOrEqual(32);
    expect(run.stderr).toMatch(/shown this once/);

    const settings = await h.request('GET', '/v1/settings/password', { key: apiKey });
    expect(settings.status).toBe(200);
    expect(settings.body.smsAllowedCountries).toEqual(['FI']);
    const org = await h.request('GET', `/v1/organizations/${id}`, {
      key: 'test-platform-key-0123456789',
    });
    expect(org.body).toMatchObject({ id, smsBalance: 0 });
    const keys = await h.sql`select key_hash from api_keys where organization_id = ${id}`;
    expect(keys).toHaveLength(1);
    expect(keys[0]?.key_hash).not.toContain(apiKey);

    const saml = await cli('org:create', '--name', 'SAML Clinic', '--auth-method', 'saml2');
    expect(saml.code, saml.stderr).toBe(0);
    expect(saml.json).toMatchObject({ authMethod: 'saml2', country: null });
  });

  it('refuses bad arguments with exit code 2 and creates nothing', async () => {
    const before = await orgCount();
    const refused = [
      ['org:create'],
      ['org:create', '--name', 'X', '--auth-method', 'kerberos'],
      ['org:create', '--name', 'X', '--country', 'FIN'],
      ['org:create', '--name', 'X', '--colour', 'blue'],
      ['no:such-command'],
    ];
    // Independent runs, started together: each is a Node process's start-up.
    const [help, ...runs] = await Promise.all([
      cli('--help'),
      ...refused.map((args) => cli(...args)),
    ]);
    for (const [i, run] of runs.entries()) {
      expect(run.code, refused[i]!.join(' ')).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('Usage:');
    }
    expect(await orgCount()).toBe(before);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('credits:add');
  });

  it('adds credits with a ledger line and an audit event', async () => {
    const org = await h.createOrganization({ name: 'Credit Clinic' });
    const run = await cli('credits:add', '--org', org.id, '--amount', '25', '--reference', 'INV-7');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toEqual({ organizationId: org.id, amount: 25, balance: 25 });

    const balance = await h.request('GET', '/v1/sms-balance', { key: org.apiKey });
    expect(balance.body.balance).toBe(25);
    expect(balance.body.ledger[0]).toMatchObject({ delta: 25, reason: 'top_up', balanceAfter: 25 });
    const audit = await h.request('GET', '/v1/audit-events', { key: org.apiKey });
    expect(audit.body.events[0]).toMatchObject({
      type: 'sms_credits_added',
      data: { amount: 25, reference: 'INV-7', balance: 25 },
    });

    const amounts = ['0', '1.5'];
    const [unknown, malformed, ...bad] = await Promise.all([
      cli('credits:add', '--org', randomUUID(), '--amount', '5'),
      cli('credits:add', '--org', 'not-an-id', '--amount', '5'),
      ...amounts.map((amount) => cli('credits:add', '--org', org.id, '--amount', amount)),
    ]);
    for (const [i, run] of bad.entries()) expect(run.code, amounts[i]).toBe(2);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/No organization/);
    expect(malformed.code).toBe(1);
    expect((await h.request('GET', '/v1/sms-balance', { key: org.apiKey })).body.balance).toBe(25);
  });

  it('refuses a top-up past the balance limit with exit code 1 and adds nothing', async () => {
    const org = await h.createOrganization({ name: 'Full Clinic' });
    // The limit less 5 credits, with its ledger line, so the books still add up.
    await h.sql`update organizations set sms_balance = ${MAX_SMS_BALANCE - 5} where id = ${org.id}`;
    await h.sql`insert into sms_ledger (organization_id, delta, reason, balance_after)
      values (${org.id}, ${MAX_SMS_BALANCE - 5}, 'top_up', ${MAX_SMS_BALANCE - 5})`;
    const over = await cli('credits:add', '--org', org.id, '--amount', '6');
    expect(over.code, over.stderr).toBe(1);
    expect(over.stderr).toMatch(/balance_limit/);
    const edge = await cli('credits:add', '--org', org.id, '--amount', '5');
    expect(edge.code, edge.stderr).toBe(0);
    expect(edge.json).toMatchObject({ balance: MAX_SMS_BALANCE });
    const lines = await h.sql`select delta from sms_ledger where organization_id = ${org.id}`;
    expect(lines.map((l) => l.delta)).toEqual(expect.arrayContaining([MAX_SMS_BALANCE - 5, 5]));
    expect(lines).toHaveLength(2);
  });

  it('shows queue counts and retries failed jobs', async () => {
    const delayedId = randomUUID();
    await h.services.sendQueue.add(
      'send-code',
      { sendId: delayedId },
      { jobId: delayedId, delay: 3_600_000 },
    );
    const failed = [await failOneJob(h), await failOneJob(h)];

    const counts = await cli('queue:counts');
    expect(counts.code, counts.stderr).toBe(0);
    const expected = await h.services.sendQueue.getJobCounts('waiting', 'delayed', 'failed');
    expect(counts.json).toMatchObject({
      queue: SEND_CODE_QUEUE,
      prefix: h.queuePrefix,
      counts: expected,
    });
    expect(counts.json.counts.failed).toBe(2);
    expect(counts.json.counts.delayed).toBeGreaterThanOrEqual(1);

    const retry = await cli('queue:retry-failed');
    expect(retry.code, retry.stderr).toBe(0);
    expect(retry.json).toMatchObject({ retried: 2, failedNow: 0 });
    for (const id of failed) expect(await h.services.sendQueue.getJobState(id)).toBe('waiting');
    await h.services.sendQueue.remove(delayedId);
    for (const id of failed) await h.services.sendQueue.remove(id);
  });

  it('runs the reconciler once: re-enqueues a lost send and marks a stuck one unknown', async () => {
    const org = await h.createOrganization({ name: 'Reconcile Clinic', country: 'FI' });
    await h.topUp(org.id, 5);
    await h.enableTwoFactor(org.apiKey);
    const sendIds: string[] = [];
    for (const n of [1, 2]) {
      const email = `rc${n}@example.com`;
      await h.createUser(org.apiKey, {
        email,
        password: 'pw-0123456789',
        phone: `+35840888000${n}`,
      });
      const login = await h.request('POST', '/v1/logins', {
        key: org.apiKey,
        body: { email, password: 'pw-0123456789', ip: '198.51.100.50' },
      });
      const [send] = await h.sql<{ id: string }[]>`
        select id from sms_sends where challenge_id = ${login.body.challenge.id}`;
      sendIds.push(send?.id as string);
    }
    const [lost, stuck] = sendIds as [string, string];
    // Redis lost both jobs; one send was queued a minute ago, the other has been mid-call for an hour.
    for (const id of sendIds) await h.services.sendQueue.remove(id);
    await h.sql`update sms_sends set updated_at = now() - interval '1 minute' where id = ${lost}`;
    await h.sql`
      update sms_sends set status = 'sending', sending_at = now() - interval '1 hour',
        updated_at = now() - interval '1 hour'
      where id = ${stuck}`;
    expect(await h.services.sendQueue.getJobState(lost)).toBe('unknown');

    const run = await cli('reconcile');
    expect(run.code, run.stderr).toBe(0);
    expect(run.json).toEqual({ requeued: 1, markedUnknown: 1, webhooksRequeued: 0 });
    expect(await h.services.sendQueue.getJobState(lost)).toBe('waiting');
    const [row] = await h.sql`select status from sms_sends where id = ${stuck}`;
    expect(row?.status).toBe('unknown');

    // Nothing left to do the second time.
    expect((await cli('reconcile')).json).toEqual({
      requeued: 0,
      markedUnknown: 0,
      webhooksRequeued: 0,
    });
  });

  it('re-enqueues a stuck webhook delivery whose job was lost, once', async () => {
    const org = await h.createOrganization({ name: 'Hooked Clinic', country: 'FI' });
    const webhookId = randomUUID();
    await h.sql`
      insert into webhooks (id, organization_id, url, events, secret_sealed)
      values (${webhookId}, ${org.id}, 'https://hooks.example.com/in', ${['user_created']},
        'v1.unused')`;
    await h.createUser(org.apiKey, { email: 'hooked@example.com' });
    // Handed to the queue a minute ago (its attempt overdue since), and Redis lost the job.
    const [row] = await h.sql<{ id: string }[]>`
      update webhook_deliveries set enqueued_at = now() - interval '1 minute',
        next_attempt_at = now() - interval '1 minute'
      where webhook_id = ${webhookId}
      returning id::text as id`;
    const queues = createQueueConnections(
      { REDIS_URL: h.config.env.REDIS_URL, QUEUE_PREFIX: h.queuePrefix },
      'producer',
    );
    try {
      const jobId = webhookDeliveryJobId(row?.id ?? '');
      expect(await queues.webhookQueue.getJobState(jobId)).toBe('unknown');
      const run = await cli('reconcile');
      expect(run.code, run.stderr).toBe(0);
      expect(run.json).toMatchObject({ webhooksRequeued: 1 });
      expect(await queues.webhookQueue.getJobState(jobId)).toBe('waiting');
      // Its job is there now: nothing to do the second time.
      expect((await cli('reconcile')).json).toMatchObject({ webhooksRequeued: 0 });
    } finally {
      await queues.close();
    }
  });

  it('fails clearly when Redis is not reachable', async () => {
    const env = testEnv(h.databaseUrl, h.queuePrefix, h.twilio.url, {
      REDIS_URL: 'redis://127.0.0.1:1',
    });
    const run = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'scripts/cli.ts', 'queue:counts'],
        { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 60_000 },
        (error, _stdout, stderr) =>
          resolve({ code: typeof error?.code === 'number' ? error.code : 0, stderr }),
      );
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Redis .* not reachable/);
  });
});
