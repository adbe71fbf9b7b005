import { randomUUID } from 'node:crypto';
import {
  afterWrongCode,
  attemptsPhrase,
  type ChallengeRefusal,
  type ChallengeView,
  CODE_TTL_MS,
  challengeView,
  decideSecondFactor,
  dummyPasswordHash,
  generateToken,
  hashSecret,
  normalizePhone,
  PhoneError,
  phoneCountry,
  phoneRefusal,
  refusalDetail,
  resendRefusal,
  type SkipReason,
  safeEqual,
  TRUSTED_DEVICE_TTL_MS,
  verifyPassword,
  verifyRefusal,
} from '@twofa/core';
import {
  approveChallenge,
  type ChallengeRow,
  createChallenge,
  type Database,
  getChallenge,
  type IdempotentAnswer,
  type LoginContext,
  loadLoginContext,
  recordAudit,
  recordWrongCode,
  resendChallenge,
  submitChallengePhone,
} from '@twofa/db';
import type { Logger, Metrics } from '@twofa/observability';
import { enqueueSendCode, type Queue, type SendCodeJob } from '@twofa/queue';
import type { CircuitBreaker } from '../lib/breaker.ts';
import { ApiError, notFound } from '../lib/errors.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import {
  accountFailuresKey,
  clientIpKey,
  type LimitKey,
  type LimitName,
  type RateLimits,
  type Refund,
} from '../lib/rate-limits.ts';
import { Email } from '../lib/schemas.ts';

/** What a login or a challenge start answers: authenticated at once, or a challenge to finish. */
export type LoginOutcome =
  | { result: 'authenticated'; userId: string; reason: SkipReason }
  | { result: 'challenge_required'; userId: string; challenge: ChallengeView };

export interface Authenticated {
  result: 'authenticated';
  userId: string;
  /** Shown once; only its hash is stored. */
  deviceToken: string;
  deviceTokenExpiresAt: string;
}

export interface ChallengeServiceDeps {
  appSecret: string;
  /** MAX_CONSECUTIVE_CODE_FAILURES: wrong codes in a row, over all of a user's challenges, that lock the user. */
  maxConsecutiveCodeFailures: number;
  db: Database;
  sendQueue: Queue<SendCodeJob>;
  rateLimits: RateLimits;
  breaker: CircuitBreaker;
  metrics: Metrics;
  logger: Logger;
}

/** Who is asking, for the audit log and the logs: optional on every call. */
export interface Caller {
  logger?: Logger;
}

/** A refusal rule's verdict as the contract's error. */
export function refusalError(refusal: ChallengeRefusal): ApiError {
  const detail = refusalDetail(refusal);
  if (refusal.code === 'resend_too_soon') {
    const retryAfter = refusal.retryAfterSeconds;
    return new ApiError(
      'resend_too_soon',
      detail,
      { retryAfter },
      { 'retry-after': String(retryAfter) },
    );
  }
  if (refusal.code === 'challenge_locked') {
    return new ApiError(refusal.code, detail, { attemptsRemaining: 0 });
  }
  return new ApiError(refusal.code, detail, { challengeStatus: refusal.status });
}

/** Normalizes a phone with the organization's country as the default region. */
export function parsePhone(org: CachedOrganization, input: string): string {
  try {
    return normalizePhone(input, org.row.country).e164;
  } catch (error) {
    if (error instanceof PhoneError) throw new ApiError('invalid_phone', error.message);
    throw error;
  }
}

/**
 * A user's phone as POST/PATCH /v1/users take it: normalized, and inside the
 * organization's allowed SMS countries (else the user could never get a code).
 */
export function parseUserPhone(org: CachedOrganization, input: string): string {
  const phone = parsePhone(org, input);
  assertDestinationAllowed(org, phone);
  return phone;
}

/** Refuses a destination outside the organization's allowed countries, before any credit is spent. */
export function assertDestinationAllowed(org: CachedOrganization, phone: string): void {
  const allowed = org.row.smsAllowedCountries;
  if (allowed.length === 0) return;
  const country = phoneCountry(phone);
  if (!country || !allowed.includes(country)) {
    throw new ApiError(
      'phone_country_not_allowed',
      `Codes may only be sent to numbers in ${allowed.join(', ')}; this number is in ${country ?? 'an unknown country'}.`,
      { allowedCountries: allowed, country },
    );
  }
}

/**
 * Runs the statement that commits a send (or a phone_required challenge); when
 * it stores nothing (null: a lost race) or fails, the points taken for it are
 * given back, since nothing will be sent.
 */
