import { z } from '@hono/zod-openapi';
import type { AppRow } from '@twofa/db';
import { AppInput, listApps, registerApp, removeApp, rotateAppSecret } from '../domain/apps.ts';
import { notFound } from '../lib/errors.ts';
import { organizationKeyActor, parseId } from '../lib/http.ts';
import { createRouter, errors, IdParam, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';

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

const postApp = orgRoute({
  method: 'post',
  path: '/v1/apps',
  tags,
  operationId: 'createApp',
  summary: 'Register an app for the hosted prompt (an OpenID Connect client)',
  description:
    'Answers the client secret once; audit event app_created. A redirect URI outside the rule is 422 invalid_redirect_uri naming it.',
  request: { body: jsonBody(AppInput) },
  responses: {
    201: jsonResponse(App.extend({ clientSecret: ClientSecret }), 'Registered'),
    ...errors(400, 422),
  },
});

const getApps = orgRoute({
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

export const appsRouter = createRouter();

appsRouter.openapi(postApp, async (c) => {
  const { app, clientSecret } = await registerApp(
    c.get('services'),
    c.get('organizationId'),
    c.req.valid('json'),
    organizationKeyActor(c),
  );
  return c.json({ ...appJson(app), clientSecret }, 201);
});

appsRouter.openapi(getApps, async (c) => {
  const apps = await listApps(c.get('services'), c.get('organizationId'));
  return c.json({ apps: apps.map(appJson) }, 200);
});

appsRouter.openapi(deleteApp, async (c) => {
  const appId = parseId(c.req.valid('param').appId, 'App');
  const deleted = await removeApp(
    c.get('services'),
    c.get('organizationId'),
    appId,
    organizationKeyActor(c),
  );
  if (!deleted) throw notFound('App');
  return c.body(null, 204);
});

appsRouter.openapi(rotateSecret, async (c) => {
  const appId = parseId(c.req.valid('param').appId, 'App');
  const clientSecret = await rotateAppSecret(
    c.get('services'),
    c.get('organizationId'),
    appId,
    organizationKeyActor(c),
  );
  if (clientSecret === null) throw notFound('App');
  return c.json({ clientSecret }, 201);
});
