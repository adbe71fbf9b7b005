import { type Clock, hashesUnder, hashSecret } from '@twofa/core';
import type { Database, DeviceTokenHash } from '@twofa/db';
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

/**
 * A presented device token as it is looked up: its hash, or while
 * APP_SECRET_PREVIOUS is set its hash under each secret (a device trusted
 * before APP_SECRET rotated stays trusted until it expires).
 */
export function deviceTokenHash(deps: ChallengeDeps, token: string | undefined): DeviceTokenHash {
  if (!token) return null;
  if (deps.appSecrets.length <= 1) return hashSecret(deps.appSecret, 'device-token', token);
  return hashesUnder(deps.appSecrets, 'device-token', token);
}
