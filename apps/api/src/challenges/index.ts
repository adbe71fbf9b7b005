import type { ChallengeView } from '@twofa/core';
import type { IdempotentAnswer } from '@twofa/db';
import type { CachedOrganization } from '../lib/org-cache.ts';
import type { ChallengeDeps, RequestLogger } from './deps.ts';
import { getChallengeView } from './get.ts';
import { type LoginInput, login } from './login.ts';
import { type PhoneStepInput, setPhone } from './phone.ts';
import { resend } from './resend.ts';
import { type LoginOutcome, type StartInput, startForUser } from './start.ts';
import { type Authenticated, type VerifyInput, verify } from './verify.ts';

export type {
  ChallengeDeps,
  ChallengeDeps as ChallengeServiceDeps,
  RequestLogger,
} from './deps.ts';
export { refusalError, userLocked } from './errors.ts';
export { assertDestinationAllowed, parsePhone, parseUserPhone } from './phone-rules.ts';
export type { Authenticated, LoginOutcome, VerifyInput };

/**
 * The whole challenge lifecycle: start (after a password login, or for a
 * host that checked the password itself), phone, resend and verify, one use
 * case a file beside it. Plain inputs in, a view out, or a thrown ApiError
 * carrying the contract's code; the JSON routes and the pages are both thin
 * callers of this.
 */
export class ChallengeService {
  constructor(private readonly deps: ChallengeDeps) {}

  get(organizationId: string, challengeId: string): Promise<ChallengeView> {
    return getChallengeView(this.deps, organizationId, challengeId);
  }

  /** `/v1/logins`: the password, then the policy, then a challenge if one is needed. */
  login(
    org: CachedOrganization,
    input: LoginInput,
    log: RequestLogger = {},
  ): Promise<LoginOutcome> {
    return login(this.deps, org, input, log);
  }

  /** `/v1/challenges`: for hosts that check passwords themselves. */
  startForUser(
    org: CachedOrganization,
    input: StartInput,
    log: RequestLogger = {},
    /** Under an Idempotency-Key: the answer is stored by the challenge's own insert. */
    idempotency?: IdempotentAnswer,
  ): Promise<LoginOutcome> {
    return startForUser(this.deps, org, input, log, idempotency);
  }

  /** The phone step: a user with no phone on file gives one, and the first code goes to it. */
  setPhone(
    org: CachedOrganization,
    input: PhoneStepInput,
    log: RequestLogger = {},
  ): Promise<ChallengeView> {
    return setPhone(this.deps, org, input, log);
  }

  /** Another code, honouring the cooldown and the cap. */
  resend(
    org: CachedOrganization,
    input: { challengeId: string },
    log: RequestLogger = {},
    /** Under an Idempotency-Key: the answer is stored by the resend's own update. */
    idempotency?: IdempotentAnswer,
  ): Promise<ChallengeView> {
    return resend(this.deps, org, input, log, idempotency);
  }

  /** The second step: a right code approves the challenge and trusts the device for 30 days. */
  verify(organizationId: string, input: VerifyInput): Promise<Authenticated> {
    return verify(this.deps, organizationId, input);
  }
}
