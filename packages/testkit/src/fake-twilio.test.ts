import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createTwilioProvider } from '@twofa/sms';
import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import { startFakeTwilio } from './fake-twilio.ts';

const message = { to: '+358401234567', body: 'code 123456', sendId: 'send-42' };

describe('fake Twilio', () => {
  it('answers 401 to a wrong or missing basic auth, and counts it', async () => {
    const fake = await startFakeTwilio();
    try {
      const res = await fetch(`${fake.url}/2010-04-01/Accounts/${fake.accountSid}/Messages.json`, {
        method: 'POST',
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toMatchObject({ code: 20003, status: 401 });
      expect(fake.requestCount).toBe(1);
    } finally {
      await fake.close();
    }
  });

  it('sends a status callback that the SDK validates', async () => {
    const received: { url: string; signature: string; params: Record<string, string> }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req
        .on('data', (chunk) => (body += chunk))
        .on('end', () => {
          const port = (receiver.address() as AddressInfo).port;
          received.push({
            url: `http://127.0.0.1:${port}${req.url}`,
            signature: String(req.headers['x-twilio-signature']),
            params: Object.fromEntries(new URLSearchParams(body)),
          });
          res.writeHead(204).end();
        });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const fake = await startFakeTwilio();
    try {
      const { port } = receiver.address() as AddressInfo;
      const provider = createTwilioProvider({
        accountSid: fake.accountSid,
        authToken: fake.authToken,
        from: '+15005550006',
        apiBaseUrl: fake.url,
        statusCallbackBaseUrl: `http://127.0.0.1:${port}`,
      });
      const { providerMessageId } = await provider.send(message);

      const answer = await fake.sendStatusCallback(providerMessageId, 'undelivered', {
        errorCode: 30003,
      });

      expect(answer.status).toBe(204);
      const [callback] = received;
      expect(callback?.url).toContain('/webhooks/twilio/status?sendId=send-42');
      expect(callback?.params).toMatchObject({
        MessageSid: providerMessageId,
        MessageStatus: 'undelivered',
        ErrorCode: '30003',
        To: message.to,
      });
      const { url, signature, params } = callback!;
      expect(twilio.validateRequest(fake.authToken, signature, url, params)).toBe(true);
      expect(twilio.validateRequest('other-token', signature, url, params)).toBe(false);
    } finally {
      await fake.close();
      receiver.close();
    }
  });

  it('runs standalone and is driven over /__control', async () => {
    const script = fileURLToPath(new URL('./fake-twilio.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const { url, accountSid, authToken } = JSON.parse(line) as {
        url: string;
        accountSid: string;
        authToken: string;
      };
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const control = (path: string, body?: object) =>
        fetch(`${url}/__control/${path}`, {
          method: body ? 'POST' : 'GET',
          ...(body && { body: JSON.stringify(body) }),
        }).then((r) => r.json());

      await control('mode', { kind: 'error', status: 400, code: 21610, times: 1 });
      const provider = createTwilioProvider({
        accountSid,
        authToken,
        from: '+1555',
        apiBaseUrl: url,
      });
      await expect(provider.send(message)).rejects.toMatchObject({
        kind: 'rejected',
        errorCode: '21610',
      });
      await provider.send(message);

      expect(await control('stats')).toEqual({
        requestCount: 2,
        messageCount: 1,
        mode: { kind: 'ok' },
      });
      expect(await control('messages')).toMatchObject([{ to: message.to, body: message.body }]);
      expect(
        await fetch(`${url}/__control/mode`, { method: 'POST', body: '{"kind":"nope"}' }).then(
          (r) => r.status,
        ),
      ).toBe(400);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
