/** Helpers shared by the operator-*.test.ts files. */
import { randomUUID } from 'node:crypto';
import { createRedis, SEND_CODE_QUEUE } from '@twofa/queue';
import { UnrecoverableError, Worker } from 'bullmq';
import { expect } from 'vitest';
import type { Harness } from '../support/index.ts';

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;

function unescapeLabel(value: string): string {
  return value.replace(/\\(.)/g, (_, ch: string) => (ch === 'n' ? '\n' : ch));
}

function parseValue(text: string): number {
  // Prometheus reads these case-insensitively (Go's ParseFloat); prom-client writes "Nan".
  const lower = text.toLowerCase();
  if (lower === '+inf' || lower === 'inf') return Number.POSITIVE_INFINITY;
  if (lower === '-inf') return Number.NEGATIVE_INFINITY;
  if (lower === 'nan') return Number.NaN;
  const value = Number(text);
  if (Number.isNaN(value)) throw new Error(`Unreadable value: ${text}`);
  return value;
}

/**
 * Parses the Prometheus text exposition format (version 0.0.4) into samples.
 * Throws on a line it cannot read, so a malformed exposition fails the test.
 */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`Unreadable metrics line: ${line}`);
    const [, name, labelText = '', valueText = ''] = match;
    const labels: Record<string, string> = {};
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < labelText.length) {
      const start = LABEL.lastIndex;
      const label = LABEL.exec(labelText);
      if (!label || LABEL.lastIndex === start) throw new Error(`Unreadable labels: ${line}`);
      labels[label[1] as string] = unescapeLabel(label[2] as string);
    }
    samples.push({ name: name as string, labels, value: parseValue(valueText) });
  }
  return samples;
}

/** The samples of one metric whose labels include all of `labels`. */
export function find(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  return samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
}

/** The value of the one sample matching, or 0 when there is none (a counter not yet touched). */
export function sampleValue(samples: Sample[], name: string, labels: Record<string, string> = {}) {
  const found = find(samples, name, labels);
  if (found.length > 1) {
    throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  }
  return found[0]?.value ?? 0;
}

/** Parsed JSON log lines. */
export function logRecords(lines: readonly string[]): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

/**
 * Adds one send-code job and lets a throwaway BullMQ worker fail it permanently, so the
 * queue holds a failed job for the dashboard or the CLI to show and retry. Answers its id.
 */
export async function failOneJob(h: Harness): Promise<string> {
  const jobId = randomUUID();
  await h.services.sendQueue.add('send-code', { sendId: jobId }, { jobId });
  const connection = createRedis(h.config.env.REDIS_URL, 'worker');
  try {
    await new Promise<void>((resolve) => {
      const worker = new Worker(
        SEND_CODE_QUEUE,
        async () => {
          throw new UnrecoverableError('simulated permanent failure');
        },
        { connection, prefix: h.queuePrefix },
      );
      worker.on('failed', (job) => {
        if (job?.id === jobId) void worker.close().then(() => resolve());
      });
    });
  } finally {
    connection.disconnect();
  }
  expect(await h.services.sendQueue.getJobState(jobId)).toBe('failed');
  return jobId;
}
