/** Helpers shared by the security tests: extra API instances, a real socket, a full login. */
import { randomInt } from 'node:crypto';
import type { Server } from 'node:http';
import { serve } from '@hono/node-server';
import { type App, closeServices, createApp, createServices, type Services } from '@twofa/api';
import type { RawEnv } from '@twofa/config';
import { expect } from 'vitest';
import {
  captureLogs,
  type Harness,
  type JsonResponse,
  type LogCapture,
  type RequestOptions,
  readJson,
  requestInit,
} from '../support/index.ts';

export const PASSWORD = 'correct horse battery staple';
export const END_USER_IP = '203.0.113.9';

/** A Finnish mobile number no other test uses. */
export function finnishMobile(): string {
  return `+35840${String(randomInt(0, 10_000_000)).padStart(7, '0')}`;
}

/** app.request() with the harness's conventions, for apps the harness did not build. */
export async function requestOn(
  app: App,
  method: string,
  path: string,
  options: RequestOptions = {},
): Promise<JsonResponse> {
  return readJson(await app.request(path, requestInit(method, options)));
}

export interface Instance {
  app: App;
  services: Services;
  logs: LogCapture;
  request(method: string, path: string, options?: RequestOptions): Promise<JsonResponse>;
  close(): Promise<void>;
}

/**
 * Another API process's worth of services on the harness's database, Redis
 * and queue prefix, with some settings changed: what a second replica behind
 * the load balancer (or a differently configured deployment) would be.
 */
export function anotherInstance(h: Harness, env: Partial<RawEnv> = {}): Instance {
  const config = { ...h.config, env: { ...h.config.env, DB_POOL_SIZE: 2, ...env } };
  const logs = captureLogs('api-2');
  const services = createServices(config, { clock: h.clock, logger: logs.logger });
  const app = createApp(services);
  return {
    app,
    services,
    logs,
    request: (method, path, options) => requestOn(app, method, path, options),
    close: () => closeServices(services),
  };
}

export interface Listening {
  url: string;
  fetch(method: string, path: string, options?: RequestOptions): Promise<JsonResponse>;
  close(): Promise<void>;
}

/**
 * Serves an app on a real socket (127.0.0.1, a free port): app.request() has
 * no connection, so the socket address only exists this way.
 */
export async function listen(app: App): Promise<Listening> {
  let server: Server | undefined;
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(info.port),
    ) as Server;
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    fetch: async (method, path, options = {}) =>
      readJson(await fetch(`${url}${path}`, requestInit(method, options))),
    close: () =>
      new Promise<void>((resolve) => {
        server?.closeAllConnections();
        server?.close(() => resolve());
      }),
  };
}

/** The code of the next SMS to `phone` after `seen` messages to it had arrived. */
export async function nextCode(h: Harness, phone: string, seen: number): Promise<string> {
  return h.waitFor(async () => {
    const messages = h.twilio.messages.filter((m) => m.to === phone);
    if (messages.length <= seen) return null;
    return /\b(\d{6})\b/.exec(messages[messages.length - 1]?.body ?? '')?.[1] ?? null;
  });
}

export function messagesTo(h: Harness, phone: string): number {
  return h.twilio.messages.filter((m) => m.to === phone).length;
}

/**
 * A whole login: password, SMS code (read from the fake Twilio), verify.
 * Needs a harness with a worker, 2FA on and credits.
 */
export async function fullLogin(
  h: Harness,
  apiKey: string,
  user: { email: string; password?: string; phone: string },
): Promise<{ userId: string; challengeId: string; code: string; deviceToken: string }> {
  const seen = messagesTo(h, user.phone);
  const start = await h.request('POST', '/v1/logins', {
    key: apiKey,
    body: { email: user.email, password: user.password ?? PASSWORD, ip: END_USER_IP },
  });
  expect(start.status, JSON.stringify(start.body)).toBe(200);
  expect(start.body.result).toBe('challenge_required');
  const challengeId: string = start.body.challenge.id;
  const code = await nextCode(h, user.phone, seen);
  const verify = await h.request('POST', `/v1/challenges/${challengeId}/verify`, {
    key: apiKey,
    body: { code },
  });
  expect(verify.status, JSON.stringify(verify.body)).toBe(200);
  return {
    userId: start.body.userId,
    challengeId,
    code,
    deviceToken: verify.body.deviceToken,
  };
}
