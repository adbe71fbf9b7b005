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

const SECRET = new Set(SECRET_KEYS);
const PHONE = new Set(PHONE_KEYS);
/** The levels searched: `k` to `a.b.c.k`, in the object given to the logger or a child's bindings. */
const MAX_DEPTH = 4;

/** pino's error fields (type, message, stack, causes, own properties), without the raw error. */
function plainError(err: Error): Record<string, unknown> {
  const { raw: _raw, ...fields } = pino.stdSerializers.err(err) as unknown as Record<
    string,
    unknown
  >;
  return fields;
}

/**
 * A copy of `value` with every secret key's value replaced and every phone key's value masked,
 * in the first MAX_DEPTH levels (arrays count as a level, as their items' keys do); the value
 * itself when there is nothing to change, so the common line is not copied at all. One pass
 * over the keys: pino's own `redact` with wildcard paths for each of these keys at three levels
 * (three levels) cost 70 to 130 µs a line, most of an API request's own CPU (measured by a lever
 * benchmark since retired, with the figure recorded here).
 */
export function redactSecrets<T>(value: T, depth = 1): T {
  if (value === null || typeof value !== 'object' || depth > MAX_DEPTH) return value;
  if (value instanceof Error) return redactSecrets(plainError(value), depth) as T;
  if (Array.isArray(value)) {
    let out: unknown[] | null = null;
    value.forEach((item, i) => {
      const next = redactSecrets(item, depth + 1);
      if (next === item) return;
      out ??= [...value];
      out[i] = next;
    });
    return (out ?? value) as T;
  }
  let out: Record<string, unknown> | null = null;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    const next = SECRET.has(key)
      ? '[redacted]'
      : PHONE.has(key)
        ? maskPhoneValue(item)
        : redactSecrets(item, depth + 1);
    if (next === item) continue;
    out ??= { ...(value as Record<string, unknown>) };
    out[key] = next;
  }
  return (out ?? value) as T;
}

/**
 * One JSON line per event. Secrets are removed wherever they sit in the first
 * four levels, of the line and of a child logger's bindings; phone numbers are
 * masked. An error is serialized first (pino's error serializer), so its own
 * fields are searched too. Messages (`msg`) are written by us and never interpolate a secret.
 */
export function createLogger(
  options: { name: string; level?: string; destination?: DestinationStream } = { name: 'twofa' },
): Logger {
  const logger = pino(
    {
      name: options.name,
      level: options.level ?? process.env.LOG_LEVEL ?? 'info',
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => redactSecrets(object),
      },
      // Errors were serialized by the redaction above, wherever they sat.
      serializers: { err: (value: unknown) => value },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    // Synchronous writes to stdout (pino.destination's default). pino's own default for stdout
    // writes asynchronously and, on process.exit, flushes only what is still queued: a line whose
    // write is under way is lost, such as the `stopped` that ends a shutdown.
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
  // pino gives a child's bindings to no formatter: redact them as the child is made. Children
  // inherit this `child` through their prototype, so grandchildren are covered too.
  const child = logger.child;
  logger.child = function redactedChild(this: Logger, bindings, childOptions) {
    return child.call(this, redactSecrets(bindings), childOptions);
  } as Logger['child'];
  return logger;
}
