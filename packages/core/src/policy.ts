import type { CidrMatcher } from './cidr.ts';
import type { AuthMethod, SkipReason } from './enums.ts';

export type { AuthMethod, SkipReason };

export interface TrustedDeviceFacts {
  userId: string;
  organizationId: string;
  expiresAt: Date;
  revokedAt: Date | null;
}

export interface PolicyInput {
  organization: {
    id: string;
    twoFactorEnabled: boolean;
    authMethod: AuthMethod;
    skipNetworks: CidrMatcher;
  };
  user: { id: string; twoFactorDisabled: boolean };
  /**
   * The end user's address, or null when nobody trusted vouches for it (X-Forwarded-For
   * from a peer TRUST_PROXY does not list): then no skip network applies.
   */
  ip: string | null;
  /** The device the presented token belongs to, or null when none was presented or it is unknown. */
  device: TrustedDeviceFacts | null;
  now: Date;
}

export type PolicyDecision =
  | { result: 'authenticated'; reason: SkipReason }
  | { result: 'challenge_required' };

export function isTwoFactorAvailable(authMethod: AuthMethod): boolean {
  return authMethod === 'password';
}

export function isDeviceTrusted(
  device: TrustedDeviceFacts | null,
  userId: string,
  organizationId: string,
  now: Date,
): boolean {
  return (
    device !== null &&
    device.userId === userId &&
    device.organizationId === organizationId &&
    device.revokedAt === null &&
    device.expiresAt.getTime() > now.getTime()
  );
}

/**
 * Does this login need a second factor? The first matching reason wins, in
 * the order the contract gives.
 */
export function decideSecondFactor(input: PolicyInput): PolicyDecision {
  const { organization, user, ip, device, now } = input;
  if (!organization.twoFactorEnabled)
    return { result: 'authenticated', reason: 'two_factor_disabled' };
  if (!isTwoFactorAvailable(organization.authMethod)) {
    return { result: 'authenticated', reason: 'external_auth' };
  }
  if (user.twoFactorDisabled) return { result: 'authenticated', reason: 'user_exempt' };
  if (ip !== null && organization.skipNetworks.matches(ip))
    return { result: 'authenticated', reason: 'trusted_network' };
  if (isDeviceTrusted(device, user.id, organization.id, now)) {
    return { result: 'authenticated', reason: 'trusted_device' };
  }
  return { result: 'challenge_required' };
}
