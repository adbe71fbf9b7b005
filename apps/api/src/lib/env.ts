import type { Logger } from '@twofa/observability';
import type { CachedOrganization } from './org-cache.ts';
import type { Services } from './services.ts';

export type Principal = { kind: 'platform' } | { kind: 'organization'; organizationId: string };

/** What every handler can reach through the context: injected, never imported. */
export interface AppEnv {
  Variables: {
    services: Services;
    requestId: string;
    logger: Logger;
    principal: Principal;
    organizationId: string;
    /** The authenticated organization, loaded once by the auth middleware. */
    organization: CachedOrganization;
  };
}
