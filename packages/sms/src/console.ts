import { randomUUID } from 'node:crypto';
import type { ProviderMessage, SmsMessage, SmsProvider, SmsSent } from './provider.ts';

export interface ConsoleLogger {
  info(obj: object, msg: string): void;
}

export interface ConsoleProviderOptions {
  logger?: ConsoleLogger;
  /** How many messages the dev inbox keeps; older ones are dropped. */
  capacity?: number;
}

export interface ConsoleSms extends SmsMessage {
  providerMessageId: string;
  sentAt: Date;
}

export interface ConsoleSmsProvider extends SmsProvider {
  readonly name: 'console';
  /** The dev inbox, newest first. */
  messages(): ConsoleSms[];
  findMessages(query: { to: string; since: Date }): Promise<ProviderMessage[]>;
}

const defaultLogger: ConsoleLogger = {
  info: (obj, msg) => console.info(msg, obj),
};

/**
 * Development only: prints each message, code included, so a developer can log in without a
 * phone. createSmsProvider refuses it in production.
 */
export function createConsoleProvider(opts: ConsoleProviderOptions = {}): ConsoleSmsProvider {
  const logger = opts.logger ?? defaultLogger;
  const capacity = opts.capacity ?? 100;
  const inbox: ConsoleSms[] = [];

  return {
    name: 'console',

    async send({ to, body, sendId }: SmsMessage): Promise<SmsSent> {
      const sms: ConsoleSms = {
        to,
        body,
        sendId,
        providerMessageId: `console-${randomUUID()}`,
        sentAt: new Date(),
      };
      inbox.unshift(sms);
      if (inbox.length > capacity) inbox.length = capacity;
      logger.info({ to, body, sendId, providerMessageId: sms.providerMessageId }, `SMS to ${to}`);
      // No delivery receipt will ever come, so report the final state right away.
      return { providerMessageId: sms.providerMessageId, status: 'sent' };
    },

    messages: () => [...inbox],

    // The inbox is the console's own record (as far as its capacity reaches).
    async findMessages({ to, since }) {
      return inbox
        .filter((m) => m.to === to && m.sentAt >= since)
        .map((m) => ({
          providerMessageId: m.providerMessageId,
          to: m.to,
          body: m.body,
          status: 'sent',
          createdAt: m.sentAt,
          sentAt: m.sentAt,
          statusCallback: null,
        }));
    },

    async balance() {
      return null;
    },
  };
}