async function refundUnless<T>(refund: Refund, commit: () => Promise<T | null>): Promise<T | null> {
  let committed: T | null;
  try {
    committed = await commit();
  } catch (error) {
    await refund();
    throw error;
  }
  if (committed === null) await refund();
  return committed;
}

function isLocked(lockedUntil: Date | null, now: Date): lockedUntil is Date {
  return lockedUntil !== null && lockedUntil.getTime() > now.getTime();
}

/** 423 user_locked: too many wrong codes in a row; an admin can lift it early. */
export function userLocked(lockedUntil: Date | null): ApiError {
  return new ApiError(
    'user_locked',
    lockedUntil
      ? `Too many wrong codes in a row; the user is locked until ${lockedUntil.toISOString()}.`
      : 'Too many wrong codes in a row; the user is locked.',
    { lockedUntil: lockedUntil?.toISOString() ?? null },
  );
}

const invalidCredentials = () =>
  new ApiError('invalid_credentials', 'The email or password is wrong.');

/**
 * The whole challenge lifecycle: start (after a password login, or for a
 * host that checked the password itself), phone, resend and verify. Plain
 * inputs in, a view out, or a thrown ApiError carrying the contract's code;
 * the JSON routes and the pages are both thin callers of this.
 */
export class ChallengeService {
  constructor(private readonly deps: ChallengeServiceDeps) {}

  private tokenHash(token: string | undefined): string | null {
    return token ? hashSecret(this.deps.appSecret, 'device-token', token) : null;
  }

  /** `now` is the database's clock as this request read it (see packages/db challenges.ts). */
  private view(row: ChallengeRow, now: Date): ChallengeView {
    return challengeView(row, now);
  }

  private async load(organizationId: string, challengeId: string) {
    const row = await getChallenge(this.deps.db.sql, organizationId, challengeId);
    if (!row) throw notFound('Challenge');
    return row;
  }

  async get(organizationId: string, challengeId: string): Promise<ChallengeView> {
    const row = await this.load(organizationId, challengeId);
    return this.view(row, row.dbNow);
  }

  /** `/v1/logins`: the password, then the policy, then a challenge if one is needed. */
  async login(
    org: CachedOrganization,
    input: {
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
    },
    caller: Caller = {},
  ): Promise<LoginOutcome> {
    const { rateLimits, db } = this.deps;
    const deviceTokenHash = this.tokenHash(input.deviceToken);
    // Emails are ASCII (the API's own rule): any other finds no account, whatever the database's
    // lower() would make of it (`İ` is not `i`), and is answered as a wrong password.
    const email = Email.safeParse(input.email);
    // The account is found first, so its limit keys on the account, never on the text typed.
    // The dummy hash is made alongside: awaited on every path, so the one-time cost of making it
    // lands on known and unknown emails alike.
    const [context, dummyHash] = await Promise.all([
      email.success
        ? loadLoginContext(db.sql, org.row.id, { email: email.data }, deviceTokenHash)
        : null,
      dummyPasswordHash(),
    ]);
    // Password guessing is throttled per end-user address and per account: both points are taken
    // at once, atomically, before any hash is computed, so parallel guesses cannot all slip through.
    const refund = await rateLimits.consumeAll([
      ['ip_logins', clientIpKey(input.ip)],
      [
        'account_failures',
        accountFailuresKey(
          context
            ? { userId: context.user.id }
            : { organizationId: org.row.id, email: email.data ?? input.email },
        ),
      ],
    ]);
    // Unknown emails and users without a password cost the same hash as a wrong password.
    const stored = context?.user.passwordHash ?? dummyHash;
    const ok = await verifyPassword(input.password, stored);
    // A wrong password keeps the account's point; a right one gives it back (decideAndStart
    // does, in the same round trip as the send limits when a code goes out).
    if (!ok || !context?.user.passwordHash) throw invalidCredentials();
    return this.decideAndStart(org, context, input.ip, caller, deviceTokenHash, undefined, {
      giveBack: { refund, only: ['account_failures'] },
      ...(input.networkIp !== undefined ? { networkIp: input.networkIp } : {}),
    });
  }

