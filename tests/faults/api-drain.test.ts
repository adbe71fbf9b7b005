/**
 * A rolling deploy's SIGTERM: for SHUTDOWN_DRAIN_MS the API keeps serving but
 * fails its readiness check, so a load balancer stops routing to it, and each
 * answer closes its keep-alive connection, so no client keeps a socket the
 * stopping process is about to drop. Then it closes and exits 0.
 */
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { waitUntil, withStack } from '../support/index.ts';

const DRAIN_MS = 3_000;

const stack = withStack({
  workers: 0,
  env: { SHUTDOWN_DRAIN_MS: String(DRAIN_MS), SHUTDOWN_TIMEOUT_MS: '15000' },
});

interface Answer {
  status: number;
  connection: string | undefined;
  body: Record<string, unknown>;
  /** Which socket carried it: the same number twice means the connection was reused. */
  socket: number;
}

/** GET over one keep-alive agent, so reuse (or its end) is visible. */
function get(agent: Agent, url: string, sockets: Map<object, number>): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () => {
        const socket = req.socket as object;
        if (!sockets.has(socket)) sockets.set(socket, sockets.size + 1);
        resolve({
          status: res.statusCode ?? 0,
          connection: res.headers.connection,
          body: JSON.parse(text) as Record<string, unknown>,
          socket: sockets.get(socket)!,
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('an API process started from the repository root, as the image starts it', () => {
  it('renders its pages (hono/jsx, whatever the working directory)', async () => {
    const res = await fetch(`${stack.api!.url}/login`);
    expect(res.status).toBe(200);
    expect(await res.text()).toMatch(/<form[^>]*action="\/login"/);
  });
});

describe('SIGTERM with SHUTDOWN_DRAIN_MS', { timeout: 60_000 }, () => {
  it('fails /ready, keeps serving with Connection: close, then exits 0', async () => {
    const api = stack.api!;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Map<object, number>();
    try {
      const before = [
        await get(agent, `${api.url}/ready`, sockets),
        await get(agent, `${api.url}/health`, sockets),
      ];
      expect(before.map((a) => a.status)).toEqual([200, 200]);
      // Kept alive: both on one connection.
      expect(before.map((a) => a.socket)).toEqual([1, 1]);
      expect(before[0]!.connection).toBe('keep-alive');

      api.signal('SIGTERM');
      await waitUntil('the API to start draining', async () =>
        api.jsonLogs().some((l) => l.msg === 'draining: /ready answers 503, still serving'),
      );

      const ready = await get(agent, `${api.url}/ready`, sockets);
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({ code: 'not_ready', draining: true });
      expect(ready.connection).toBe('close');
      // Still serving, and every answer ends its connection: the next one is a new socket.
      const health = await get(agent, `${api.url}/health`, sockets);
      expect(health.status).toBe(200);
      expect(health.connection).toBe('close');
      expect(health.socket).toBeGreaterThan(ready.socket);
      expect(api.exit).toBeNull();

      expect(await api.exited).toEqual({ code: 0, signal: null });
      expect(api.jsonLogs().at(-1)?.msg).toBe('stopped');
    } finally {
      agent.destroy();
    }
  });
});
