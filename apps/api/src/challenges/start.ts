import { z } from '@hono/zod-openapi';
import {
  type ChallengeView,
  CODE_TTL_MS,
  challengeMethods,
  challengeView,
  decideSecondFactor,
  newId,
  type SecondFactorMethod,
  type SkipReason,
  sendsSmsAtStart,
} from '@twofa/core';
import {
  createChallenge,
  type DeviceTokenHash,
  type IdempotentAnswer,
  type LoginContext,
  loadContextRecordingSkip,
  loadLoginContext,
  recordAudit,
  type SkipFacts,
} from '@twofa/db';
import { notFound } from '../lib/errors.ts';
import { parseId } from '../lib/http.ts';
import { IDEMPOTENCY_HEADER_DOC, IdempotencyHeaders, idempotent } from '../lib/idempotency.ts';
import { createRouter, errors, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import { type AdmissionPlan, clientIpKey, type LimitKey, type Refund } from '../lib/rate-limits.ts';
import { ClientIp, DeviceToken, LoginResult } from '../lib/schemas.ts';
import { type ChallengeDeps, deviceTokenHash, type RequestLogger } from './deps.ts';
import { RULES, tags } from './docs.ts';
import { userLocked } from './errors.ts';
import { assertDestinationAllowed } from './phone-rules.ts';
import { admitSend, queueSend, refundUnless } from './send.ts';

/** What a login or a challenge start answers: authenticated at once, or a challenge to finish. */
export type LoginOutcome =
  | { result: 'authenticated'; userId: string; reason: SkipReason }
  | { result: 'challenge_required'; userId: string; challenge: ChallengeView };

/** Who is starting, and how: the same for every attempt of one start. */
export interface StartRequest {
  org: CachedOrganization;
  /** The end user's address: the per-address limit and the records. */
  ip: string;
  /**
   * The address the skip networks may match, when it is not `ip`: null when nobody vouches
   * for it (the pages or the prompt behind a proxy missing from TRUST_PROXY).
   */
  networkIp?: string | null | undefined;
  log: RequestLogger;
  deviceTokenHash: DeviceTokenHash;
  /** Under an Idempotency-Key: the answer is stored by the challenge's own insert. */
  idempotency?: IdempotentAnswer | undefined;
}

/**
 * Rate-limit points the caller hands over, settled in the same round trip as
 * the start's own: whatever the start answers, `keep` is taken (`/v1/challenges`'
 * per-address point, as if taken before the start ran: the checks before the
 * send limits read only what is already loaded, so taking it later changes no
 * answer) and `giveBack` given back (a right password's account point), once.
 */
export type CarriedPoints = Pick<AdmissionPlan, 'keep' | 'giveBack'>;

export interface StartInput {
  userId: string;
  ip: string;
  /** As StartRequest's: the address the skip networks may match, when it is not `ip`. */
  networkIp?: string | null | undefined;
  deviceToken?: string | undefined;
}

/** `/v1/challenges`: for hosts that check passwords themselves. */
export async function startForUser(
  deps: ChallengeDeps,
  org: CachedOrganization,
  input: StartInput,
  log: RequestLogger = {},
  idempotency?: IdempotentAnswer,
): Promise<LoginOutcome> {
  const tokenHash = deviceTokenHash(deps, input.deviceToken);
  const request: StartRequest = {
    org,
    ip: input.ip,
    networkIp: input.networkIp,
    log,
    deviceTokenHash: tokenHash,
    idempotency,
  };
  const perAddress: LimitKey = ['ip_logins', clientIpKey(input.ip)];
  const skip = idempotency ? null : expectedSkip(request, input.userId);
  if (skip) return startExpectingSkip(deps, request, input.userId, skip, perAddress);
  const context = await loadLoginContext(
    deps.db.sql,
    org.row.id,
    { userId: input.userId },
    tokenHash,
  );
  if (!context) throw notFound('User');
  // After the lookup: an unknown user is a 404 before it is a 429 (the contract's precedence).
  return decideAndStart(deps, request, context, { keep: [perAddress] });
}

/**
 * What the policy answers for this request if the user is not exempt and the
 * device token (when one is presented) names a trusted device of theirs: a skip
 * reason and the facts about the user it relies on, or null when it asks for a code.
 * Decided before any read, by the policy itself on those assumed facts.
 */
function expectedSkip(
  request: StartRequest,
  userId: string,
): { reason: SkipReason; facts: SkipFacts } | null {
  const organizationId = request.org.row.id;
  const assumed: LoginContext['device'] = request.deviceTokenHash
    ? { userId, organizationId, expiresAt: new Date(8.64e15), revokedAt: null }
    : null;
  const decision = decide(request, {
    user: { id: userId, twoFactorDisabled: false },
    device: assumed,
    now: new Date(0),
  });
  if (decision.result !== 'authenticated') return null;
  const facts: Record<SkipReason, SkipFacts> = {
    two_factor_disabled: 'none',
    external_auth: 'none',
    user_exempt: 'not_exempt',
    trusted_network: 'not_exempt',
    trusted_device: 'trusted_device',
  };
  return { reason: decision.reason, facts: facts[decision.reason] };
}

/**
 * The common start, expected to need no code, in one Postgres round trip: the
 * per-address point first (a refusal then waits for the lookup, so an unknown
 * user is still a 404 before a 429), then the context read and the `signed_in`
 * event in one statement, guarded by the facts the expected skip relied on. When
 * they did not hold, the policy decides again on the context that statement read.
 */
async function startExpectingSkip(
  deps: ChallengeDeps,
  request: StartRequest,
  userId: string,
  skip: { reason: SkipReason; facts: SkipFacts },
  perAddress: LimitKey,
): Promise<LoginOutcome> {
  const organizationId = request.org.row.id;
  let taken: Refund;
  try {
    taken = await deps.rateLimits.admit({ take: [perAddress] });
  } catch (error) {
    const known = await loadLoginContext(
      deps.db.sql,
      organizationId,
      { userId },
      request.deviceTokenHash,
    );
    if (!known) throw notFound('User');
    throw error;
  }
  const loaded = await loadContextRecordingSkip(deps.db.sql, {
    organizationId,
    userId,
    deviceTokenHash: request.deviceTokenHash,
    ip: request.ip,
    skip,
  });
  if (!loaded) {
    // Nothing was looked at: the point goes back, as if never taken.
    await taken.give();
    throw notFound('User');
  }
  // The point is kept, whatever follows (as the carried `keep` would be).
  taken.claim();
  if (!loaded.recorded) return decideAndStart(deps, request, loaded.context, {});
  // The facts the policy assumed held, so its answer on them stands (and was recorded).
  deps.metrics.challengesStarted.inc({ outcome: skip.reason });
  return { result: 'authenticated', userId: loaded.context.user.id, reason: skip.reason };
}

/**
 * The policy, then a challenge if it asks for one. The user may change
 * between the lookup and the insert (locked, or a new phone): the insert
 * then stores nothing, and the decision is taken once more on a fresh
 * lookup. A second lost race means the user keeps changing under us: locked.
 */
export async function decideAndStart(
  deps: ChallengeDeps,
  request: StartRequest,
  context: LoginContext,
  carried: CarriedPoints,
): Promise<LoginOutcome> {
  const reload = () => reloadContext(deps, request, context.user.id);
  // The carried points are settled by the first attempt: not again.
  const outcome =
    (await attemptStart(deps, request, context, carried)) ??
    (await attemptStart(deps, request, await reload(), {}));
  if (outcome) return outcome;
  throw userLocked((await reload()).user.lockedUntil);
}

async function reloadContext(
  deps: ChallengeDeps,
  request: StartRequest,
  userId: string,
): Promise<LoginContext> {
  const fresh = await loadLoginContext(
    deps.db.sql,
    request.org.row.id,
    { userId },
    request.deviceTokenHash,
  );
  if (!fresh) throw notFound('User');
  return fresh;
}

/** One decision and, if it asks for a challenge, one insert; null when the insert lost a race. */
async function attemptStart(
  deps: ChallengeDeps,
  request: StartRequest,
  context: LoginContext,
  carried: CarriedPoints,
): Promise<LoginOutcome | null> {
  const { user, now } = context;
  const decision = decide(request, context);
  if (decision.result === 'authenticated') {
    // Points to keep may be refused (429), and a refused start records nothing: they go
    // first. A give-back cannot refuse, so it goes alongside the event.
    const refusable = (carried.keep?.length ?? 0) > 0;
    if (refusable) await settleCarried(deps, carried);
    // A sign-in without a code is in the audit log too, with the reason it needed none.
    await Promise.all([
      refusable ? undefined : settleCarried(deps, carried),
      recordAudit(deps.db.sql, {
        organizationId: request.org.row.id,
        type: 'signed_in',
        actor: 'user',
        ip: request.ip,
        data: { userId: user.id, method: decision.reason },
      }),
    ]);
    deps.metrics.challengesStarted.inc({ outcome: decision.reason });
    return { result: 'authenticated', userId: user.id, reason: decision.reason };
  }
  const factors = startFactors(request.org, context);
  try {
    refuseBeforeSending(request.org, context, factors.smsNow);
  } catch (error) {
    await settleCarried(deps, carried);
    throw error;
  }
  const refund = await admitStart(deps, request, context, carried, factors.smsNow);
  const id = newId();
  const sendId = newId();
  // Under an Idempotency-Key the answer is stored by the insert itself, so it is
  // rendered first, from what the insert will write.
  const predicted = request.idempotency && predictedOutcome(id, context, factors);
  const row = await refundUnless(refund, () =>
    createChallenge(deps.db.sql, {
      organizationId: request.org.row.id,
      userId: user.id,
      ip: request.ip,
      phone: user.phone,
      sendId,
      now,
      id,
      methods: factors.methods,
      smsNow: factors.smsNow,
      ...(request.idempotency && predicted
        ? { idempotency: { ...request.idempotency, body: JSON.stringify(predicted) } }
        : {}),
    }),
  );
  if (!row) return null;
  if (row.currentSendId) await queueSend(deps, { challengeId: row.id, sendId }, request.log);
  deps.metrics.challengesStarted.inc({ outcome: row.status });
  return (
    predicted ?? {
      result: 'challenge_required',
      userId: user.id,
      challenge: challengeView(row, now),
    }
  );
}

function decide(
  { org, ip, networkIp }: StartRequest,
  {
    user,
    device,
    now,
  }: Pick<LoginContext, 'device' | 'now'> & {
    user: { id: string; twoFactorDisabled: boolean };
  },
) {
  return decideSecondFactor({
    organization: {
      id: org.row.id,
      twoFactorEnabled: org.row.twoFactorEnabled,
      authMethod: org.row.authMethod,
      skipNetworks: org.skipNetworks,
    },
    user: { id: user.id, twoFactorDisabled: user.twoFactorDisabled },
    ip: networkIp !== undefined ? networkIp : ip,
    device,
    now,
  });
}

/**
 * A locked user gets no challenge and no SMS (the trusted network, device and exemption
 * paths are decided before this, unaffected); a phone outside the allowed countries none either.
 */
function refuseBeforeSending(
  org: CachedOrganization,
  { user, now }: LoginContext,
  smsNow: boolean,
): void {
  if (user.lockedUntil !== null && user.lockedUntil.getTime() > now.getTime()) {
    throw userLocked(user.lockedUntil);
  }
  if (user.phone && smsNow) assertDestinationAllowed(org, user.phone);
}

/** What the challenge will take, and whether its first SMS goes out now (not for an app user). */
interface StartFactors {
  methods: SecondFactorMethod[];
  smsNow: boolean;
}

function startFactors(org: CachedOrganization, { user }: LoginContext): StartFactors {
  const methods = challengeMethods(org.row.secondFactorMethods, {
    totpActive: user.totpEnabled,
    hasPhone: user.phone !== null,
  });
  return { methods, smsNow: sendsSmsAtStart(methods) };
}

/** The carried points on their own, for the answers that take no other. */
async function settleCarried(deps: ChallengeDeps, carried: CarriedPoints): Promise<void> {
  await deps.rateLimits.admit(carried);
}

/** The start's points (and the carried ones) in one round trip; a phone_required challenge counts toward its user's limit too. */
async function admitStart(
  deps: ChallengeDeps,
  request: StartRequest,
  { user }: LoginContext,
  carried: CarriedPoints,
  smsNow: boolean,
): Promise<Refund> {
  const plan = { ...carried, take: [['user_challenges', user.id] as LimitKey] };
  // No SMS now (no phone, or an app user): the user's limit alone.
  if (!user.phone || !smsNow) return deps.rateLimits.admit(plan);
  return admitSend(
    deps,
    { organizationId: request.org.row.id, phone: user.phone, ip: request.ip },
    plan,
  );
}

/** The answer the insert will store, rendered before it runs (for an Idempotency-Key). */
function predictedOutcome(
  id: string,
  { user, now }: LoginContext,
  { methods, smsNow }: StartFactors,
): LoginOutcome {
  const sends = smsNow && user.phone !== null;
  return {
    result: 'challenge_required',
    userId: user.id,
    challenge: challengeView(
      {
        id,
        userId: user.id,
        status: sends || !smsNow ? 'pending' : 'phone_required',
        phone: user.phone,
        expiresAt: new Date(now.getTime() + CODE_TTL_MS),
        wrongAttempts: 0,
        sendCount: sends ? 1 : 0,
        failureReason: null,
        latestSend: sends ? { status: 'queued', errorCode: null } : null,
        methods,
      },
      now,
    ),
  };
}

const startRoute = orgRoute({
  method: 'post',
  path: '/v1/challenges',
  tags,
  operationId: 'startChallenge',
  summary: 'Start a login second step for a user whose password the host checked',
  description: `Decides whether this login needs a second factor and, if so, starts a challenge and sends its first code. Limits: ip_logins (per end-user ip), user_challenges, destination_sends, org_sends. ${RULES}\n\nIdempotency-Key: ${IDEMPOTENCY_HEADER_DOC}`,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z.object({ userId: z.string().max(64), ip: ClientIp, deviceToken: DeviceToken.optional() }),
    ),
  },
  responses: {
    200: jsonResponse(LoginResult, 'Authenticated, or a challenge to complete'),
    ...errors(400, 404, 409, 422, 423, 429, 503),
  },
});

export const startRouter = createRouter().openapi(startRoute, async (c) => {
  const body = c.req.valid('json');
  const userId = parseId(body.userId, 'User');
  const { challenges } = c.get('services');
  const key = c.req.valid('header')['idempotency-key'];
  const scope = `org:${c.get('organizationId')}`;
  return idempotent(c, { key, scope, body, status: 200 }, (answer) =>
    challenges.startForUser(
      c.get('organization'),
      { userId, ip: body.ip, deviceToken: body.deviceToken },
      { logger: c.get('logger') },
      answer,
    ),
  );
});
