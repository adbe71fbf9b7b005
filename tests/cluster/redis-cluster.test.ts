/**
 * The API and two workers on a real Redis Cluster (3 masters, 3 replicas, see
 * startRedisCluster) through REDIS_CLUSTER_NODES: the login flow end to end,
 * readiness and queue metrics, the whole cluster lost and emptied (the Redis
 * fault cases), and one master SIGKILLed mid-run, whose replica takes over.
 * After each, the fault suite's audit: nothing lost, nothing doubled, one
 * debit per send, balance equal to the ledger.
 */
import { loadConfig } from '@twofa/config';
import { createQueueConnections, type QueueConnections } from '@twofa/queue';
import * as oidc from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  auditSendPipeline,
  messagesPerSend,
  reconcilerRequeued,
  sentCount,
  waitForSettled,
} from '../faults/audit.ts';
import {
  browse,
  CookieJar,
  clusterSeedNodes,
  csrfOf,
  formAction,
  freePorts,
  httpGet,
  pushAuthorization,
  type RedisCluster,
  type Stack,
  seedOrganization,
  startChallenges,
  startRedisCluster,
  startStack,
  waitUntil,
} from '../support/index.ts';
import { codeFor, countBy, verifyAll } from './support.ts';

let cluster: RedisCluster;
let stack: Stack;
/** The test's own view of the queue, on the cluster like the services'. */
let queue: QueueConnections;
const accepted: string[] = [];

beforeAll(async () => {
  // The services start while the cluster forms: they wait for it like for a Redis restart.
  const ports = await freePorts(6);
  [cluster, stack] = await Promise.all([
    startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 1_000, ports }),
    startStack({
      workers: 2,
      env: {
        REDIS_CLUSTER_NODES: clusterSeedNodes(ports),
        // A job whose completion the failover lost is retaken within seconds.
        WORKER_LOCK_DURATION_MS: '3000',
      },
    }),
  ]);
  const env = loadConfig({ ...stack.env }).env;
  queue = createQueueConnections(env, 'worker');
}, 120_000);

afterAll(async () => {
  await queue?.close();
  await stack?.close();
  await cluster?.close();
});

async function audit() {
  await waitForSettled(stack.sql, { timeoutMs: 60_000 });
  expect([...messagesPerSend(stack.twilio.messages).values()].every((n) => n === 1)).toBe(true);
  return auditSendPipeline(stack.sql, {
    messages: stack.twilio.messages,
    acceptedChallengeIds: accepted,
  });
}

