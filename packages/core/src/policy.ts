import type { CidrMatcher } from './cidr.ts';

export const AUTH_METHODS = ['password', 'saml2', 'ldap'] as const;
export type AuthMethod = (typeof AUTH_METHODS)[number];

export type SkipReason =
  | 'two_factor_disabled'
  | 'external_auth'
  | 'user_exempt'
  | 'trusted_network'
  | 'trusted_device';

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
  ip: string;
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
  if (organization.skipNetworks.matches(ip))
    return { result: 'authenticated', reason: 'trusted_network' };
  if (isDeviceTrusted(device, user.id, organization.id, now)) {
    return { result: 'authenticated', reason: 'trusted_device' };
  }
  return { result: 'challenge_required' };
}
