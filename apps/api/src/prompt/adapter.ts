import { hashesUnder, hashSecret } from '@twofa/core';
import { type Database, findPromptAppByClientId } from '@twofa/db';
import type { Logger } from '@twofa/observability';
import { type Adapter, type AdapterPayload, errors } from 'oidc-provider';
import { unavailability } from '../lib/http.ts';
import type { PromptStore, StoredModel } from './store.ts';

/**
 * How the code comes back: `303` to the redirect URI with it in the query.
 * oidc-provider always registers `fragment` and `form_post` too (and its
 * discovery names them): each client's `response_modes` refuses them, and
 * provider.ts corrects discovery to this list.
 */
export const RESPONSE_MODES = ['query'] as const;

/** Our own record beside the provider's, in its store: what the prompt decided, by grant. */
export const DECISION_KIND = 'PromptDecision';
/** The prompt's progress through one interaction (its challenge), by interaction uid. */
export const PROMPT_STATE_KIND = 'PromptState';
/** Which interaction a pushed request was first opened in, by the request's id. */
export const PAR_CLAIM_KIND = 'PromptRequestClaim';

/**
 * Models whose id is a bearer secret of its own: the code an app redeems, the
 * tokens it gets. They are stored under a keyed hash of the id, without the id
 * (`jti`) in the payload, so the store never holds one in clear. (A session's
 * or interaction's id is only good with the cookie signed under APP_SECRET,
 * and a pushed request's with the client's secret; they are found by uid too.)
 */
const SECRET_ID_KINDS = new Set(['AuthorizationCode', 'AccessToken', 'RefreshToken']);

function toPayload(model: StoredModel | null, jti?: string): AdapterPayload | undefined {
  if (!model) return undefined;
  const payload = (jti === undefined ? model.payload : { ...model.payload, jti }) as AdapterPayload;
  return model.consumedAt === null ? payload : { ...payload, consumed: model.consumedAt };
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

/**
 * Postgres or Redis did not answer: `temporarily_unavailable` (RFC 6749), a
 * 503 that names itself. oidc-provider shows any error of status 500 or more as
 * `server_error`, so this one is marked exposed. Nothing was decided: the app
 * (or the browser) may try the same request again once they answer.
 */
export class PromptUnavailable extends errors.OIDCProviderError {
  override error_description = 'the service is briefly unavailable; try again shortly';
  constructor(cause: Error) {
    super(503, 'temporarily_unavailable');
    Object.assign(this, { expose: true, cause });
  }
}

/** The store's or the apps table's answer, or PromptUnavailable when they did not answer. */
export async function answered<T>(work: Promise<T>, logger: Logger, model: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    if (!unavailability(error)) throw error;
    logger.warn({ err: (error as Error).message, model }, 'prompt state unavailable');
    throw new PromptUnavailable(error as Error);
  }
}

/**
 * oidc-provider's storage: its short-lived models in Redis (store.ts), one
 * kind per `name`; the Client model from the apps table in Postgres.
 */
export function promptAdapter(
  db: Database,
  store: PromptStore,
  appSecrets: readonly string[],
  logger: Logger,
) {
  const [appSecret = '', ...previousSecrets] = appSecrets;
  return class PromptAdapter implements Adapter {
    readonly #secretIds: boolean;

    constructor(readonly name: string) {
      this.#secretIds = SECRET_ID_KINDS.has(name);
    }

    #answered<T>(work: Promise<T>): Promise<T> {
      return answered(work, logger, this.name);
    }

    /** The store's id of a model: its own, or the keyed hash of a secret one. */
    #id(id: string): string {
      return this.#secretIds ? hashSecret(appSecret, 'oidc-token', id) : id;
    }

    /**
     * The store's ids a secret model may have been stored under before APP_SECRET
     * rotated (a code issued in the minute before still redeems); none otherwise.
     */
    #previousIds(id: string): string[] {
      return this.#secretIds ? hashesUnder(previousSecrets, 'oidc-token', id) : [];
    }

    async upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void> {
      if (this.name === 'Client') throw new Error('clients are registered through /v1/apps');
      let stored = payload as Record<string, unknown>;
      if (this.#secretIds) {
        const { jti: _jti, ...rest } = stored;
        stored = rest;
      }
      await this.#answered(
        store.upsert(this.name, this.#id(id), stored, expiresIn, {
          grantId: payload.grantId,
          uid: payload.uid,
        }),
      );
    }

    async find(id: string): Promise<AdapterPayload | undefined> {
      if (this.name === 'Client') return this.#answered(findClient(db, id));
      let model = await this.#answered(store.find(this.name, this.#id(id)));
      for (const previous of this.#previousIds(id)) {
        model ??= await this.#answered(store.find(this.name, previous));
      }
      return toPayload(model, this.#secretIds ? id : undefined);
    }

    async findByUid(uid: string): Promise<AdapterPayload | undefined> {
      return toPayload(await this.#answered(store.findByUid(this.name, uid)));
    }

    async findByUserCode(): Promise<undefined> {
      // The device flow is off: there are no user codes.
      return undefined;
    }

    async consume(id: string): Promise<void> {
      let first = await this.#answered(store.consume(this.name, this.#id(id)));
      for (const previous of this.#previousIds(id)) {
        first ||= await this.#answered(store.consume(this.name, previous));
      }
      // The provider checks `consumed` on the model it read, then consumes: two redemptions of one
      // code in flight at once both pass that check. The atomic mark lets only one through.
      if (!first && this.name === 'AuthorizationCode') {
        throw new errors.InvalidGrant('authorization code already consumed');
      }
    }

    async destroy(id: string): Promise<void> {
      for (const stored of [this.#id(id), ...this.#previousIds(id)]) {
        await this.#answered(store.destroy(this.name, stored));
      }
    }

    async revokeByGrantId(grantId: string): Promise<void> {
      await this.#answered(store.revokeByGrantId(grantId));
    }
  };
}