  /** `/v1/challenges`: for hosts that check passwords themselves. */
  async startForUser(
    org: CachedOrganization,
    input: {
      userId: string;
      ip: string;
      deviceToken?: string | undefined;
      /** The address the skip networks may match, when it is not `ip` (the prompt's browser). */
      networkIp?: string | null | undefined;
    },
    caller: Caller = {},
    /** Under an Idempotency-Key: the answer is stored by the challenge's own insert. */
    idempotency?: IdempotentAnswer,
  ): Promise<LoginOutcome> {
    const deviceTokenHash = this.tokenHash(input.deviceToken);
    const context = await loadLoginContext(
      this.deps.db.sql,
      org.row.id,
      { userId: input.userId },
      deviceTokenHash,
    );
    if (!context) throw notFound('User');
    // After the lookup: an unknown user is a 404 before it is a 429 (the contract's precedence).
    // The address's point is taken by decideAndStart, before any other refusal, in the same
    // round trip as the send limits when a code goes out.
    const ipLimit: LimitKey = ['ip_logins', clientIpKey(input.ip)];
    return this.decideAndStart(org, context, input.ip, caller, deviceTokenHash, idempotency, {
      ipLimit,
      ...(input.networkIp !== undefined ? { networkIp: input.networkIp } : {}),
    });
  }

  /**
   * The policy, then a challenge if it asks for one. The user may change
   * between the lookup and the insert (locked, or a new phone): the insert
   * then stores nothing, and the decision is taken once more on a fresh
   * lookup.
   */
  private async decideAndStart(
    org: CachedOrganization,
    context: LoginContext,
    ip: string,
    caller: Caller,
    deviceTokenHash: string | null,
    idempotency?: IdempotentAnswer,
    opts: {
      retried?: boolean;
      /** The address the skip networks may match, when it is not `ip` (see login). */
      networkIp?: string | null;
      /**
       * A point still to take first, kept whatever follows (`/v1/challenges`' per-address
       * limit): as if taken before this ran. The checks before the send limits are computed
       * from what is already loaded, so taking it later changes no answer.
       */
      ipLimit?: LimitKey;
      /** Points of an earlier take to give back first, whatever follows (a right password's). */
      giveBack?: { refund: Refund; only: readonly LimitName[] };
    } = {},
  ): Promise<LoginOutcome> {
    const { metrics, db, rateLimits } = this.deps;
    const { user, device, now } = context;
    const first = opts.ipLimit ? [opts.ipLimit] : [];
    const { giveBack } = opts;
    /** The give-back and the first point on their own, for the answers that take no other. */
    const takeFirst = async () => {
      if (giveBack) await giveBack.refund(giveBack.only);
      if (opts.ipLimit) await rateLimits.consume(...opts.ipLimit);
    };
    const decision = decideSecondFactor({
      organization: {
        id: org.row.id,
        twoFactorEnabled: org.row.twoFactorEnabled,
        authMethod: org.row.authMethod,
        skipNetworks: org.skipNetworks,
      },
      user: { id: user.id, twoFactorDisabled: user.twoFactorDisabled },
      ip: opts.networkIp !== undefined ? opts.networkIp : ip,
      device,
      now,
    });
    if (decision.result === 'authenticated') {
      await takeFirst();
      // A sign-in without a code is in the audit log too, with the reason it needed none.
      await recordAudit(db.sql, {
        organizationId: org.row.id,
        type: 'signed_in',
        actor: 'user',
        ip,
        data: { userId: user.id, method: decision.reason },
      });
      metrics.challengesStarted.inc({ outcome: decision.reason });
      return { result: 'authenticated', userId: user.id, reason: decision.reason };
    }
    // A locked user gets no challenge and no SMS; the paths above (trusted network, device,
    // exemption) are unaffected.
    if (isLocked(user.lockedUntil, now)) {
      await takeFirst();
      throw userLocked(user.lockedUntil);
    }
    if (user.phone) {
      try {
        assertDestinationAllowed(org, user.phone);
      } catch (error) {
        await takeFirst();
        throw error;
      }
    }
    // A phone_required challenge counts toward its user's limit too.
    const userLimit: LimitKey = ['user_challenges', user.id];
    const refund = user.phone
      ? await this.admitSend(org.row.id, user.phone, ip, [userLimit], first, giveBack)
      : await rateLimits.consumeThen(first, [userLimit], giveBack);
    const sendId = randomUUID();
    // Under an Idempotency-Key the answer is stored by the insert itself, so it is
    // rendered first, from what the insert will write.
    const id = randomUUID();
    const predicted: LoginOutcome | undefined = idempotency && {
      result: 'challenge_required',
      userId: user.id,
      challenge: challengeView(
        {
          id,
          userId: user.id,
          status: user.phone ? 'pending' : 'phone_required',
          phone: user.phone,
          expiresAt: new Date(now.getTime() + CODE_TTL_MS),
          wrongAttempts: 0,
          sendCount: user.phone ? 1 : 0,
          failureReason: null,
          latestSend: user.phone ? { status: 'queued', errorCode: null } : null,
        },
        now,
      ),
    };
    const row = await refundUnless(refund, () =>
      createChallenge(db.sql, {
        organizationId: org.row.id,
        userId: user.id,
        ip,
        phone: user.phone,
        sendId,
        now,
        id,
        ...(idempotency && predicted
          ? { idempotency: { ...idempotency, body: JSON.stringify(predicted) } }
          : {}),
      }),
    );
    if (!row) {
      // The user was locked, given a new phone or removed since the lookup: nothing was stored.
      const fresh = await loadLoginContext(
        db.sql,
        org.row.id,
        { userId: user.id },
        deviceTokenHash,
      );
      if (!fresh) throw notFound('User');
      if (opts.retried) throw userLocked(fresh.user.lockedUntil);
      // The first point was taken above: not again.
      return this.decideAndStart(org, fresh, ip, caller, deviceTokenHash, idempotency, {
        retried: true,
        ...(opts.networkIp !== undefined ? { networkIp: opts.networkIp } : {}),
      });
    }
    if (user.phone) await this.queueSend(sendId, caller);
    metrics.challengesStarted.inc({ outcome: row.status });
    return (
      predicted ?? {
        result: 'challenge_required',
        userId: user.id,
        challenge: this.view(row, now),
      }
    );
  }

