import { z } from '@hono/zod-openapi';
import { listAudit } from '@twofa/db';
import { createRouter, errors, jsonResponse, orgRoute } from '../lib/openapi.ts';
import { CursorQuery, readPage } from '../lib/pagination.ts';

const AuditEvent = z
  .object({
    id: z.string(),
    type: z.string(),
    actor: z.string(),
    ip: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .openapi('AuditEvent');

const listRoute = orgRoute({
  method: 'get',
  path: '/v1/audit-events',
  tags: ['Audit'],
  operationId: 'listAuditEvents',
  summary: "The organization's audit log, newest first",
  request: {
    query: CursorQuery,
  },
  responses: {
    200: jsonResponse(
      z.object({ events: z.array(AuditEvent), nextCursor: z.string().nullable() }),
      'Newest first',
    ),
    ...errors(400),
  },
});

export const auditRouter = createRouter();

auditRouter.openapi(listRoute, async (c) => {
  const { page, nextCursor } = await readPage(c.req.valid('query'), (options) =>
    listAudit(c.get('services').db.sql, c.get('organizationId'), options),
  );
  return c.json(
    { events: page.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })), nextCursor },
    200,
  );
});
