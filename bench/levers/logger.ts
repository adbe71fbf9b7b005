/**
 * Lever: the logger's redaction. Before: pino's own `redact` with a wildcard path for each
 * secret and phone key at three levels (`k`, `*.k`, `*.*.k`), as packages/observability had it,
 * kept here for the A/B only. After: `createLogger` as it is (one pass over the line's keys).
 * Each op is one API access line from a request's child logger, the line every request writes,
 * to a destination that drops it; a tenth of the ops is a worker's job line with an error.
 *
 *   node --import tsx bench/levers/logger.ts        LEVERS_N=20000 LEVERS_ROUNDS=10
 */
import { createLogger, type Logger } from '@twofa/observability';
import { pino } from 'pino';
import { ab, intEnv, printTable } from './ab.ts';

const N = intEnv('LEVERS_N', 20_000);
const ROUNDS = intEnv('LEVERS_ROUNDS', 10);

const SECRET_KEYS = [
  'password',
  'passwordHash',
  'code',
  'codeHash',
  'token',
  'deviceToken',
  'deviceTokenHash',
  'apiKey',
  'authorization',
  'Authorization',
  'cookie',
  'secret',
  'authToken',
  'body',
  'keyHash',
  'apiKeyHash',
  'appSecret',
  'adminApiKey',
  'signature',
  'x-twilio-signature',
  'APP_SECRET',
  'ADMIN_API_KEY',
  'METRICS_TOKEN',
  'TWILIO_AUTH_TOKEN',
  'DATABASE_URL',
  'REDIS_URL',
];
const PHONE_KEYS = ['phone', 'to', 'To', 'destination'];
const paths = (keys: string[]) => keys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

const drop = { write: (_line: string) => {} };

function oldLogger(): Logger {
  return pino(
    {
      name: 'api',
      level: 'info',
      redact: {
        paths: [...paths(SECRET_KEYS), ...paths(PHONE_KEYS)],
        censor: (value: unknown, path: unknown[]) =>
          PHONE_KEYS.includes(String(path.at(-1) ?? '')) && typeof value === 'string'
            ? `${value.slice(0, 6)}***${value.slice(-2)}`
            : '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    drop,
  );
}

function lines(base: Logger) {
  return async () => {
    for (let i = 0; i < N; i++) {
      const log = base.child({ requestId: `req-${i}` });
      if (i % 10 === 0) {
        log.warn(
          { jobId: String(i), sendId: 'b4f0c3a2', err: new Error('provider unavailable') },
          'send failed; retrying',
        );
      } else {
        log.info(
          {
            method: 'POST',
            route: '/v1/challenges',
            status: 200,
            durationMs: 3.2,
            remoteAddress: '203.0.113.10',
            organizationId: '6f1c2a4e-0b7d-4c55-9a2e-5f8d1c3b7a90',
          },
          'request',
        );
      }
    }
    return N;
  };
}

const result = await ab(
  'access line (+10% error lines)',
  { before: lines(oldLogger()), after: lines(createLogger({ name: 'api', destination: drop })) },
  { rounds: ROUNDS },
);
printTable([result]);
