import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { parseClientIp } from '@twofa/core';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../lib/env.ts';
import { problem } from '../lib/errors.ts';
import type { Services } from '../lib/services.ts';
import { promptPages } from './interactions.tsx';
import { isProviderPath, PromptServer } from './provider.ts';

const FORWARDED_HEADERS = ['x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-for'];

export { appsRouter } from './apps-routes.ts';
export { PromptServer } from './provider.ts';
export { rotateSigningKeys } from './signing-keys.ts';

/**
 * The hosted prompt on the API's port: oidc-provider (Koa inside) answers its
 * own paths on the raw node request and response, and our pages are its
 * interactions. Outside development and test it stays off until
 * PUBLIC_BASE_URL names the issuer.
 */
export function createPrompt(services: Services) {
  const server = new PromptServer(services);
  if (!server.issuer) {
    services.logger.warn(
      'the hosted prompt is off: set PUBLIC_BASE_URL (its OpenID Connect issuer)',
    );
  }

  const mount: MiddlewareHandler<AppEnv> = async (c, next) => {
    if (!isProviderPath(c.req.path)) return next();
    if (!server.issuer) {
      return problem(c, 'not_found', 'The hosted prompt is off: PUBLIC_BASE_URL is not set.');
    }
    const bindings = c.env as Partial<HttpBindings> | undefined;
    if (!bindings?.incoming || !bindings.outgoing) {
      // app.request() has no node request to hand over; only a real server does.
      return problem(c, 'not_found', 'The hosted prompt answers over HTTP only.');
    }
    const { callback } = await server.provider();
    const { incoming, outgoing } = bindings;
    // The provider (Koa, proxy mode) believes X-Forwarded-Proto/Host, e.g. for its cookies'
    // Secure flag behind TLS offloading: only a TRUST_PROXY peer may set them.
    const peer = parseClientIp(incoming.socket.remoteAddress ?? '')?.toString();
    if (!peer || !services.trustedProxies.matches(peer)) {
      for (const name of FORWARDED_HEADERS) delete incoming.headers[name];
    }
    outgoing.setHeader('x-request-id', c.get('requestId'));
    if (services.lifecycle.draining) outgoing.setHeader('connection', 'close');
    await callback(incoming, outgoing);
    return RESPONSE_ALREADY_SENT;
  };

  return { server, mount, pages: promptPages(server) };
}
