/** A webhook receiver on loopback for tests: records each request, answers as told. */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What to do with a request: answer with a status (after a delay), or never answer. */
export type ReceiverAnswer = number | 'hang' | { status: number; delayMs: number };

export interface WebhookReceiver {
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedWebhook[];
  /** TCP connections accepted, answered or not. */
  readonly connections: number;
  /** Decides each answer (default 204); sees the requests so far, this one last. */
  answer: (request: ReceivedWebhook, index: number) => ReceiverAnswer;
  close(): Promise<void>;
}

export async function startWebhookReceiver(host = '127.0.0.1'): Promise<WebhookReceiver> {
  const hanging = new Set<() => void>();
  const receiver: WebhookReceiver = {
    url: '',
    port: 0,
    received: [],
    connections: 0,
    answer: () => 204,
    close: async () => {
      for (const end of hanging) end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = {
        path: req.url ?? '/',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      receiver.received.push(request);
      const answer = receiver.answer(request, receiver.received.length - 1);
      if (answer === 'hang') {
        const end = () => res.destroy();
        hanging.add(end);
        res.on('close', () => hanging.delete(end));
        return;
      }
      const reply = (status: number) =>
        res.writeHead(status, { 'content-type': 'text/plain' }).end('ok');
      if (typeof answer === 'number') return reply(answer);
      const timer = setTimeout(() => reply(answer.status), answer.delayMs);
      const end = () => {
        clearTimeout(timer);
        res.destroy();
      };
      hanging.add(end);
      res.on('close', () => hanging.delete(end));
    });
  });
  server.on('connection', () => {
    (receiver as { connections: number }).connections++;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  Object.assign(receiver, { port, url: `http://${host}:${port}` });
  return receiver;
}
