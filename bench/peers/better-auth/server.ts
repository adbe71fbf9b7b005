/**
 * The peer: better-auth 1.7 with its twoFactor plugin, OTP delivered by `sendOTP` through the
 * official Twilio SDK to the bench's fake Twilio, on the same Postgres as the service. Its own
 * rate limiter is off (as ours is raised out of the way). Started by bench/run.ts; prints
 * nothing until ready, then answers on PORT.
 *
 * One bench-only route, POST /api/auth/bench/past-password { userId }, leaves exactly the state
 * the plugin's sign-in hook leaves after a right password (the two verification rows and the
 * signed two_factor cookie), so the second step can be measured without a password hash each.
 */
import { createServer } from 'node:http';
import { type BetterAuthPlugin, betterAuth } from 'better-auth';
import { createAuthEndpoint } from 'better-auth/api';
import { generateRandomString } from 'better-auth/crypto';
import { getMigrations } from 'better-auth/db/migration';
import { toNodeHandler } from 'better-auth/node';
import { twoFactor } from 'better-auth/plugins';
import { Pool } from 'pg';
import twilio from 'twilio';
import type { RequestOptions } from 'twilio/lib/base/RequestClient';
import * as z from 'zod';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};

const port = Number(env('PORT'));
const baseURL = `http://127.0.0.1:${port}`;
const twilioBase = new URL(env('TWILIO_API_BASE_URL'));

/** Same redirect as the service's provider: the SDK has no base-URL setting. */
class BaseUrlRequestClient extends twilio.RequestClient {
  override request<TData>(opts: RequestOptions<TData>) {
    const original = new URL(opts.uri);
    return super.request({
      ...opts,
      uri: `${twilioBase.origin}${original.pathname}${original.search}`,
    });
  }
}
const sms = twilio(env('TWILIO_ACCOUNT_SID'), env('TWILIO_AUTH_TOKEN'), {
  httpClient: new BaseUrlRequestClient({ timeout: 10_000, autoRetry: false }),
});
const from = env('TWILIO_FROM');

const TWO_FACTOR_COOKIE_MAX_AGE = 600;

const benchPastPassword = {
  id: 'bench-past-password',
  endpoints: {
    benchPastPassword: createAuthEndpoint(
      '/bench/past-password',
      { method: 'POST', body: z.object({ userId: z.string() }) },
      async (ctx) => {
        // Mirrors the twoFactor plugin's after-sign-in hook, minus the session it creates
        // and deletes again.
        const cookie = ctx.context.createAuthCookie('two_factor', {
          maxAge: TWO_FACTOR_COOKIE_MAX_AGE,
        });
        const identifier = `2fa-${generateRandomString(20)}`;
        const expiresAt = new Date(Date.now() + TWO_FACTOR_COOKIE_MAX_AGE * 1000);
        await ctx.context.internalAdapter.createVerificationValue({
          value: ctx.body.userId,
          identifier,
          expiresAt,
        });
        await ctx.context.internalAdapter.createVerificationValue({
          value: '0',
          identifier: `2fa-attempts-${identifier}`,
          expiresAt,
        });
        await ctx.setSignedCookie(cookie.name, identifier, ctx.context.secret, cookie.attributes);
        return ctx.json({ twoFactorRedirect: true });
      },
    ),
  },
} satisfies BetterAuthPlugin;

const auth = betterAuth({
  baseURL,
  secret: env('BETTER_AUTH_SECRET'),
  database: new Pool({ connectionString: env('DATABASE_URL'), max: Number(env('POOL_SIZE')) }),
  emailAndPassword: { enabled: true },
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
  logger: { level: 'error' },
  user: { additionalFields: { phone: { type: 'string', required: false } } },
  plugins: [
    twoFactor({
      twoFactorCookieMaxAge: TWO_FACTOR_COOKIE_MAX_AGE,
      otpOptions: {
        async sendOTP({ user, otp }) {
          const to = (user as { phone?: string | null }).phone;
          if (!to) throw new Error('user has no phone');
          await sms.messages.create({
            to,
            from,
            body: `Your verification code is ${otp}. It expires in 3 minutes.`,
          });
        },
      },
    }),
    benchPastPassword,
  ],
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const server = createServer(toNodeHandler(auth));
server.listen(port, '127.0.0.1', () => process.send?.({ type: 'ready', port }));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
