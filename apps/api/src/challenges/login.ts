import { z } from '@hono/zod-openapi';
import { dummyPasswordHash, verifyPassword } from '@twofa/core';
import { loadLoginContext } from '@twofa/db';
import { createRouter, errors, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import { clientIpKey } from '../lib/rate-limits.ts';
import { ClientIp, DeviceToken, Email, LoginResult, Password } from '../lib/schemas.ts';
import { type ChallengeDeps, deviceTokenHash, type RequestLogger } from './deps.ts';
import { invalidCredentials } from './errors.ts';
import { decideAndStart, type LoginOutcome } from './start.ts';

export interface LoginInput {
  email: string;
  password: string;
  ip: string;
  deviceToken?: string | undefined;
}

/** `/v1/logins`: the password, then the policy, then a challenge if one is needed. */
export async function login(
  deps: ChallengeDeps,
  org: CachedOrganization,
  input: LoginInput,
  log: RequestLogger = {},
): Promise<LoginOutcome> {
  const { rateLimits, db } = deps;
  const accountKey = `${org.row.id}:${input.email.toLowerCase()}`;
  const tokenHash = deviceTokenHash(deps, input.deviceToken);
  // Password guessing is throttled per end-user address and per account: both points are taken
  // at once, atomically, before any hash is computed, so parallel guesses cannot all slip through.
  // The lookups run alongside; a refusal still lands before the hash.
  const [admitted, lookup, dummyHash] = await Promise.allSettled([
    rateLimits.admit({
      take: [
        ['ip_logins', clientIpKey(input.ip)],
        ['account_failures', accountKey],
      ],
    }),
    loadLoginContext(db.sql, org.row.id, { email: input.email }, tokenHash),
    // Awaited on every path, so the one-time cost of making it lands on known and unknown emails alike.
    dummyPasswordHash(),
  ]);
  if (admitted.status === 'rejected') throw admitted.reason;
  const refund = admitted.value;
  if (lookup.status === 'rejected' || dummyHash.status === 'rejected') {
    // Nothing was checked: the account's point is not a failure.
    await refund.give(['account_failures']);
    throw lookup.status === 'rejected'
      ? lookup.reason
      : (dummyHash as PromiseRejectedResult).reason;
  }
  const context = lookup.value;
  // Unknown emails and users without a password cost the same hash as a wrong password.
  const stored = context?.user.passwordHash ?? dummyHash.value;
  const ok = await verifyPassword(input.password, stored);
  // A wrong password keeps the account's point; a right one gives it back, in the same
  // round trip as the start's own points.
  if (!ok || !context?.user.passwordHash) throw invalidCredentials();
  return decideAndStart(deps, { org, ip: input.ip, log, deviceTokenHash: tokenHash }, context, {
    giveBack: refund.claim(['account_failures']),
  });
}

const loginRoute = orgRoute({
  method: 'post',
  path: '/v1/logins',
  tags: ['Logins'],
  operationId: 'login',
  summary: 'Check a password, then start the second step if the policy asks for one',
  description:
    'A wrong email or password is 401 invalid_credentials, the same answer and timing for both. Limits: ip_logins (30 a minute per end-user ip) and account_failures (10 wrong passwords per account per 15 minutes), both taken before the password is checked.',
  request: {
    body: jsonBody(
      z.object({
        email: Email,
        password: Password,
        ip: ClientIp,
        deviceToken: DeviceToken.optional(),
      }),
    ),
  },
  responses: {
    200: jsonResponse(LoginResult, 'Authenticated, or a challenge to complete'),
    ...errors(400, 422, 423, 429, 503),
  },
});

export const loginsRouter = createRouter().openapi(loginRoute, async (c) => {
  const { email, password, ip, deviceToken } = c.req.valid('json');
  const outcome = await c
    .get('services')
    .challenges.login(
      c.get('organization'),
      { email, password, ip, deviceToken },
      { logger: c.get('logger') },
    );
  return c.json(outcome, 200);
});