  /** The phone step: a user with no phone on file gives one, and the first code goes to it. */
  async setPhone(
    org: CachedOrganization,
    input: { challengeId: string; phone: string },
    caller: Caller = {},
  ): Promise<ChallengeView> {
    const phone = parsePhone(org, input.phone);
    assertDestinationAllowed(org, phone);
    const organizationId = org.row.id;
    const row = await this.load(organizationId, input.challengeId);
    const now = row.dbNow;
    const refusal = phoneRefusal(row, now);
    if (refusal) throw refusalError(refusal);
    const refund = await this.admitSend(organizationId, phone, row.ip);
    const sendId = randomUUID();
    const updated = await refundUnless(refund, () =>
      submitChallengePhone(this.deps.db.sql, {
        organizationId,
        challengeId: row.id,
        phone,
        sendId,
        now,
      }),
    );
    if (!updated) {
      const fresh = await this.load(organizationId, row.id);
      throw refusalError(
        phoneRefusal(fresh, fresh.dbNow) ?? {
          code: 'phone_already_set',
          status: 'pending',
        },
      );
    }
    await this.queueSend(sendId, caller);
    return this.view(updated, now);
  }

  /** Another code, honouring the cooldown and the cap. */
  async resend(
    org: CachedOrganization,
    input: { challengeId: string },
    caller: Caller = {},
    /** Under an Idempotency-Key: the answer is stored by the resend's own update. */
    idempotency?: IdempotentAnswer,
  ): Promise<ChallengeView> {
    const organizationId = org.row.id;
    const row = await this.load(organizationId, input.challengeId);
    const now = row.dbNow;
    const refusal = resendRefusal(row, now);
    if (refusal) throw refusalError(refusal);
    // The allowed countries may have narrowed since the challenge started.
    if (row.phone) assertDestinationAllowed(org, row.phone);
    const refund = row.phone
      ? await this.admitSend(organizationId, row.phone, row.ip)
      : async () => {};
    const sendId = randomUUID();
    // Under an Idempotency-Key the answer is stored by the update itself: rendered first,
    // from the row as read and what the update changes (the update checks the row still
    // has the wrong-code count the answer shows).
    const predicted =
      idempotency &&
      challengeView(
        {
          ...row,
          sendCount: row.sendCount + 1,
          expiresAt: new Date(now.getTime() + CODE_TTL_MS),
          latestSend: { status: 'queued', errorCode: null },
        },
        now,
      );
    const resent = await refundUnless(refund, () =>
      resendChallenge(this.deps.db.sql, {
        organizationId,
        challengeId: row.id,
        sendId,
        now,
        ...(idempotency && predicted
          ? {
              idempotency: {
                ...idempotency,
                body: JSON.stringify(predicted),
                wrongAttempts: row.wrongAttempts,
              },
            }
          : {}),
      }),
    );
    const updated = resent && (predicted ?? this.view(resent, now));
    if (!updated) {
      // Lost a race with a parallel resend or verify: answer as the winner left it.
      const fresh = await this.load(organizationId, row.id);
      throw refusalError(
        resendRefusal(fresh, fresh.dbNow) ?? {
          code: 'resend_too_soon',
          status: 'pending',
          retryAfterSeconds: 30,
        },
      );
    }
    await this.queueSend(sendId, caller);
    return updated;
  }

