import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';

/** A JSX page as a full HTML document. */
export async function render(
  c: Context,
  page: { toString(): string | Promise<string> },
  status = 200,
): Promise<Response> {
  const body = await page.toString();
  return c.html(`<!doctype html>${body}`, status as ContentfulStatusCode);
}
