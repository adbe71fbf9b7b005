/**
 * How a service process ends after SIGTERM (runUntilSignal, createLogger's
 * stdout), in a child process of its own: an operator reads the exit code and
 * the last lines, so both must be true.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/index.ts';

/**
 * Runs a service-like script: it logs `ready`, holds the event loop open until
 * SIGTERM (as a server or a worker's connections do), and stops with `stop`.
 */
async function runService(stop: string): Promise<{ code: number | null; messages: string[] }> {
  const script = `
    import { createLogger, runUntilSignal } from '@twofa/observability';
    const logger = createLogger({ name: 'exit-test' });
    const held = setInterval(() => {}, 60_000);
    process.on('SIGTERM', () => clearInterval(held));
    runUntilSignal({
      logger,
      shutdownTimeoutMs: 30_000,
      drainingMessage: 'draining',
      stop: ${stop},
    });
    logger.info('ready');
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    if (!out.includes('"ready"') && (out + chunk).includes('"ready"')) child.kill('SIGTERM');
    out += chunk;
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const messages = out
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { msg: string }).msg);
  return { code, messages };
}

describe('stopping on SIGTERM', { timeout: 60_000 }, () => {
  it('exits 0 with `stopped` as its last line once stop resolves', async () => {
    for (let run = 0; run < 5; run++) {
      const { code, messages } = await runService(
        '() => new Promise((resolve) => setTimeout(resolve, 20))',
      );
      expect(code).toBe(0);
      expect(messages).toEqual(['ready', 'draining', 'stopped']);
    }
  });

  it('exits 1 and says so when stop waits on a promise nothing is left to settle', async () => {
    // Without the guard, Node ends a process with an empty event loop with code 0.
    const { code, messages } = await runService('() => new Promise(() => {})');
    expect(code).toBe(1);
    expect(messages).toEqual([
      'ready',
      'draining',
      'stopping stalled: it waits on something that can no longer happen',
    ]);
  });

  it('exits 1 when stop fails', async () => {
    const { code, messages } = await runService(
      "async () => { throw new Error('the queue would not close'); }",
    );
    expect(code).toBe(1);
    expect(messages).toEqual(['ready', 'draining', 'stopping failed']);
  });
});
