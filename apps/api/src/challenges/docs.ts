import { CODE_LENGTH, CODE_TTL_MS, MAX_SENDS_PER_CHALLENGE, MAX_WRONG_ATTEMPTS } from '@twofa/core';
import { IdParam } from '../lib/openapi.ts';

/** What the challenge routes share in the OpenAPI document. */
export const tags = ['Challenges'];
export const ChallengeParams = IdParam('id');
export const RULES = `A code is ${CODE_LENGTH} digits and lives ${CODE_TTL_MS / 60_000} minutes; a challenge takes ${MAX_WRONG_ATTEMPTS} wrong codes before it is locked and sends at most ${MAX_SENDS_PER_CHALLENGE} codes, 30 s apart.`;
