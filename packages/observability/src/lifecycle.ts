import type { Logger } from 'pino';

export interface RunUntilSignalOptions {
  logger: Logger;
  /** After the first signal, how long stopping may take before the process exits anyway. */
  shutdownTimeoutMs: number;
  /** Logged with the signal when stopping starts: what the process finishes first. */
  drainingMessage: string;
  /** Closes everything the process opened; the process exits 0 once it resolves. */
  stop: () => Promise<void>;
}

/**
 * Keeps a service running until SIGTERM or SIGINT, then stops it under a
 * deadline. The deadline timer is unref'd, so it never keeps a clean exit
 * waiting; a second signal while stopping changes nothing.
 */
export function runUntilSignal(options: RunUntilSignalOptions): void {
  const { logger } = options;
  let stopping = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, options.drainingMessage);
    setTimeout(() => {
      logger.error('shutdown deadline passed; exiting with work still in progress');
      process.exit(1);
    }, options.shutdownTimeoutMs).unref();
    // Stopping awaits promises: if one of them can never settle and nothing else is left to
    // wait on, Node would end the process here with code 0, as if it had stopped cleanly.
    process.once('beforeExit', () => {
      logger.error('stopping stalled: it waits on something that can no longer happen');
      process.exit(1);
    });
    try {
      await options.stop();
    } catch (error) {
      logger.error({ err: (error as Error).message }, 'stopping failed');
      process.exit(1);
    }
    logger.info('stopped');
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => void shutdown(signal));
  }
}
