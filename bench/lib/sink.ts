/**
 * The fake SMS provider for the bench, as a child process: the repo's fake Twilio (answering at
 * once), plus an IPC feed of what it took so the load generator can learn codes and provider
 * receive times without polling the fake over HTTP. The codes stay in memory, never on disk.
 */
import { startFakeTwilio } from '@twofa/sms/fake-twilio';
import { FAKE_TWILIO_ACCOUNT_SID, FAKE_TWILIO_AUTH_TOKEN } from './constants.ts';

export interface SinkMessage {
  to: string;
  body: string;
  /** Epoch ms at which the fake took the message. */
  receivedAt: number;
  /** From the status callback URL, when the sender set one (ours does, with PUBLIC_BASE_URL). */
  sendId: string | null;
}

export type SinkEvent = { type: 'ready'; url: string } | { type: 'messages'; batch: SinkMessage[] };

function sendIdOf(callback: string | null): string | null {
  if (!callback) return null;
  return new URL(callback).searchParams.get('sendId');
}

async function main(): Promise<void> {
  const fake = await startFakeTwilio({
    accountSid: FAKE_TWILIO_ACCOUNT_SID,
    authToken: FAKE_TWILIO_AUTH_TOKEN,
  });
  const send = (event: SinkEvent) => process.send?.(event);
  // The fake keeps every message; forward and forget them so memory stays flat.
  const timer = setInterval(() => {
    if (fake.messages.length === 0) return;
    const batch = fake.messages.map((m) => ({
      to: m.to,
      body: m.body,
      receivedAt: m.receivedAt.getTime(),
      sendId: sendIdOf(m.statusCallback),
    }));
    fake.reset();
    send({ type: 'messages', batch });
  }, 1);
  send({ type: 'ready', url: fake.url });
  const stop = () => {
    clearInterval(timer);
    void fake.close().finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

await main();
