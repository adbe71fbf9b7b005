import { z } from '@hono/zod-openapi';
import { CODE_LENGTH, CODE_TTL_MS, MAX_SENDS_PER_CHALLENGE, MAX_WRONG_ATTEMPTS } from '@twofa/core';
import { parseId } from '../lib/http.ts';
import { IDEMPOTENCY_HEADER_DOC, IdempotencyHeaders, idempotent } from '../lib/idempotency.ts';
import { createRouter, errors, IdParam, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import {
  Authenticated,
  Challenge,
  ClientIp,
  DeviceToken,
  LoginResult,
  PhoneInput,
} from '../lib/schemas.ts';

const tags = ['Challenges'];
/** The longest `GET /v1/challenges/{id}?wait=` holds an answer. */
const MAX_WAIT_SECONDS = 10;
/** How often a held answer re-reads the challenge (no LISTEN: PgBouncer in transaction mode). */
const WAIT_POLL_MS = 150;

const changeKey = (view: { status: string; delivery: { status: string } | null }) =>
  `${view.status}/${view.delivery?.status ?? ''}`;
const Params = IdParam('id');
const RULES = `A code is ${CODE_LENGTH} digits and lives ${CODE_TTL_MS / 60_000} minutes; a challenge takes ${MAX_WRONG_ATTEMPTS} wrong codes before it is locked and sends at most ${MAX_SENDS_PER_CHALLENGE} codes, 30 s apart.`;

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

const getRoute = orgRoute({
  method: 'get',
  path: '/v1/challenges/{id}',
  tags,
  operationId: 'getChallenge',
  summary: 'Read a challenge',
  description:
    'With `wait`, the answer is held until the status or the delivery status changes, or `wait` seconds pass, so a client learns `failed` or `delivered` without polling.',
  request: {
    params: Params,
    query: z.object({
      wait: z.coerce
        .number()
        .int()
        .min(1)
        .max(MAX_WAIT_SECONDS)
        .optional()
        .openapi({
          description: `Seconds (1 to ${MAX_WAIT_SECONDS}) to hold the answer until the challenge's status or delivery status changes`,
          example: 5,
        }),
    }),
  },
  responses: { 200: jsonResponse(Challenge, 'The challenge'), ...errors(400, 404) },
});

const phoneRoute = orgRoute({
  method: 'post',
  path: '/v1/challenges/{id}/phone',
  tags,
  operationId: 'setChallengePhone',
  summary: 'Give the phone number of a user who has none on file',
  description: 'The number is saved on the profile only when the code sent to it is verified.',
  request: { params: Params, body: jsonBody(z.object({ phone: PhoneInput })) },
  responses: {
    200: jsonResponse(Challenge, 'The phone is set and a code is on its way'),
    ...errors(400, 404, 409, 410, 422, 429),
  },
});

const resendRoute = orgRoute({
  method: 'post',
  path: '/v1/challenges/{id}/resend',
  tags,
  operationId: 'resendChallengeCode',
  summary: 'Send a fresh code',
  description: `Only the latest code is accepted afterwards. ${RULES}\n\nIdempotency-Key: ${IDEMPOTENCY_HEADER_DOC}`,
  request: { params: Params, headers: IdempotencyHeaders },
  responses: {
    202: jsonResponse(Challenge, 'A new code is on its way'),
    ...errors(400, 404, 409, 422, 429),
  },
});

const verifyRoute = orgRoute({
  method: 'post',
  path: '/v1/challenges/{id}/verify',
  tags,
  operationId: 'verifyChallenge',
  summary: 'Check a code',
  description: `A right code approves the challenge and returns a device token good for 30 days. ${RULES}`,
  request: {
    params: Params,
    body: jsonBody(z.object({ code: z.string().regex(/^\d{6}$/, 'six digits') })),
  },
  responses: {
    200: jsonResponse(Authenticated, 'The code was right; the device token is shown once'),
    ...errors(400, 404, 409, 410, 422, 423),
  },
});

export const challengesRouter = createRouter()
  .openapi(startRoute, async (c) => {
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
  })
  .openapi(getRoute, async (c) => {
    const id = parseId(c.req.valid('param').id, 'Challenge');
    const { wait } = c.req.valid('query');
    const { challenges } = c.get('services');
    const organizationId = c.get('organizationId');
    let view = await challenges.get(organizationId, id);
    if (wait) {
      const first = changeKey(view);
      const deadline = Date.now() + wait * 1000;
      const signal = c.req.raw.signal;
      while (!signal.aborted && changeKey(view) === first) {
        const left = deadline - Date.now();
        if (left <= 0) break;
        await new Promise((resolve) => setTimeout(resolve, Math.min(WAIT_POLL_MS, left)));
        view = await challenges.get(organizationId, id);
      }
    }
    return c.json(view, 200);
  })
  .openapi(phoneRoute, async (c) => {
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
  })
  .openapi(resendRoute, async (c) => {
    const challengeId = parseId(c.req.valid('param').id, 'Challenge');
    const key = c.req.valid('header')['idempotency-key'];
    const scope = `org:${c.get('organizationId')}`;
    return idempotent(c, { key, scope, body: {}, status: 202 }, (answer) =>
      c
        .get('services')
        .challenges.resend(
          c.get('organization'),
          { challengeId },
          { logger: c.get('logger') },
          answer,
        ),
    );
  })
  .openapi(verifyRoute, async (c) => {
    const challengeId = parseId(c.req.valid('param').id, 'Challenge');
    const { code } = c.req.valid('json');
    const result = await c
      .get('services')
      .challenges.verify(c.get('organizationId'), { challengeId, code });
    return c.json(result, 200);
  });
