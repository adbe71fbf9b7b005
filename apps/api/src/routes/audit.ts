import { z } from '@hono/zod-openapi';
import { listAudit } from '@twofa/db';
import { createRouter, errors, jsonResponse, orgRoute } from '../lib/openapi.ts';

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
    query: z.object({
      limit: z.coerce.number().int().min(1).max(100).default(50),
      before: z
        .string()
        .regex(/^\d{1,18}$/, 'a cursor from nextCursor')
        .optional(),
    }),
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
  const { limit, before } = c.req.valid('query');
  const rows = await listAudit(c.get('services').db.sql, c.get('organizationId'), {
    limit: limit + 1,
    before: before === undefined ? undefined : Number(before),
  });
  const page = rows.slice(0, limit);
  const nextCursor = rows.length > limit ? (page[page.length - 1]?.id ?? null) : null;
  return c.json(
    { events: page.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })), nextCursor },
    200,
  );
});
