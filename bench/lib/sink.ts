/**
 * The fake SMS provider for the bench, as a child process: the repo's fake Twilio (answering at
 * once), plus an IPC feed of what it took so the load generator can learn codes and provider
 * receive times without polling the fake over HTTP. The codes stay in memory, never on disk.
 */
import { type FakeTwilioMessage, startFakeTwilio } from '@twofa/testkit';
import { FAKE_TWILIO_ACCOUNT_SID, FAKE_TWILIO_AUTH_TOKEN } from './constants.ts';

export interface SinkMessage {
  /** The fake's message sid, which a delivery receipt names. */
  sid: string;
  to: string;
  body: string;
  /** Epoch ms at which the fake took the message. */
  receivedAt: number;
  /** From the status callback URL, when the sender set one (ours does, with PUBLIC_BASE_URL). */
  sendId: string | null;
}

export type SinkEvent =
  | { type: 'ready'; url: string }
  | { type: 'messages'; batch: SinkMessage[] }
  /** The answer to a receipt command: the HTTP status the API gave the status callback. */
  | { type: 'receipted'; sid: string; status: number | null; error?: string };

/** Asks the fake to post a signed delivery receipt (its status callback) for a message it took. */
export type SinkCommand = { type: 'receipt'; sid: string; status: string };

/** Messages kept for receipts: the newest ones, so memory stays bounded. */
const KEEP_FOR_RECEIPTS = 20_000;

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
  const recent = new Map<string, FakeTwilioMessage>();
  const flush = () => {
    scheduled = false;
    const messages = taken.splice(0);
    for (const m of messages) {
      if (!m.statusCallback) continue;
      recent.set(m.sid, m);
      if (recent.size > KEEP_FOR_RECEIPTS) recent.delete(recent.keys().next().value as string);
    }
    const batch = messages.map((m) => ({
      sid: m.sid,
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
  // The fake signs and posts a receipt only for a message in its list: put the message back for
  // the synchronous lookup at the start of sendStatusCallback, and out again before anything
  // else can run (a flush would otherwise forward it a second time).
  process.on('message', (cmd: SinkCommand) => {
    if (cmd.type !== 'receipt') return;
    const message = recent.get(cmd.sid);
    if (!message) {
      send({ type: 'receipted', sid: cmd.sid, status: null, error: 'no such message kept' });
      return;
    }
    recent.delete(cmd.sid);
    push(message);
    const posted = fake.sendStatusCallback(cmd.sid, cmd.status);
    taken.splice(taken.indexOf(message), 1);
    posted.then(
      (res) => send({ type: 'receipted', sid: cmd.sid, status: res.status }),
      (error: unknown) =>
        send({ type: 'receipted', sid: cmd.sid, status: null, error: (error as Error).message }),
    );
  });
  send({ type: 'ready', url: fake.url });
  const stop = () => void fake.close().finally(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('disconnect', stop);
}

await main();
