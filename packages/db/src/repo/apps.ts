import type { Sql } from '../client.ts';
import { inTransaction } from '../client.ts';
import { recordAudit } from './audit.ts';

/** A hosted-prompt app (an OpenID Connect client); its secret only as a keyed hash. */
export interface AppRow {
  id: string;
  organizationId: string;
  clientId: string;
  name: string;
  redirectUris: string[];
  createdAt: Date;
}

/** What the authorization server needs to know of a client. */
export interface AppClientRow extends AppRow {
  clientSecretHash: string;
}

const columns = (sql: Sql) => sql`
  id, organization_id as "organizationId", client_id as "clientId", name,
  redirect_uris as "redirectUris", created_at as "createdAt"`;

interface AuditContext {
  actor: string;
  ip: string | null;
}

/** Registers an app and audits it (`app_created`) in one transaction. */
export async function createPromptApp(
  sql: Sql,
  input: {
    organizationId: string;
    clientId: string;
    name: string;
    redirectUris: string[];
    clientSecretHash: string;
  } & AuditContext,
): Promise<AppRow> {
  return inTransaction(sql, async (tx) => {
    const [app] = await tx<AppRow[]>`
      insert into apps (organization_id, client_id, name, redirect_uris, client_secret_hash)
      values (${input.organizationId}, ${input.clientId}, ${input.name},
        ${tx.array(input.redirectUris)}, ${input.clientSecretHash})
      returning ${columns(tx)}`;
    if (!app) throw new Error('insert into apps returned no row');
    await recordAudit(tx, {
      organizationId: input.organizationId,
      type: 'app_created',
      actor: input.actor,
      ip: input.ip,
      data: {
        appId: app.id,
        clientId: app.clientId,
        name: app.name,
        redirectUris: app.redirectUris,
      },
    });
    return app;
  });
}

/** The organization's live apps, oldest first. */
export async function listPromptApps(sql: Sql, organizationId: string): Promise<AppRow[]> {
  return sql<AppRow[]>`
    select ${columns(sql)} from apps
    where organization_id = ${organizationId} and deleted_at is null
    order by created_at, id`;
}

/** A live app of this organization, or null (another organization's app is not found). */
export async function getPromptApp(
  sql: Sql,
  organizationId: string,
  appId: string,
): Promise<AppRow | null> {
  const [app] = await sql<AppRow[]>`
    select ${columns(sql)} from apps
    where organization_id = ${organizationId} and id = ${appId} and deleted_at is null`;
  return app ?? null;
}

/** The live app a client id names, with its secret's hash: the authorization server's lookup. */
export async function findPromptAppByClientId(
  sql: Sql,
  clientId: string,
): Promise<AppClientRow | null> {
  const [app] = await sql<AppClientRow[]>`
    select ${columns(sql)}, client_secret_hash as "clientSecretHash" from apps
    where client_id = ${clientId} and deleted_at is null`;
  return app ?? null;
}

/**
 * Deletes an app (a tombstone keeps its client id from ever being reused).
 * Its pending requests, codes and grants stop working at once: every
 * endpoint of the authorization server, and the prompt's pages, look the
 * client up here first, and a deleted one is no client. Audited as `app_deleted` in the same
 * transaction. False when no live app of this organization has that id.
 */
export async function deletePromptApp(
  sql: Sql,
  input: { organizationId: string; appId: string } & AuditContext,
): Promise<boolean> {
  return inTransaction(sql, async (tx) => {
    const [app] = await tx<{ clientId: string }[]>`
      update apps set deleted_at = now(), updated_at = now()
      where organization_id = ${input.organizationId} and id = ${input.appId}
        and deleted_at is null
      returning client_id as "clientId"`;
    if (!app) return false;
    await recordAudit(tx, {
      organizationId: input.organizationId,
      type: 'app_deleted',
      actor: input.actor,
      ip: input.ip,
      data: { appId: input.appId, clientId: app.clientId },
    });
    return true;
  });
}

/**
 * Moves an app's secret from its hash under an earlier APP_SECRET to its hash
 * under the current one (the same secret: not a rotation, not audited), only if
 * the stored hash is still the old one.
 */
export async function rehashPromptAppSecret(
  sql: Sql,
  input: { clientId: string; oldHash: string; newHash: string },
): Promise<void> {
  await sql`
    update apps set client_secret_hash = ${input.newHash}
    where client_id = ${input.clientId} and client_secret_hash = ${input.oldHash}
      and deleted_at is null`;
}

/** Replaces an app's secret hash (the old secret stops working), audited as `app_secret_rotated`. */
export async function rotatePromptAppSecret(
  sql: Sql,
  input: { organizationId: string; appId: string; clientSecretHash: string } & AuditContext,
): Promise<boolean> {
  return inTransaction(sql, async (tx) => {
    const [app] = await tx<{ clientId: string }[]>`
      update apps set client_secret_hash = ${input.clientSecretHash}, updated_at = now()
      where organization_id = ${input.organizationId} and id = ${input.appId}
        and deleted_at is null
      returning client_id as "clientId"`;
    if (!app) return false;
    await recordAudit(tx, {
      organizationId: input.organizationId,
      type: 'app_secret_rotated',
      actor: input.actor,
      ip: input.ip,
      data: { appId: input.appId, clientId: app.clientId },
    });
    return true;
  });
}
