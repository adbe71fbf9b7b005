import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTwilioProvider, validateTwilioRequest } from '@twofa/sms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAKE_TWILIO_ACCOUNT_SID,
  FAKE_TWILIO_AUTH_TOKEN,
  TWILIO_FROM,
} from '../../bench/lib/constants.ts';
import { floorOf, stackCpu } from '../../bench/lib/floor.ts';
import { updateReadme } from '../../bench/lib/report.ts';
import { rssMiB } from '../../bench/lib/rss.ts';
import type { SinkMessage } from '../../bench/lib/sink.ts';
import { growth, soakSchedule } from '../../bench/lib/soak.ts';
import { startSink } from '../../bench/lib/stack.ts';

const run = (perSec: number, cpu: Record<string, number>) => ({ perSec, cpu });

describe('the floor', () => {
  it('sums the parts, charges each group to its component and leaves the load generator out', () => {
    const floor = floorOf(
      {
        hono: [run(10_000, { hono: 0.06, postgres: 0, redis: 0, loadgen: 0.05, total: 0.11 })],
        commit: [run(900, { client: 0.3, postgres: 0.4, redis: 0, loadgen: 0.01, total: 0.71 })],
        bullmq: [
          run(6_000, {
            producer: 0.05,
            workers: 0.1,
            postgres: 0,
            redis: 0.05,
            loadgen: 0,
            total: 0.2,
          }),
        ],
        claim: [run(700, { client: 0.3, postgres: 0.7, redis: 0, loadgen: 0, total: 1 })],
        twilio: [
          run(500, { client: 1, sink: 0.5, postgres: 0, redis: 0, loadgen: 0.1, total: 1.6 }),
        ],
        outcome: [run(1_500, { client: 0.2, postgres: 0.2, redis: 0, loadgen: 0, total: 0.4 })],
      },
      2,
    );
    expect(floor.parts.hono.cpuMs).toBe(0.06);
    expect(floor.parts.twilio.cpuMs).toBe(1.5);
    expect(floor.byComponent).toEqual({
      api: 0.41,
      workers: 1.6,
      postgres: 1.3,
      redis: 0.05,
      sink: 0.5,
    });
    expect(floor.cpuMsPerChallenge).toBe(3.86);
    expect(floor.perSec).toBeCloseTo(2000 / 3.86, 6);
  });

  it('takes the median run of each part', () => {
    const parts = ['hono', 'commit', 'bullmq', 'claim', 'twilio', 'outcome'] as const;
    const runs = Object.fromEntries(
      parts.map((p) => [
        p,
        [1, 3, 2].map((ms) => run(ms * 100, { client: ms, hono: ms, producer: 0 })),
      ]),
    ) as Parameters<typeof floorOf>[0];
    const floor = floorOf(runs, 2);
    expect(floor.parts.claim).toMatchObject({ perSec: 200, cpuMs: 2 });
    // hono's `hono` group and the others' `client` group; bullmq has neither.
    expect(floor.cpuMsPerChallenge).toBe(10);
  });

  it("counts the stack's components of a pipeline reading, not the load generator", () => {
    expect(
      stackCpu({
        api: 1,
        workers: 2,
        sink: 0.5,
        postgres: 1,
        redis: 0.25,
        loadgen: 9,
        total: 13.75,
      }),
    ).toBe(4.75);
  });
});

describe('the soak', () => {
  it('samples every 30 s with the baseline at a minute, or a quarter and a half of a short soak', () => {
    expect(soakSchedule(300)).toEqual({ intervalS: 30, baselineS: 60 });
    expect(soakSchedule(40)).toEqual({ intervalS: 10, baselineS: 20 });
  });

  it('gives the last sample over the first at or after the baseline, the worst worker', () => {
    const samples = [
      { atS: 0, api: 100, workers: [100, 100] },
      { atS: 30, api: 150, workers: [150, 150] },
      { atS: 60, api: 200, workers: [200, 100] },
      { atS: 90, api: 210, workers: [190, 130] },
    ];
    expect(growth(samples, 60)).toEqual({ api: 1.05, workers: 1.3 });
    // No sample after the baseline: no growth to tell.
    expect(growth(samples.slice(0, 3), 60)).toEqual({ api: null, workers: null });
  });
});

describe('RSS', () => {
  it("reads a live process's VmRSS in MiB, and null for none", () => {
    const mib = rssMiB(process.pid);
    expect(mib).toBeGreaterThan(10);
    expect(mib).toBeLessThan(process.memoryUsage().rss / 2 ** 20 + 50);
    expect(rssMiB(undefined)).toBeNull();
    expect(rssMiB(2 ** 22 + 12_345)).toBeNull();
  });
});

describe('the README sections', () => {
  it('replaces only the section between its own markers', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'bench-readme-')), 'README.md');
    const text = [
      'top',
      '<!-- bench:latest:start -->',
      'old table',
      '<!-- bench:latest:end -->',
      '<!-- bench:explain:start -->',
      'old plans',
      '<!-- bench:explain:end -->',
      '',
    ].join('\n');
    writeFileSync(path, text);
    expect(updateReadme(path, 'new plans', 'explain')).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(text.replace('old plans', 'new plans'));
    expect(updateReadme(path, 'x', 'missing')).toBe(false);
  });
});

describe('the fake provider process', () => {
  const posted: { url: string; status: string | null; valid: boolean }[] = [];
  const api = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      const url = `${callbackBase}${req.url}`;
      const params = Object.fromEntries(new URLSearchParams(body));
      const signature = String(req.headers['x-twilio-signature'] ?? '');
      posted.push({
        url,
        status: params.MessageStatus ?? null,
        valid: validateTwilioRequest(FAKE_TWILIO_AUTH_TOKEN, signature, url, params),
      });
      res.writeHead(204).end();
    });
  });
  let callbackBase = '';
  let sink: Awaited<ReturnType<typeof startSink>>;

  beforeAll(async () => {
    await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
    callbackBase = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    sink = await startSink();
  });
  afterAll(async () => {
    await sink?.child.stop();
    await new Promise((resolve) => api.close(resolve));
  });

  it('forwards each message once, and posts a signed receipt for it on request', async () => {
    const seen: SinkMessage[] = [];
    sink.client.subscribe((m) => seen.push(m));
    const provider = createTwilioProvider({
      accountSid: FAKE_TWILIO_ACCOUNT_SID,
      authToken: FAKE_TWILIO_AUTH_TOKEN,
      from: TWILIO_FROM,
      apiBaseUrl: sink.client.url,
      statusCallbackBaseUrl: callbackBase,
    });
    const sendId = '6f1c2a4e-1111-4222-8333-944455556666';
    const sent = await provider.send({ to: '+358401234567', body: 'code 123456', sendId });
    await expect.poll(() => seen.length).toBe(1);
    expect(seen[0]).toMatchObject({ sid: sent.providerMessageId, sendId, to: '+358401234567' });

    expect(await sink.client.receipt(sent.providerMessageId, 'delivered')).toBe(204);
    expect(posted).toEqual([
      {
        url: `${callbackBase}/webhooks/twilio/status?sendId=${sendId}`,
        status: 'delivered',
        valid: true,
      },
    ]);
    // The message went back into the fake's list for the receipt and out again, unforwarded.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen).toHaveLength(1);
    // A receipt is posted once: the fake forgets the message afterwards.
    expect(await sink.client.receipt(sent.providerMessageId, 'delivered')).toBeNull();
  });
});
