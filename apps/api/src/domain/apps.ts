/**
 * Hosted-prompt apps as one use case for the JSON routes and the admin page: the input
 * rules (the contract's redirect URI rule, name and count limits), the client id and
 * secret issued, and the repository calls that store and audit each change.
 */
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
import { ApiError } from '../lib/errors.ts';
import type { Services } from '../lib/services.ts';
import { isAllowedRedirectUri } from '../prompt/redirect-uris.ts';

/** The body of `POST /v1/apps`, and what the admin page's form must also satisfy. */
export const AppInput = z.object({
  name: z.string().trim().min(1).max(100),
  redirectUris: z.array(z.string().max(2000)).min(1).max(10).openapi({
    description:
      '1 to 10 absolute URLs: https, or http on localhost, 127.0.0.1 or [::1] (any port), no fragment. A request must name one of them exactly.',
  }),
});
export type AppInput = z.infer<typeof AppInput>;

/** Who changed an app, for the audit log. */
export interface AppActor {
  actor: string;
  ip: string | null;
}

/** A new client secret: the value to show once and the hash to store. */
export function issueClientSecret(appSecret: string): { secret: string; hash: string } {
  const secret = generateToken('tfa_cs');
  return { secret, hash: hashClientSecret(appSecret, secret) };
}

/** The keyed hash stored for a client secret, and what a presented secret is compared as. */
export function hashClientSecret(appSecret: string, secret: string): string {
  return hashSecret(appSecret, 'client-secret', secret);
}

/** Each redirect URI outside the contract's rule, by its index; empty when all are good. */
export function redirectUriErrors(uris: readonly string[]): { index: number; uri: string }[] {
  return uris.flatMap((uri, index) => (isAllowedRedirectUri(uri) ? [] : [{ index, uri }]));
}

/** Registers an app; its client secret is in the answer and nowhere else. */
export async function registerApp(
  services: Services,
  organizationId: string,
  input: AppInput,
  by: AppActor,
): Promise<{ app: AppRow; clientSecret: string }> {
  const [bad] = redirectUriErrors(input.redirectUris);
  if (bad) {
    throw new ApiError(
      'invalid_redirect_uri',
      `${JSON.stringify(bad.uri)} is not an allowed redirect URI: an absolute https URL, or http on localhost, 127.0.0.1 or [::1], without a fragment.`,
      { redirectUri: bad.uri },
    );
  }
  const { secret, hash } = issueClientSecret(services.config.appSecret);
  const app = await createPromptApp(services.db.sql, {
    organizationId,
    // Public, but unguessable so client ids say nothing about how many apps exist.
    clientId: `app_${randomBytes(12).toString('hex')}`,
    name: input.name,
    redirectUris: [...new Set(input.redirectUris)],
    clientSecretHash: hash,
    ...by,
  });
  return { app, clientSecret: secret };
}

export function listApps(services: Services, organizationId: string): Promise<AppRow[]> {
  return listPromptApps(services.db.sql, organizationId);
}

/** A new secret for an app of this organization (the old one stops working), or null. */
export async function rotateAppSecret(
  services: Services,
  organizationId: string,
  appId: string,
  by: AppActor,
): Promise<string | null> {
  const { secret, hash } = issueClientSecret(services.config.appSecret);
  const rotated = await rotatePromptAppSecret(services.db.sql, {
    organizationId,
    appId,
    clientSecretHash: hash,
    ...by,
  });
  return rotated ? secret : null;
}

/** Deletes an app of this organization with its pending requests and codes; false if none. */
export function removeApp(
  services: Services,
  organizationId: string,
  appId: string,
  by: AppActor,
): Promise<boolean> {
  return deletePromptApp(services.db.sql, { organizationId, appId, ...by });
}
