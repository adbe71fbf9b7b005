import { z } from '@hono/zod-openapi';
import { type ChallengeView, challengeView, newId, phoneRefusal } from '@twofa/core';
import { submitChallengePhone } from '@twofa/db';
import { parseId } from '../lib/http.ts';
import { createRouter, errors, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import type { CachedOrganization } from '../lib/org-cache.ts';
import { Challenge, PhoneInput } from '../lib/schemas.ts';
import type { ChallengeDeps, RequestLogger } from './deps.ts';
import { ChallengeParams, tags } from './docs.ts';
import { refusalError } from './errors.ts';
import { loadChallenge } from './get.ts';
import { assertDestinationAllowed, parsePhone } from './phone-rules.ts';
import { admitSend, queueSend, refundUnless } from './send.ts';

export interface PhoneStepInput {
  challengeId: string;
  phone: string;
}

/** The phone step: a user with no phone on file gives one, and the first code goes to it. */
export async function setPhone(
  deps: ChallengeDeps,
  org: CachedOrganization,
  input: PhoneStepInput,
  log: RequestLogger = {},
): Promise<ChallengeView> {
  const phone = parsePhone(org, input.phone);
  assertDestinationAllowed(org, phone);
  const organizationId = org.row.id;
  const row = await loadChallenge(deps, organizationId, input.challengeId);
  const now = row.dbNow;
  const refusal = phoneRefusal(row, now);
  if (refusal) throw refusalError(refusal);
  const refund = await admitSend(deps, { organizationId, phone, ip: row.ip });
  const sendId = newId();
  const updated = await refundUnless(refund, () =>
    submitChallengePhone(deps.db.sql, {
      organizationId,
      challengeId: row.id,
      phone,
      sendId,
      now,
    }),
  );
  if (!updated) {
    const fresh = await loadChallenge(deps, organizationId, row.id);
    throw refusalError(
      phoneRefusal(fresh, fresh.dbNow) ?? {
        code: 'phone_already_set',
        status: 'pending',
      },
    );
  }
  await queueSend(deps, { challengeId: row.id, sendId }, log);
  return challengeView(updated, now);
}

const phoneRoute = orgRoute({
  method: 'post',
  path: '/v1/challenges/{id}/phone',
  tags,
  operationId: 'setChallengePhone',
  summary: 'Give the phone number of a user who has none on file',
  description: 'The number is saved on the profile only when the code sent to it is verified.',
  request: { params: ChallengeParams, body: jsonBody(z.object({ phone: PhoneInput })) },
  responses: {
    200: jsonResponse(Challenge, 'The phone is set and a code is on its way'),
    ...errors(400, 404, 409, 410, 422, 429),
  },
});

export const phoneRouter = createRouter().openapi(phoneRoute, async (c) => {
  const challengeId = parseId(c.req.valid('param').id, 'Challenge');
  const { phone } = c.req.valid('json');
  const view = await c
    .get('services')
    .challenges.setPhone(
      c.get('organization'),
      { challengeId, phone },
      { logger: c.get('logger') },
    );
  return c.json(view, 200);
});
