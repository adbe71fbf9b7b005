/**
 * Lever: the Twilio SDK's HTTP client. Sends messages through the real SDK to the repo's
 * fake Twilio (its own process, so only the client's CPU is counted here), with the SDK's
 * axios RequestClient (before: what the provider used, base-URL rewrite included) and with
 * UndiciRequestClient (after), in alternating rounds.
 *
 *   node --import tsx bench/levers/twilio-client.ts
 *   LEVERS_N=2000 LEVERS_ROUNDS=6 LEVERS_CONCURRENCY=16
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { UndiciRequestClient } from '@twofa/sms';
import twilio from 'twilio';
import type { RequestOptions } from 'twilio/lib/base/RequestClient';
import { ab, intEnv, pooled, printTable } from './ab.ts';

const N = intEnv('LEVERS_N', 2000);
const ROUNDS = intEnv('LEVERS_ROUNDS', 6);
const CONCURRENCY = intEnv('LEVERS_CONCURRENCY', 16);
const TIMEOUT_MS = 10_000;

/** The provider's client before this lever, kept here for the A/B only. */
class AxiosBaseUrlRequestClient extends twilio.RequestClient {
  readonly #baseUrl: string;
  constructor(baseUrl: string) {
    super({ timeout: TIMEOUT_MS, autoRetry: false });
    this.#baseUrl = baseUrl;
  }
  override request<TData>(opts: RequestOptions<TData>) {
    const original = new URL(opts.uri);
    return super.request({
      ...opts,
      uri: `${this.#baseUrl}${original.pathname}${original.search}`,
    });
  }
}

async function startFake() {
  const script = fileURLToPath(
    new URL('../../packages/testkit/src/fake-twilio.ts', import.meta.url),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`fake Twilio exited (${code})`)));
  });
  const info = JSON.parse(first) as { url: string; accountSid: string; authToken: string };
  return { ...info, stop: () => child.kill('SIGTERM') };
}

const fake = await startFake();
try {
  const round = (client: ReturnType<typeof twilio>) => () =>
    pooled(N, CONCURRENCY, async (i) => {
      const sent = await client.messages.create({
        to: `+35840${String(1_000_000 + (i % 900_000))}`,
        from: '+15005550006',
        body: `Your verification code is ${String(i).padStart(6, '0')}.`,
        statusCallback: `https://2fa.example.com/webhooks/twilio/status?sendId=bench-${i}`,
      });
      if (!sent.sid) throw new Error('no sid');
    });
  const before = twilio(fake.accountSid, fake.authToken, {
    httpClient: new AxiosBaseUrlRequestClient(fake.url),
  });
  const undici = new UndiciRequestClient({ baseUrl: fake.url, timeoutMs: TIMEOUT_MS });
  const after = twilio(fake.accountSid, fake.authToken, { httpClient: undici });
  const result = await ab(
    `Twilio send (SDK, ${CONCURRENCY} in flight)`,
    { before: round(before), after: round(after) },
    { rounds: ROUNDS },
  );
  printTable([result]);
  await undici.close();
} finally {
  fake.stop();
}
