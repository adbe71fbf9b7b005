/**
 * Lever: the accept path's Redis round trips, as the API's RateLimits makes them against
 * real Redis. Before: `/v1/challenges` took the per-address point in one script and the
 * send limits in another; `/v1/logins` gave the account's point back (right password) in
 * one script and took the send limits in another. After: one script each (RateLimits.admit with keep/take/giveBack).
 * BullMQ's add is the same in both and left out. Sequential, one request at a time, so
 * ops/s is 1 / latency.
 *
 *   node --import tsx bench/levers/accept-redis.ts        LEVERS_N=3000 LEVERS_ROUNDS=6
 */
import { randomBytes } from 'node:crypto';
import { closeServices, createServices } from '@twofa/api';
import { loadConfig } from '@twofa/config';
import { ab, intEnv, printTable } from './ab.ts';

const N = intEnv('LEVERS_N', 3000);
const ROUNDS = intEnv('LEVERS_ROUNDS', 6);

const config = loadConfig({
  NODE_ENV: 'test',
  // No query runs: the services' pool connects lazily.
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/postgres',
  REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  QUEUE_PREFIX: `twofa-levers-${randomBytes(4).toString('hex')}`,
  APP_SECRET: randomBytes(24).toString('hex'),
  SMS_PROVIDER: 'console',
  // High enough that nothing is refused: the bench times the admitted path.
  RATE_LIMIT_IP_LOGINS_PER_MINUTE: '1000000',
  RATE_LIMIT_ORG_SENDS_PER_MINUTE: '1000000',
  RATE_LIMIT_USER_CHALLENGES_PER_HOUR: '1000000',
  RATE_LIMIT_DESTINATION_SENDS_PER_HOUR: '1000000',
  RATE_LIMIT_ACCOUNT_FAILURES_PER_15_MIN: '1000000',
});
const services = createServices(config);
const limits = services.rateLimits;

try {
  const user = (i: number) => `user-${i % 500}`;
  const sends = (i: number) =>
    [
      ['user_challenges', user(i)],
      ['destination_sends', `+35840${1_000_000 + (i % 500)}`],
      ['org_sends', 'org-1'],
    ] as const;
  const ip = (i: number) => ['ip_logins', `10.0.${i % 200}.1`] as const;

  const challengesBefore = async () => {
    for (let i = 0; i < N; i++) {
      await limits.admit({ take: [ip(i)] });
      await limits.admit({ take: sends(i) });
    }
    return N;
  };
  const challengesAfter = async () => {
    for (let i = 0; i < N; i++) await limits.admit({ keep: [ip(i)], take: sends(i) });
    return N;
  };
  // The take before the password check is the same in both; what differs follows it.
  const loginsBefore = async () => {
    for (let i = 0; i < N; i++) {
      const refund = await limits.admit({ take: [ip(i), ['account_failures', user(i)]] });
      await refund.give(['account_failures']);
      await limits.admit({ take: sends(i) });
    }
    return N;
  };
  const loginsAfter = async () => {
    for (let i = 0; i < N; i++) {
      const refund = await limits.admit({ take: [ip(i), ['account_failures', user(i)]] });
      await limits.admit({ take: sends(i), giveBack: refund.claim(['account_failures']) });
    }
    return N;
  };

  printTable([
    await ab(
      'rate limits, POST /v1/challenges',
      { before: challengesBefore, after: challengesAfter },
      { rounds: ROUNDS },
    ),
    await ab(
      'rate limits, POST /v1/logins',
      { before: loginsBefore, after: loginsAfter },
      { rounds: ROUNDS },
    ),
  ]);
} finally {
  await closeServices(services);
}
