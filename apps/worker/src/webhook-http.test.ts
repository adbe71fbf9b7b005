import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { postWebhook, WEBHOOK_MAX_RESPONSE_BYTES } from './webhook-http.ts';

/** Servers on loopback only; each test's is closed after it. */
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server!.address() as AddressInfo).port;
}

const LOOPBACK = { address: '127.0.0.1', family: 4 };

const post = (port: number, path = '/in', timeoutMs = 2_000, addresses = [LOOPBACK]) =>
  postWebhook({
    // A name nothing resolves: the connection must go to the given address.
    url: new URL(`http://hooks.invalid:${port}${path}`),
    addresses,
    headers: { 'webhook-id': 'evt_1' },
    body: '{"id":"evt_1"}',
    timeoutMs,
  });

describe('postWebhook', () => {
  it('connects to the checked address and names the host in Host', async () => {
    let host: string | undefined;
    const port = await serve((req, res) => {
      host = req.headers.host;
      res.writeHead(204).end();
    });
    expect(await post(port)).toEqual({ statusCode: 204, error: null });
    expect(host).toBe(`hooks.invalid:${port}`);
  });

  it('follows no redirect', async () => {
    const paths: string[] = [];
    const port = await serve((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(307, { location: '/elsewhere' }).end();
    });
    expect(await post(port)).toEqual({ statusCode: 307, error: 'HTTP 307' });
    expect(paths).toEqual(['/in']);
  });

  it('reads at most 64 KiB of an answer that never ends', async () => {
    let written = 0;
    const port = await serve((_req, res) => {
      res.writeHead(200);
      const chunk = Buffer.alloc(16 * 1024, 120);
      const pump = () => {
        while (written < 1_000 * WEBHOOK_MAX_RESPONSE_BYTES) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      pump();
    });
    expect(await post(port, '/in', 60_000)).toEqual({ statusCode: 200, error: null });
    // Stopped long before the server could write it all.
    expect(written).toBeLessThan(1_000 * WEBHOOK_MAX_RESPONSE_BYTES);
  });

  it('gives up at the deadline when no answer comes', async () => {
    const port = await serve(() => {});
    const answer = await post(port, '/in', 300);
    expect(answer).toEqual({ statusCode: null, error: 'no answer within 300 ms' });
  });

  it('tries the next checked address when one refuses the connection', async () => {
    // The server listens on 127.0.0.1 only: 127.0.0.2 (loopback too) refuses.
    const port = await serve((req, res) => {
      res.writeHead(req.socket.localAddress === '127.0.0.1' ? 204 : 500).end();
    });
    const refusing = { address: '127.0.0.2', family: 4 };
    expect(await post(port, '/in', 2_000, [refusing, LOOPBACK])).toEqual({
      statusCode: 204,
      error: null,
    });
    // Only checked addresses: none is looked up, nor is any other tried.
    const answer = await post(port, '/in', 2_000, [refusing, { address: '127.0.0.3', family: 4 }]);
    expect(answer.statusCode).toBeNull();
    expect(answer.error).toMatch(/ECONNREFUSED 127\.0\.0\.2.*ECONNREFUSED 127\.0\.0\.3/);
  });

  it('reports a refused connection', async () => {
    const port = await serve((_req, res) => res.end());
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const answer = await post(port);
    expect(answer.statusCode).toBeNull();
    expect(answer.error).toMatch(/ECONNREFUSED/);
  });
});
