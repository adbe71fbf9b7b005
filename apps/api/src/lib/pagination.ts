import { z } from '@hono/zod-openapi';

/** The query of a list read newest first by id: the page size and the cursor it goes on from. */
export const CursorQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  before: z
    .string()
    .regex(/^\d{1,18}$/, 'a cursor from nextCursor')
    .optional(),
});
export type CursorQuery = z.infer<typeof CursorQuery>;

/**
 * One page of a list read newest first: `read` is asked for one row more than the page so the
 * answer knows whether another follows, and `nextCursor` (the page's last id) is null when not.
 */
export async function readPage<T extends { id: string }>(
  query: CursorQuery,
  read: (options: { limit: number; before: number | undefined }) => Promise<T[]>,
): Promise<{ page: T[]; nextCursor: string | null }> {
  const rows = await read({
    limit: query.limit + 1,
    before: query.before === undefined ? undefined : Number(query.before),
  });
  const page = rows.slice(0, query.limit);
  const nextCursor = rows.length > query.limit ? (page[page.length - 1]?.id ?? null) : null;
  return { page, nextCursor };
}
