/**
 * The clinic registers itself with twofa as an app (an OpenID Connect client) through the
 * typed JSON API client, with the organization's API key. twofa shows a client secret only
 * once, so an app already registered under this name and redirect URI gets a fresh secret
 * instead of a second registration.
 */
import { createTwofaClient } from '@twofa/client';

export async function registerClinic(options: {
  twofaUrl: string;
  apiKey: string;
  name: string;
  redirectUri: string;
}): Promise<{ clientId: string; clientSecret: string }> {
  const twofa = createTwofaClient({ baseUrl: options.twofaUrl, apiKey: options.apiKey });
  const listed = await twofa.GET('/v1/apps');
  if (!listed.data) throw new Error(`GET /v1/apps: ${JSON.stringify(listed.error)}`);
  const existing = listed.data.apps.find(
    (app) => app.name === options.name && app.redirectUris.includes(options.redirectUri),
  );
  if (existing) {
    const rotated = await twofa.POST('/v1/apps/{appId}/secret', {
      params: { path: { appId: existing.id } },
    });
    if (!rotated.data)
      throw new Error(`POST /v1/apps/{appId}/secret: ${JSON.stringify(rotated.error)}`);
    return { clientId: existing.clientId, clientSecret: rotated.data.clientSecret };
  }
  const created = await twofa.POST('/v1/apps', {
    body: { name: options.name, redirectUris: [options.redirectUri] },
  });
  if (!created.data) throw new Error(`POST /v1/apps: ${JSON.stringify(created.error)}`);
  return { clientId: created.data.clientId, clientSecret: created.data.clientSecret };
}
