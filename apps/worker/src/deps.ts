import type { Config } from '@twofa/config';
import type { Clock } from '@twofa/core';
import type { Database } from '@twofa/db';
import type { Logger, Metrics } from '@twofa/observability';
import type { Queue, SendCodeJob } from '@twofa/queue';
import type { SmsProvider } from '@twofa/sms';

/** What the worker's processors need, injected so tests can hand in their own. */
export interface WorkerDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  sms: SmsProvider;
  sendQueue: Queue<SendCodeJob>;
}
