import type { Config } from '@twofa/config';
import type { Clock } from '@twofa/core';
import type { ClaimedSend, Database } from '@twofa/db';
import type { Logger, Metrics } from '@twofa/observability';
import type { Queue, SendCodeJob } from '@twofa/queue';
import type { SmsProvider } from '@twofa/sms';
import type { Committer } from './group-commit.ts';

/** The send pipeline's two hot statements, run alone or group-committed (WORKER_GROUP_COMMIT). */
export interface SendCommits {
  claim: Committer<{ sendId: string; codeHash: string }, ClaimedSend | null>;
  accepted: Committer<{ sendId: string; providerSid: string }, void>;
}

/** What the worker's processors need, injected so tests can hand in their own. */
export interface WorkerDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  sms: SmsProvider;
  sendQueue: Queue<SendCodeJob>;
  commits: SendCommits;
}
