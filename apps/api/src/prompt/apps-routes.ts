import { randomBytes } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import { generateToken, hashSecret } from '@twofa/core';
import {
  type AppRow,
  createPromptApp,
  deletePromptApp,
  listPromptApps,
  rotatePromptAppSecret,
} from '@twofa/db';
import { ApiError, notFound } from '../lib/errors.ts';
import { clientAddress, parseId } from '../lib/http.ts';
import { createRouter, errors, IdParam, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import { isAllowedRedirectUri } from './redirect-uris.ts';

const tags = ['Apps'];
const AppParams = IdParam('appId');

export const App = z
  .object({
    id: z.string(),
    clientId: z.string(),
    name: z.string(),
    redirectUris: z.array(z.string()),
    createdAt: z.string(),
  })
  .openapi('App');

const ClientSecret = z.string().openapi({
  description: 'The client secret, shown this once: only its keyed hash is stored.',
});

const AppBody = z.object({
  name: z.string().trim().min(1).max(100),
  redirectUris: z.array(z.string().max(2000)).min(1).max(10).openapi({
    description:
      '1 to 10 absolute URLs: https, or http on localhost, 127.0.0.1 or [::1] (any port), no fragment. A request must name one of them exactly.',
  }),
});

const postApp = orgRoute({
  method: 'post',
  path: '/v1/apps',
  tags,
  operationId: 'createApp',
  summary: 'Register an app for the hosted prompt (an OpenID Connect client)',
  description:
    'Answers the client secret once; audit event app_created. A redirect URI outside the rule is 422 invalid_redirect_uri naming it.',
  request: { body: jsonBody(AppBody) },
  responses: {
    201: jsonResponse(App.extend({ clientSecret: ClientSecret }), 'Registered'),
    ...errors(400, 422),
  },
});

const listApps = orgRoute({
  method: 'get',
  path: '/v1/apps',
  tags,
  operationId: 'listApps',
  summary: "The organization's apps",
  responses: { 200: jsonResponse(z.object({ apps: z.array(App) }), 'The apps, oldest first') },
});

const deleteApp = orgRoute({
  method: 'delete',
  path: '/v1/apps/{appId}',
  tags,
  operationId: 'deleteApp',
  summary: 'Delete an app',
  description:
    'Its secret, pending authorization requests and unredeemed codes stop working at once; audit event app_deleted.',
  request: { params: AppParams },
  responses: { 204: { description: 'Deleted' }, ...errors(404) },
});

const rotateSecret = orgRoute({
  method: 'post',
  path: '/v1/apps/{appId}/secret',
  tags,
  operationId: 'rotateAppSecret',
  summary: "Replace an app's client secret",
  description: 'The old secret stops working at once; audit event app_secret_rotated.',
  request: { params: AppParams },
  responses: {
    201: jsonResponse(z.object({ clientSecret: ClientSecret }), 'The new secret, shown once'),
    ...errors(404),
  },
});

export function appJson(app: AppRow) {
  return {
    id: app.id,
    clientId: app.clientId,
    name: app.name,
    redirectUris: app.redirectUris,
    createdAt: app.createdAt.toISOString(),
  };
}

/** A new client secret: the value to show once and the hash to store. */
export function issueClientSecret(appSecret: string): { secret: string; hash: string } {
  const secret = generateToken('tfa_cs');
  return { secret, hash: hashClientSecret(appSecret, secret) };
}

export function hashClientSecret(appSecret: string, secret: string): string {
  return hashSecret(appSecret, 'client-secret', secret);
}

export const appsRouter = createRouter();

appsRouter.openapi(postApp, async (c) => {
  const body = c.req.valid('json');
  const services = c.get('services');
  for (const uri of body.redirectUris) {
    if (!isAllowedRedirectUri(uri)) {
      throw new ApiError(
        'invalid_redirect_uri',
        `${JSON.stringify(uri)} is not an allowed redirect URI: an absolute https URL, or http on localhost, 127.0.0.1 or [::1], without a fragment.`,
        { redirectUri: uri },
      );
    }
  }
  const { secret, hash } = issueClientSecret(services.config.appSecret);
  const app = await createPromptApp(services.db.sql, {
    organizationId: c.get('organizationId'),
    // Public, but unguessable so client ids say nothing about how many apps exist.
    clientId: `app_${randomBytes(12).toString('hex')}`,
    name: body.name,
    redirectUris: [...new Set(body.redirectUris)],
    clientSecretHash: hash,
    actor: 'organization_key',
    ip: clientAddress(c),
  });
  return c.json({ ...appJson(app), clientSecret: secret }, 201);
});

appsRouter.openapi(listApps, async (c) => {
  const apps = await listPromptApps(c.get('services').db.sql, c.get('organizationId'));
  return c.json({ apps: apps.map(appJson) }, 200);
});

appsRouter.openapi(deleteApp, async (c) => {
  const appId = parseId(c.req.valid('param').appId, 'App');
  const deleted = await deletePromptApp(c.get('services').db.sql, {
    organizationId: c.get('organizationId'),
    appId,
    actor: 'organization_key',
    ip: clientAddress(c),
  });
  if (!deleted) throw notFound('App');
  return c.body(null, 204);
});

appsRouter.openapi(rotateSecret, async (c) => {
  const appId = parseId(c.req.valid('param').appId, 'App');
  const services = c.get('services');
  const { secret, hash } = issueClientSecret(services.config.appSecret);
  const rotated = await rotatePromptAppSecret(services.db.sql, {
    organizationId: c.get('organizationId'),
    appId,
    clientSecretHash: hash,
    actor: 'organization_key',
    ip: clientAddress(c),
  });
  if (!rotated) throw notFound('App');
  return c.json({ clientSecret: secret }, 201);
});
