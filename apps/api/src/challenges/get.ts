import { z } from '@hono/zod-openapi';
import type { ChallengeView } from '@twofa/core';
import { challengeView } from '@twofa/core';
import { getChallenge } from '@twofa/db';
import { notFound } from '../lib/errors.ts';
import { parseId } from '../lib/http.ts';
import { createRouter, errors, jsonResponse, orgRoute } from '../lib/openapi.ts';
import { Challenge } from '../lib/schemas.ts';
import type { ChallengeDeps } from './deps.ts';
import { ChallengeParams, tags } from './docs.ts';

/** A challenge of the organization, with the database's clock as this read saw it; 404 when absent. */
export async function loadChallenge(
  deps: ChallengeDeps,
  organizationId: string,
  challengeId: string,
) {
  const row = await getChallenge(deps.db.sql, organizationId, challengeId);
  if (!row) throw notFound('Challenge');
  return row;
}

/** A challenge as loaded: its row, its code's hash, and the database's clock at the read. */
export type LoadedChallenge = Awaited<ReturnType<typeof loadChallenge>>;

export async function getChallengeView(
  deps: ChallengeDeps,
  organizationId: string,
  challengeId: string,
): Promise<ChallengeView> {
  const row = await loadChallenge(deps, organizationId, challengeId);
  // `dbNow` is the database's clock as this request read it (see packages/db challenges.ts).
  return challengeView(row, row.dbNow);
}

/** The longest `GET /v1/challenges/{id}?wait=` holds an answer. */
const MAX_WAIT_SECONDS = 10;
/** How often a held answer re-reads the challenge (no LISTEN: PgBouncer in transaction mode). */
const WAIT_POLL_MS = 150;

const changeKey = (view: { status: string; delivery: { status: string } | null }) =>
  `${view.status}/${view.delivery?.status ?? ''}`;

const getRoute = orgRoute({
  method: 'get',
  path: '/v1/challenges/{id}',
  tags,
  operationId: 'getChallenge',
  summary: 'Read a challenge',
  description:
    'With `wait`, the answer is held until the status or the delivery status changes, or `wait` seconds pass, so a client learns `failed` or `delivered` without polling.',
  request: {
    params: ChallengeParams,
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

export const getRouter = createRouter().openapi(getRoute, async (c) => {
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
});