  /** The second step: a right code approves the challenge and trusts the device for 30 days. */
  async verify(
    organizationId: string,
    input: { challengeId: string; code: string },
  ): Promise<Authenticated> {
    const { appSecret, db, metrics } = this.deps;
    const row = await this.load(organizationId, input.challengeId);
    const now = row.dbNow;
    const refusal = verifyRefusal(row, now);
    if (refusal) {
      metrics.verifyResults.inc({ result: refusal.code.replace(/^challenge_/, '') });
      throw refusalError(refusal);
    }
    const expected = row.codeHash;
    const given = row.currentSendId
      ? hashSecret(appSecret, 'code', input.code, row.currentSendId)
      : '';
    // Always compare, even when no code was stored yet, so timing says nothing.
    const right = safeEqual(given, expected ?? '') && expected !== null;
    const reloadRefusal = async () => {
      const fresh = await this.load(organizationId, row.id);
      return refusalError(
        verifyRefusal(fresh, fresh.dbNow) ?? { code: 'challenge_not_pending', status: 'pending' },
      );
    };
    if (right && row.currentSendId) {
      const deviceToken = generateToken('tfd');
      const expiresAt = new Date(now.getTime() + TRUSTED_DEVICE_TTL_MS);
      const approval = await approveChallenge(db.sql, {
        organizationId,
        challengeId: row.id,
        sendId: row.currentSendId,
        deviceTokenHash: hashSecret(appSecret, 'device-token', deviceToken),
        deviceExpiresAt: expiresAt,
      });
      if (!approval) {
        // A parallel verify won, or the challenge changed under us.
        metrics.verifyResults.inc({ result: 'not_pending' });
        throw await reloadRefusal();
      }
      metrics.verifyResults.inc({ result: 'approved' });
      if (approval.phoneSaved) {
        await recordAudit(db.sql, {
          organizationId,
          type: 'phone_changed',
          actor: 'user',
          ip: row.ip,
          data: {
            userId: approval.userId,
            via: 'challenge',
            revokedDevices: approval.revokedDevices,
          },
        });
      }
      return {
        result: 'authenticated',
        userId: approval.userId,
        deviceToken,
        deviceTokenExpiresAt: expiresAt.toISOString(),
      };
    }
    const counted = await recordWrongCode(db.sql, {
      organizationId,
      challengeId: row.id,
      maxConsecutiveFailures: this.deps.maxConsecutiveCodeFailures,
    });
    if (!counted) throw await reloadRefusal();
    const { attemptsRemaining, locked } = afterWrongCode(counted.wrongAttempts);
    if (counted.userLocked) {
      // The audit events (user_locked, and challenge_locked if it was this one's last attempt)
      // were written by the same statement.
      metrics.verifyResults.inc({ result: 'user_locked' });
      throw userLocked(counted.lockedUntil);
    }
    if (locked) {
      metrics.verifyResults.inc({ result: 'locked' });
      throw new ApiError('challenge_locked', 'Too many wrong codes; the challenge is locked.', {
        attemptsRemaining: 0,
      });
    }
    metrics.verifyResults.inc({ result: 'wrong' });
    throw new ApiError('invalid_code', `The code is wrong. ${attemptsPhrase(attemptsRemaining)}.`, {
      attemptsRemaining,
    });
  }

  /**
   * Per-send guards, checked when a request that sends a code comes in. A
   * refused request gives its points back, so it counts toward no limit; an
   * admitted one gets the refund to call if it then ends without committing
   * a send.
   */
  private async admitSend(
    organizationId: string,
    phone: string,
    ip: string | null,
    alsoLimits: readonly LimitKey[] = [],
    /** Points taken first and kept, in the same round trip (see RateLimits.consumeThen). */
    first: readonly LimitKey[] = [],
    /** An earlier take's points to give back first, in the same round trip. */
    giveBack?: { refund: Refund; only: readonly LimitName[] },
  ): Promise<Refund> {
    const { rateLimits, breaker } = this.deps;
    const refund = await rateLimits.consumeThen(
      first,
      [...alsoLimits, ['destination_sends', phone], ['org_sends', organizationId]],
      giveBack,
    );
    try {
      await breaker.assertSendAllowed(organizationId, phone, ip);
    } catch (error) {
      await refund();
      throw error;
    }
    return refund;
  }

  /**
   * The row is committed first (the outbox); the job is then enqueued at once
   * for speed. If Redis is away the reconciler enqueues it when Redis is back,
   * so the answer stands either way.
   */
  private async queueSend(sendId: string, caller: Caller): Promise<void> {
    try {
      await enqueueSendCode(this.deps.sendQueue, sendId);
    } catch (error) {
      (caller.logger ?? this.deps.logger).warn(
        { sendId, err: (error as Error).message },
        'enqueue failed; the reconciler will pick the send up',
      );
    }
  }
}
