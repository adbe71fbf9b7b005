import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Masks all but the country prefix and last two digits of anything phone-like. */
function maskPhoneValue(value: unknown): unknown {
  if (typeof value !== 'string' || value.length < 6) return value;
  return `${value.slice(0, Math.min(6, value.length - 4))}${'*'.repeat(Math.max(0, value.length - 8))}${value.slice(-2)}`;
}

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
  // Configuration objects: these carry credentials.
  'APP_SECRET',
  'ADMIN_API_KEY',
  'METRICS_TOKEN',
  'TWILIO_AUTH_TOKEN',
  'DATABASE_URL',
  'REDIS_URL',
];
const PHONE_KEYS = ['phone', 'to', 'To', 'destination'];

function paths(keys: string[]): string[] {
  return keys.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);
}

/**
 * One JSON line per event. Secrets are removed wherever they sit in the first
 * three levels; phone numbers are masked. Messages (`msg`) are written by us
 * and never interpolate a secret.
 */
export function createLogger(
  options: { name: string; level?: string; destination?: DestinationStream } = { name: 'twofa' },
): Logger {
  const phonePaths = paths(PHONE_KEYS);
  return pino(
    {
      name: options.name,
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      redact: {
        paths: [...paths(SECRET_KEYS), ...phonePaths],
        censor: (value: unknown, path: unknown[]) =>
          PHONE_KEYS.includes(String(path[path.length - 1] ?? ''))
            ? maskPhoneValue(value)
            : '[redacted]',
      },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
