/**
 * The fake SMS provider for the bench, as a child process: the repo's fake Twilio (answering at
 * once), plus an IPC feed of what it took so the load generator can learn codes and provider
 * receive times without polling the fake over HTTP. The codes stay in memory, never on disk.
 */
import { type FakeTwilioMessage, startFakeTwilio } from '@twofa/sms/fake-twilio';
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
  // The fake keeps every message in an array it pushes to. Hook that push so each message is
  // forwarded as soon as the fake took it (batched per tick), then forgotten, so memory stays
  // flat and nothing polls.
  const taken = fake.messages as FakeTwilioMessage[];
  const push = taken.push.bind(taken);
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const batch = taken.splice(0).map((m) => ({
      to: m.to,
      body: m.body,
      receivedAt: m.receivedAt.getTime(),
      sendId: sendIdOf(m.statusCallback),
    }));
    if (batch.length) send({ type: 'messages', batch });
  };
  taken.push = (...items: FakeTwilioMessage[]) => {
    const length = push(...items);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
    return length;
  };
  send({ type: 'ready', url: fake.url });
  const stop = () => void fake.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

await main();
