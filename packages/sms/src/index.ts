import type { ConsoleInbox, ConsoleLogger, ConsoleSmsProvider } from './console.ts';
import { createConsoleProvider } from './console.ts';
import type { TwilioSmsProvider } from './twilio.ts';
import { createTwilioProvider } from './twilio.ts';

export * from './console.ts';
export * from './provider.ts';
export * from './signature.ts';
export * from './status-callback.ts';
export * from './twilio.ts';
export * from './twilio-http.ts';

export type SmsProviderName = 'twilio' | 'console';

/** SMS_PROVIDER as createSmsProvider resolves it: Twilio when its credentials are set, else the console. */
export function resolveSmsProviderName(config: {
  provider?: SmsProviderName | undefined;
  accountSid?: string | undefined;
  authToken?: string | undefined;
}): SmsProviderName {
  return config.provider ?? (config.accountSid && config.authToken ? 'twilio' : 'console');
}

export interface SmsConfig {
  /** SMS_PROVIDER; when absent, Twilio if its credentials are set, else the console. */
  provider?: SmsProviderName;
  /** NODE_ENV */
  nodeEnv?: string;
  twilio?: {
    accountSid?: string;
    authToken?: string;
    from?: string;
    apiBaseUrl?: string;
    /** PUBLIC_BASE_URL */
    statusCallbackBaseUrl?: string;
    timeoutMs?: number;
  };
  /** Where the console provider writes. */
  logger?: ConsoleLogger;
  /** Where the console provider keeps messages for the dev inbox page. */
  inbox?: ConsoleInbox;
}

export function createSmsProvider(config: SmsConfig): TwilioSmsProvider | ConsoleSmsProvider {
  const { accountSid, authToken, from, ...rest } = config.twilio ?? {};
  const provider = resolveSmsProviderName({ provider: config.provider, accountSid, authToken });

  switch (provider) {
    case 'twilio':
      if (!accountSid || !authToken || !from) {
        throw new Error(
          'SMS provider twilio needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_FROM',
        );
      }
      return createTwilioProvider({ accountSid, authToken, from, ...rest });
    case 'console':
      if (config.nodeEnv === 'production') {
        // It prints codes to the log, and the codes never reach the users.
        throw new Error(
          'SMS provider console is refused when NODE_ENV=production; configure Twilio',
        );
      }
      return createConsoleProvider({ logger: config.logger, inbox: config.inbox });
    default:
      throw new Error(`Unknown SMS provider "${provider satisfies never}"`);
  }
}
