import { z } from '@hono/zod-openapi';
import { dummyPasswordHash, verifyPassword } from '@twofa/core';
import { loadLoginContext } from '@twofa/db';
import { createRouter, errors, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import { accountFailuresKey, clientIpKey } from '../lib/rate-limits.ts';
import { ClientIp, DeviceToken, Email, LoginResult, Password } from '../lib/schemas.ts';
import { type ChallengeDeps, deviceTokenHash, type RequestLogger } from './deps.ts';
import { invalidCredentials } from './errors.ts';
import { decideAndStart, type LoginOutcome } from './start.ts';

export interface LoginInput {
  email: string;
  password: string;
  /** The end user's address: the per-address limit and the records. */
  ip: string;
  /**
   * The address the skip networks may match, when it is not `ip`: null when nobody
   * vouches for the address (the pages behind a proxy missing from TRUST_PROXY).
   */
  networkIp?: string | null | undefined;
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
  const tokenHash = deviceTokenHash(deps, input.deviceToken);
  // Emails are ASCII (the API's own rule): any other finds no account, whatever the database's
  // lower() would make of it (`İ` is not `i`), and is answered as a wrong password.
  const email = Email.safeParse(input.email);
  // The account is found first, so its limit keys on the account, never on the text typed.
  // The dummy hash is made alongside: awaited on every path, so the one-time cost of making it
  // lands on known and unknown emails alike.
  const [context, dummyHash] = await Promise.all([
    email.success ? loadLoginContext(db.sql, org.row.id, { email: email.data }, tokenHash) : null,
    dummyPasswordHash(),
  ]);
  // Password guessing is throttled per end-user address and per account: both points are taken
  // at once, atomically, before any hash is computed, so parallel guesses cannot all slip through.
  const refund = await rateLimits.admit({
    take: [
      ['ip_logins', clientIpKey(input.ip)],
      [
        'account_failures',
        accountFailuresKey(
          context
            ? { userId: context.user.id }
            : { organizationId: org.row.id, email: email.data ?? input.email },
        ),
      ],
    ],
  });
  // Unknown emails and users without a password cost the same hash as a wrong password.
  const stored = context?.user.passwordHash ?? dummyHash;
  const ok = await verifyPassword(input.password, stored);
  // A wrong password keeps the account's point; a right one gives it back, in the same
  // round trip as the start's own points.
  if (!ok || !context?.user.passwordHash) throw invalidCredentials();
  return decideAndStart(
    deps,
    { org, ip: input.ip, networkIp: input.networkIp, log, deviceTokenHash: tokenHash },
    context,
    { giveBack: refund.claim(['account_failures']) },
  );
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