describe('on a Redis Cluster', { timeout: 120_000 }, () => {
  it('logs in end to end, with the queue in one hash slot and readiness and metrics answering', async () => {
    const org = await seedOrganization(stack, { users: 30, credits: 30, name: 'cluster login' });
    const started = await startChallenges(stack, org, org.users, { concurrency: 10 });
    expect(countBy(started, (s) => String(s.status))).toEqual({ 200: 30 });
    accepted.push(...started.map((s) => s.challengeId!));
    await waitUntil('30 sent', async () => (await sentCount(stack.sql, org.id)) === 30);
    await verifyAll(stack.api!.url, stack.twilio, org, started);

    // BullMQ's keys carry the `{prefix}` hash tag: one slot, on one master.
    expect(queue.prefix).toBe(`{${stack.queuePrefix}}`);
    const owner = await cluster.masterFor(`${queue.prefix}:send-code:meta`);
    expect(await cluster.node(owner.port).exists(`${queue.prefix}:send-code:meta`)).toBe(1);
    expect((await queue.sendQueue.getJobCounts('completed')).completed).toBe(30);
    // The rate-limit counters are on the cluster too (not each API's in-memory fallback).
    const limitKeys = await Promise.all(
      (await cluster.masters()).map((m) =>
        cluster.node(m.port).keys(`*${stack.queuePrefix}*ip_logins*`),
      ),
    );
    expect(limitKeys.flat().join('\n')).toContain('198.51.100.7');

    const ready = await stack.request('GET', '/ready');
    expect(ready).toMatchObject({ status: 200, body: { checks: { redis: 'ok' } } });
    const workerReady = await httpGet(`${stack.workers[0]!.url}/ready`);
    expect(workerReady.status).toBe(200);
    const metrics = await httpGet(`${stack.api!.url}/metrics`);
    expect(metrics.body).toMatch(/twofa_queue_jobs\{[^}]*state="completed"[^}]*\} 30/);
    await audit();
  });

  it("runs the hosted prompt with its state in the cluster's one prompt slot", async () => {
    const org = await seedOrganization(stack, { users: 1, credits: 5, name: 'cluster prompt' });
    const user = org.users[0]!;
    const [row] = await stack.sql<
      { email: string }[]
    >`select email from users where id = ${user.id}`;
    const redirectUri = 'http://127.0.0.1:9/callback';
    const app = await stack.request('POST', '/v1/apps', {
      key: org.apiKey,
      body: { name: 'cluster app', redirectUris: [redirectUri] },
    });
    expect(app.status).toBe(201);
    const { clientId, clientSecret } = app.body as { clientId: string; clientSecret: string };
    // The issuer is PUBLIC_BASE_URL, the API's own address.
    const issuer = new URL(stack.env.PUBLIC_BASE_URL!);
    expect(issuer.origin).toBe(new URL(stack.api!.url).origin);
    const config = await oidc.discovery(
      issuer,
      clientId,
      clientSecret,
      oidc.ClientSecretBasic(clientSecret),
      { execute: [oidc.allowInsecureRequests] },
    );
    const started = await pushAuthorization(config, { redirectUri, loginHint: row!.email });
    const jar = new CookieJar();
    const page = await browse(jar, started.url.href);
    expect(page.final.status).toBe(200);
    const code = await waitUntil('the prompt SMS', async () => codeFor(stack.twilio, user.phone));
    const back = await browse(jar, formAction(page.final.body, issuer.origin, '/code'), {
      form: { csrf: csrfOf(page.final.body), code },
    });
    expect(back.final.status).toBe(303);
    const tokens = await oidc.authorizationCodeGrant(config, new URL(back.final.location ?? ''), {
      pkceCodeVerifier: started.verifier,
      expectedState: started.state,
      expectedNonce: started.nonce,
    });
    expect(tokens.claims()?.sub).toBe(user.id);

    // Every model of the round sits under the `{prefix:oidc}` tag: one slot, on one master.
    const tag = `{${stack.queuePrefix}:oidc}`;
    const owner = await cluster.masterFor(`${tag}:Grant:x`);
    const onOwner = await cluster.node(owner.port).keys(`${tag}:*`);
    expect(onOwner.some((key) => key.startsWith(`${tag}:Grant:`))).toBe(true);
    expect(onOwner.some((key) => key.startsWith(`${tag}:Session:`))).toBe(true);
    accepted.push(
      ...(
        await stack.sql<{ id: string }[]>`select id from challenges where user_id = ${user.id}`
      ).map((c) => c.id),
    );
    await audit();
  });

  it('keeps accepting while the whole cluster is down, and sends each once it is back', async () => {
    const org = await seedOrganization(stack, { users: 60, credits: 60, name: 'cluster outage' });
    const before = await startChallenges(stack, org, org.users.slice(0, 20));
    expect(before.filter((s) => s.status !== 200)).toEqual([]);

    const ports = cluster.ports;
    await Promise.all(ports.map((p) => cluster.kill(p)));
    await waitUntil('readiness to say Redis is down', async () => {
      const res = await stack.request('GET', '/ready');
      return res.status === 503 && res.body.down?.includes('redis');
    });
    const during = await startChallenges(stack, org, org.users.slice(20, 40));
    // The outbox: committed to Postgres and accepted, though no job could be added.
    expect(during.map((s) => s.status)).toEqual(during.map(() => 200));
    const requeuedBefore = reconcilerRequeued(stack.workers);

    // Back with its nodes.conf and no data: the cluster reforms, empty.
    await Promise.all(ports.map((p) => cluster.restart(p)));
    await cluster.waitHealthy();
    await waitUntil(
      'readiness back',
      async () => (await stack.request('GET', '/ready')).status === 200,
    );
    const after = await startChallenges(stack, org, org.users.slice(40));
    expect(after.filter((s) => s.status !== 200)).toEqual([]);
    accepted.push(...[...before, ...during, ...after].map((s) => s.challengeId!));

    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    expect(await sentCount(stack.sql, org.id)).toBe(60);
    expect(reconcilerRequeued(stack.workers) - requeuedBefore).toBeGreaterThanOrEqual(20);
    await audit();
  });

  it('sends every accepted challenge once after every master is flushed with jobs waiting', async () => {
    const org = await seedOrganization(stack, { users: 60, credits: 60, name: 'cluster flush' });
    stack.twilio.setMode({ kind: 'ok', delayMs: 500 });
    await queue.sendQueue.pause();
    const started = await startChallenges(stack, org);
    expect(started.filter((s) => s.status !== 200)).toEqual([]);
    accepted.push(...started.map((s) => s.challengeId!));
    await queue.sendQueue.resume();
    await waitUntil('some sent and a backlog waiting', async () => {
      const [row] = await stack.sql<{ sent: number; queued: number }[]>`
        select count(*) filter (where status = 'sent')::int as sent,
          count(*) filter (where status = 'queued')::int as queued
        from sms_sends where organization_id = ${org.id}`;
      return (row?.sent ?? 0) >= 5 && (row?.queued ?? 0) >= 20;
    });
    const requeuedBefore = reconcilerRequeued(stack.workers);
    for (const master of await cluster.masters()) await cluster.node(master.port).flushall();
    stack.twilio.setMode({ kind: 'ok' });

    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    expect(await sentCount(stack.sql, org.id)).toBe(60);
    expect(reconcilerRequeued(stack.workers) - requeuedBefore).toBeGreaterThan(0);
    await audit();
  });

  it("promotes the queue's replica when its master is killed mid-run; nothing lost or doubled", async () => {
    const org = await seedOrganization(stack, { users: 120, credits: 120, name: 'failover' });
    stack.twilio.setMode({ kind: 'ok', delayMs: 100 });
    const victim = await cluster.masterFor(`${queue.prefix}:send-code:meta`);
    const replica = (await cluster.topology()).find((n) => n.masterPort === victim.port);
    expect(replica).toBeDefined();

    // Challenges keep coming while the master holding every queue key dies.
    const killer = waitUntil(
      '40 challenges accepted',
      async () => {
        const [row] = await stack.sql<{ n: number }[]>`
          select count(*)::int as n from challenges where organization_id = ${org.id}`;
        return (row?.n ?? 0) >= 40;
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    ).then(async () => {
      await cluster.kill(victim.port);
      return new Date();
    });
    const started = await startChallenges(stack, org, org.users, { concurrency: 4, pauseMs: 50 });
    const killedAt = await killer;
    accepted.push(...started.map((s) => s.challengeId!));
    expect(started.filter((s) => s.status !== 200)).toEqual([]);

    // Mid-run: challenges kept coming after the kill and through the failover.
    const [late] = await stack.sql<{ n: number }[]>`
      select count(*)::int as n from challenges
      where organization_id = ${org.id} and created_at > ${killedAt}`;
    expect(late?.n).toBeGreaterThan(20);
    // Promotion needs the other masters' votes; on a loaded machine that takes longer.
    await cluster.waitHealthy(120_000);
    const promoted = (await cluster.topology()).find((n) => n.port === replica!.port);
    expect(promoted).toMatchObject({ role: 'master' });
    expect(promoted!.slots).toBeGreaterThan(0);
    stack.twilio.setMode({ kind: 'ok' });

    await waitForSettled(stack.sql, { timeoutMs: 60_000 });
    expect(await sentCount(stack.sql, org.id)).toBe(120);
    const report = await audit();
    expect(report.byStatus).toEqual({ sent: accepted.length });
    await verifyAll(stack.api!.url, stack.twilio, org, started);
    await waitUntil('readiness on the promoted replica', async () => {
      return (await stack.request('GET', '/ready')).status === 200;
    });
  }, 240_000);
});
