import { type Clock, hashSecret } from '@twofa/core';
import type { Database } from '@twofa/db';
import type { Logger, Metrics } from '@twofa/observability';
import type { Queue, SendCodeJob } from '@twofa/queue';
import type { RateLimits } from '../lib/rate-limits.ts';
import type { SendHints } from './send-hints.ts';

/** What every challenge use case runs on: injected once, by createServices. */
export interface ChallengeDeps {
  appSecret: string;
  /** APP_SECRET then APP_SECRET_PREVIOUS: what opens a sealed authenticator secret, or hashed a backup code. */
  appSecrets: readonly string[];
  /** Authenticator codes follow real time, as the user's phone sees it. */
  clock: Clock;
  /** MAX_CONSECUTIVE_CODE_FAILURES: wrong codes in a row, over all of a user's challenges, that lock the user. */
  maxConsecutiveCodeFailures: number;
  db: Database;
  sendQueue: Queue<SendCodeJob>;
  /** Admission: rate limits and the circuit breaker. */
  rateLimits: RateLimits;
  metrics: Metrics;
  logger: Logger;
  /** The send this process last queued per challenge: lets a verify check and approve at once. */
  sendHints: SendHints;
}

/** The request's own logger (with its request id), when the caller has one; optional on every call. */
export interface RequestLogger {
  logger?: Logger;
}

/** A device token as stored: only its hash. */
export function deviceTokenHash(deps: ChallengeDeps, token: string | undefined): string | null {
  return token ? hashSecret(deps.appSecret, 'device-token', token) : null;
}
