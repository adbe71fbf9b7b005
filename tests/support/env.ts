/** The secrets and environment every test deployment shares, in-process or as child processes. */

export const ADMIN_KEY = 'test-platform-key-0123456789';
export const APP_SECRET = 'test-app-secret-0123456789abcdef';
/** What the fake Twilio is started with and the app is configured with. */
export const FAKE_TWILIO = {
  accountSid: 'AC00000000000000000000000000000000',
  authToken: 'fake-twilio-auth-token',
} as const;

export function testEnv(
  databaseUrl: string,
  queuePrefix: string,
  twilioUrl: string,
  extra: Record<string, string> = {},
) {
  return {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    QUEUE_PREFIX: queuePrefix,
    ADMIN_API_KEY: ADMIN_KEY,
    APP_SECRET,
    SMS_PROVIDER: 'twilio',
    TWILIO_ACCOUNT_SID: FAKE_TWILIO.accountSid,
    TWILIO_AUTH_TOKEN: FAKE_TWILIO.authToken,
    TWILIO_FROM: '+15005550006',
    TWILIO_API_BASE_URL: twilioUrl,
    TWILIO_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'debug',
    WORKER_CONCURRENCY: '10',
    RECONCILE_INTERVAL_MS: '500',
    // Off when the suite runs through PgBouncer (TEST_DATABASE_VIA=pgbouncer).
    ...(process.env.DATABASE_PREPARED_STATEMENTS && {
      DATABASE_PREPARED_STATEMENTS: process.env.DATABASE_PREPARED_STATEMENTS,
    }),
    ...extra,
  };
}
