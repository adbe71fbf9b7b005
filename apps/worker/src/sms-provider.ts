import type { Config } from '@twofa/config';
import { type ConsoleInbox, createSmsProvider, type SmsProvider } from '@twofa/sms';

/** `inbox`: where the console provider also keeps messages for the dev inbox page (/dev/sms). */
export function smsProviderFromConfig(config: Config, inbox?: ConsoleInbox): SmsProvider {
  const env = config.env;
  return createSmsProvider({
    provider: env.SMS_PROVIDER,
    nodeEnv: env.NODE_ENV,
    twilio: {
      accountSid: env.TWILIO_ACCOUNT_SID,
      authToken: env.TWILIO_AUTH_TOKEN,
      from: env.TWILIO_FROM,
      apiBaseUrl: env.TWILIO_API_BASE_URL,
      statusCallbackBaseUrl: env.PUBLIC_BASE_URL,
      timeoutMs: env.TWILIO_TIMEOUT_MS,
    },
    ...(inbox ? { inbox } : {}),
    // The console provider is the development inbox: it prints the message, code
    // included, straight to stdout, outside the structured (redacted) log.
    // createSmsProvider refuses it when NODE_ENV=production.
    logger: {
      info: (obj) => {
        const { to, body } = obj as { to?: string; body?: string };
        process.stdout.write(`[console sms] to ${to}: ${body}\n`);
      },
    },
  });
}
