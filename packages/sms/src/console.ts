import { randomUUID } from 'node:crypto';
import type { ProviderMessage, SmsMessage, SmsProvider, SmsSent } from './provider.ts';

export interface ConsoleLogger {
  info(obj: object, msg: string): void;
}

/**
 * Where the console provider also keeps each message for the dev inbox page.
 * The provider runs in the worker and the page in the API process, so the
 * inbox must live where both reach: see createRedisSmsInbox.
 */
export interface ConsoleInbox {
  push(sms: ConsoleSms): Promise<void>;
}

export interface ConsoleProviderOptions {
  logger?: ConsoleLogger;
  /** A shared inbox (the dev SMS page reads it); a failure to write it never fails the send. */
  inbox?: ConsoleInbox | undefined;
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
      // Not awaited: a Redis that is away must not hold up (or fail) the send.
      opts.inbox?.push(sms).catch(() => {});
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

/** The commands of a Redis client the dev inbox uses (ioredis has them). */
export interface InboxRedis {
  lpush(key: string, value: string): Promise<unknown>;
  ltrim(key: string, start: number, stop: number): Promise<unknown>;
  expire(key: string, seconds: number): Promise<unknown>;
  lrange(key: string, start: number, stop: number): Promise<string[]>;
}

export const DEV_INBOX_CAPACITY = 100;
/** A day: the inbox is for trying the flow, not a record. */
export const DEV_INBOX_TTL_SECONDS = 24 * 60 * 60;

/** The inbox key, under the deployment's queue prefix so deployments sharing a Redis stay apart. */
export function devInboxKey(prefix: string): string {
  return `${prefix}:dev-sms`;
}

/**
 * The dev inbox in Redis: a capped list (LPUSH + LTRIM, newest first) that
 * expires a day after the last message. Redis, not Postgres: both processes
 * already hold a connection to it, nothing needs a migration, and a list
 * that trims and expires itself needs no cleanup job.
 */
export function createRedisSmsInbox(
  redis: InboxRedis,
  prefix: string,
): ConsoleInbox & { list(limit?: number): Promise<ConsoleSms[]> } {
  const key = devInboxKey(prefix);
  return {
    async push(sms) {
      await redis.lpush(key, JSON.stringify(sms));
      await redis.ltrim(key, 0, DEV_INBOX_CAPACITY - 1);
      await redis.expire(key, DEV_INBOX_TTL_SECONDS);
    },
    async list(limit = DEV_INBOX_CAPACITY) {
      const items = await redis.lrange(key, 0, limit - 1);
      return items.map((item) => {
        const parsed = JSON.parse(item) as ConsoleSms & { sentAt: string };
        return { ...parsed, sentAt: new Date(parsed.sentAt) };
      });
    },
  };
}
