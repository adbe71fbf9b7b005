import {
  consumeOidcPayload,
  type Database,
  destroyOidcPayload,
  findOidcPayload,
  findOidcPayloadByUid,
  findPromptAppByClientId,
  type OidcPayloadRow,
  revokeOidcGrant,
  upsertOidcPayload,
} from '@twofa/db';
import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';

/**
 * How the code comes back: `303` to the redirect URI with it in the query.
 * oidc-provider always registers `fragment` and `form_post` too (and its
 * discovery names them): each client's `response_modes` refuses them, and
 * provider.ts corrects discovery to this list.
 */
export const RESPONSE_MODES = ['query'] as const;

/** Our own record beside the provider's, in its table: what the prompt decided, by grant. */
export const DECISION_KIND = 'PromptDecision';
/** The prompt's progress through one interaction (its challenge), by interaction uid. */
export const PROMPT_STATE_KIND = 'PromptState';
/** Which interaction a pushed request was first opened in, by the request's id. */
export const PAR_CLAIM_KIND = 'PromptRequestClaim';

function toPayload(row: OidcPayloadRow | null): AdapterPayload | undefined {
  if (!row) return undefined;
  const payload = row.payload as AdapterPayload;
  return row.consumedAt
    ? { ...payload, consumed: Math.floor(row.consumedAt.getTime() / 1000) }
    : payload;
}

/**
 * The Client model reads the apps table: a deleted app is no client at once.
 * The secret is only its keyed hash; the provider compares a presented secret
 * through Client.prototype.compareClientSecret, which provider.ts replaces
 * with a hash-and-compare (the way oidc-provider's author suggests for hashed
 * secrets, panva/node-oidc-provider#631). Nothing here signs or encrypts with
 * the client secret: HS* algorithms are off, so its hash is never used as a key.
 */
async function findClient(db: Database, clientId: string): Promise<AdapterPayload | undefined> {
  const app = await findPromptAppByClientId(db.sql, clientId);
  if (!app) return undefined;
  return {
    client_id: app.clientId,
    client_secret: app.clientSecretHash,
    client_name: app.name,
    redirect_uris: app.redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    // `fragment` and `form_post` are refused: invalid_request at the pushed request.
    response_modes: [...RESPONSE_MODES],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
    application_type: 'web',
  };
}

/** oidc-provider's storage on Postgres: one table, one model kind per `name`. */
export function postgresAdapter(db: Database) {
  return class PostgresAdapter implements Adapter {
    constructor(readonly name: string) {}

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.name === 'Client') throw new Error('clients are registered through /v1/apps');
      await upsertOidcPayload(db.sql, {
        kind: this.name,
        id,
        payload: payload as Record<string, unknown>,
        grantId: payload.grantId ?? null,
        uid: payload.uid ?? null,
        expiresInSeconds: expiresIn ? expiresIn : null,
      });
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.name === 'Client') return findClient(db, id);
      return toPayload(await findOidcPayload(db.sql, this.name, id));
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return toPayload(await findOidcPayloadByUid(db.sql, this.name, uid));
    }

    async findByUserCode(): Promise<undefined> {
      // The device flow is off: there are no user codes.
      return undefined;
    }

    async consume(id: string): Promise<void> {
      const first = await consumeOidcPayload(db.sql, this.name, id);
      // The provider checks `consumed` on the row it read, then consumes: two redemptions of one
      // code in flight at once both pass that check. The guarded update lets only one through.
      if (!first && this.name === 'AuthorizationCode') {
        throw new errors.InvalidGrant('authorization code already consumed');
      }
    }

    async destroy(id: string): Promise<void> {
      await destroyOidcPayload(db.sql, this.name, id);
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await revokeOidcGrant(db.sql, grantId);
    }
  };
}
