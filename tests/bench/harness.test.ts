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
import { floorOf, PATHS, RAW_PARTS, rawFloorOf, stackCpu } from '../../bench/lib/floor.ts';
import { MIX, mixedKinds } from '../../bench/lib/mixed.ts';
import { startChild } from '../../bench/lib/procs.ts';
import { missingFields, RESULT_FIELDS, updateReadme } from '../../bench/lib/report.ts';
import { rssMiB } from '../../bench/lib/rss.ts';
import type { SinkMessage } from '../../bench/lib/sink.ts';
import {
  fitWindow,
  growth,
  leastSquares,
  type SoakSample,
  soakSchedule,
  soakTrends,
  trendOf,
} from '../../bench/lib/soak.ts';
import { GC_PROBE_FLAGS, heapAfterGcOf, startSink } from '../../bench/lib/stack.ts';

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

describe('the raw floor', () => {
  const one = (cpu: Record<string, number>) => [run(1_000, cpu)];
  const raw = {
    hono: one({ hono: 0.02, postgres: 0, redis: 0, loadgen: 0.03 }),
    commit: one({ client: 0.1, postgres: 0.1, redis: 0, loadgen: 0 }),
    bullmq: one({ producer: 0.03, workers: 0.07, postgres: 0, redis: 0.1, loadgen: 0 }),
    claim: one({ client: 0.1, postgres: 0.3, redis: 0, loadgen: 0 }),
    twilio: one({ client: 0.1, sink: 0.1, postgres: 0, redis: 0, loadgen: 0.5 }),
    outcome: one({ client: 0.05, postgres: 0.05, redis: 0, loadgen: 0 }),
    read: one({ client: 0.02, postgres: 0.03, redis: 0, loadgen: 0 }),
    approve: one({ client: 0.1, postgres: 0.2, redis: 0, loadgen: 0 }),
    wrong: one({ client: 0.04, postgres: 0.06, redis: 0, loadgen: 0 }),
    login: one({ client: 0.02, postgres: 0.03, redis: 0, loadgen: 0 }),
    signin: one({ client: 0.03, postgres: 0.07, redis: 0, loadgen: 0 }),
    window: one({ client: 0.01, postgres: 0, redis: 0.01, loadgen: 0 }),
  };

  it('sums each path from its own raw parts, Hono in all three, the load generator left out', () => {
    const floor = rawFloorOf(raw, {
      claim: one({ client: 0.2, postgres: 0.6, redis: 0, loadgen: 0 }),
      login: one({ client: 0.05, postgres: 0.1, redis: 0, loadgen: 0 }),
      signin: one({ client: 0.05, postgres: 0.15, redis: 0, loadgen: 0 }),
    });
    // Verify: half its requests approve, half count a wrong code. The common login writes its
    // signed_in row: the bare read (login) is measured but not counted.
    expect(floor.cpuMs).toEqual({ pipeline: 1.12, verify: 0.27, commonLogin: 0.14 });
    expect(floor.byComponent.verify.postgres).toBe(0.16);
    expect(floor.parts.claim).toMatchObject({
      raw: { cpuMs: 0.4 },
      product: { cpuMs: 0.8 },
      tax: 2,
    });
    expect(floor.parts.login.tax).toBe(3);
    // No product figure of its own: raw Hono and raw BullMQ are what the product uses.
    expect(floor.parts.hono).toMatchObject({ product: null, tax: null });
    // The product's sum takes the raw figure where it has none of its own.
    expect(floor.parts.signin.tax).toBe(2);
    expect(floor.productCpuMs).toEqual({ pipeline: 1.52, verify: 0.27, commonLogin: 0.24 });
    expect(floor.byComponent.commonLogin).toEqual({
      api: 0.06,
      workers: 0,
      postgres: 0.07,
      redis: 0.01,
      sink: 0,
    });
    // A raw part measured above the product's own does not raise the floor: the lesser counts.
    const cheaper = rawFloorOf(raw, {
      twilio: one({ client: 0.05, sink: 0.1, postgres: 0, redis: 0, loadgen: 0 }),
    });
    expect(cheaper.parts.twilio).toMatchObject({
      raw: { cpuMs: 0.2 },
      floor: { cpuMs: 0.15 },
      tax: 0.75,
    });
    expect(cheaper.cpuMs.pipeline).toBe(1.07);
    expect(cheaper.byComponent.pipeline.workers).toBe(0.27);
    for (const path of Object.keys(PATHS) as (keyof typeof PATHS)[]) {
      for (const part of PATHS[path]) expect(RAW_PARTS).toContain(part);
    }
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

describe('the soak by trend', () => {
  it('fits a least-squares line', () => {
    const line = leastSquares([
      [0, 1],
      [1, 3],
      [2, 5],
    ]);
    expect(line?.slope).toBeCloseTo(2, 10);
    expect(line?.at(10)).toBeCloseTo(21, 10);
    expect(leastSquares([[1, 1]])).toBeNull();
    expect(
      leastSquares([
        [1, 1],
        [1, 2],
      ]),
    ).toBeNull();
  });

  it('fits minutes 1 to 5 of a full soak, the baseline to the end of a shorter one', () => {
    expect(fitWindow(300)).toEqual({ fromS: 60, toS: 300 });
    expect(fitWindow(600)).toEqual({ fromS: 60, toS: 300 });
    expect(fitWindow(40)).toEqual({ fromS: 20, toS: 40 });
  });

  it('gives slope per minute and per 10,000 challenges, and fitted end over fitted start', () => {
    // 1 MiB a minute from 100 MiB at 60 s, at 100 challenges a second; a sample before the
    // window (start-up growth) is left out.
    const series: [number, number][] = [
      [0, 50],
      ...[60, 120, 180, 240, 300].map((s): [number, number] => [s, 100 + (s - 60) / 60]),
    ];
    const t = trendOf(series, fitWindow(300), 100);
    expect(t).toEqual({
      slopeMiBPerMin: 1,
      slopeMiBPer10k: round2((1 / 60 / 100) * 10_000),
      fittedStartMiB: 100,
      fittedEndMiB: 104,
      growth: 1.04,
    });
  });

  it('judges a sawtooth by its fitted line, not by where its last sample fell', () => {
    // The API samples of 938488c, every 30 s: 1.32 by last / baseline.
    const mib = [222, 281, 214, 246, 245, 295, 273, 226, 294];
    const samples: SoakSample[] = mib.map((api, i) => ({
      atS: 60 + i * 30,
      api,
      workers: [100 + (i % 2) * 5, 100 + i * 2],
    }));
    const t = soakTrends(samples, 300, 100);
    // By hand: x = 0..8 half-minutes, Sxy = 290, Sxx = 60, slope 4.833 MiB a half-minute;
    // the line runs from 235.8 to 274.4 MiB.
    expect(t.rss.api).toMatchObject({
      slopeMiBPerMin: 9.67,
      fittedStartMiB: 235.8,
      fittedEndMiB: 274.4,
      growth: 1.164,
    });
    expect(t.apiGrowthByTrend).toBe(1.164);
    expect(growth(samples, 60).api).toBe(1.324);
    // The worst worker is the one growing (100 -> 116 MiB over 240 s).
    expect(t.workerGrowthByTrend).toBe(t.rss.workers[1]?.growth);
    expect(t.rss.workers[1]?.slopeMiBPerMin).toBe(4);
    // No heap readings: no heap trend.
    expect(t.heap.api).toBeNull();
  });
});

describe('the forced-GC heap probe', () => {
  it('answers with the heap after a collection only in a child with --expose-gc and the probe', async () => {
    const withProbe = startChild('gc-probe-on', 'bench/lib/sink.ts', [], {
      ipc: true,
      nodeFlags: GC_PROBE_FLAGS,
    });
    const without = startChild('gc-probe-off', 'bench/lib/sink.ts', [], { ipc: true });
    try {
      const heap = await heapAfterGcOf(withProbe, 1, 20_000);
      expect(heap).toBeGreaterThan(1);
      expect(heap).toBeLessThan(rssMiB(withProbe.proc.pid) ?? 0);
      expect(await heapAfterGcOf(without, 2, 1_000)).toBeNull();
    } finally {
      await Promise.all([withProbe.stop(), without.stop()]);
    }
  });
});

describe('the mixed login run', () => {
  it('keeps the stated mix in every 20 logins', () => {
    const kinds = mixedKinds(40);
    for (const [kind, count] of Object.entries(MIX)) {
      expect(kinds.filter((k) => k === kind)).toHaveLength(count * 2);
    }
    expect(kinds.slice(0, 20)).toEqual(kinds.slice(20));
  });
});

describe('the results file', () => {
  it('names the fields issue 24 and issue 20 ask for', () => {
    for (const field of [
      'floor.raw.parts',
      'floor.raw.pipelineCpuMs',
      'floor.raw.verifyCpuMs',
      'floor.raw.commonLoginCpuMs',
      'verify.cpuMsPerRequest',
      'commonLogin.cpuMsPerRequest',
      'prompt.roundsPerSec',
      'prompt.cpuMsPerRound',
      'soak.apiGrowthByTrend',
      'soak.workerGrowthByTrend',
      'logins.mixed.noSmsShare',
    ]) {
      expect(RESULT_FIELDS).toContain(field);
    }
  });

  it('finds a field missing under a section that ran, not under one that is null', () => {
    const fields = ['floor.raw.parts', 'soak.apiGrowthByTrend', 'verify.cpuMsPerRequest'];
    expect(
      missingFields(
        { floor: { raw: { parts: {} } }, soak: null, verify: { cpuMsPerRequest: null } },
        fields,
      ),
    ).toEqual([]);
    expect(missingFields({ floor: { raw: {} }, soak: {}, verify: {} }, fields)).toEqual(fields);
    expect(missingFields({ floor: null, soak: null }, fields)).toEqual(['verify.cpuMsPerRequest']);
  });
});

const round2 = (n: number) => Math.round(n * 100) / 100;

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
