import type { Context } from 'hono';
import { jsx } from 'hono/jsx';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { PageOrganizationContext, pageOrganizationOf } from './page-organization.ts';

/** A JSX page as a full HTML document, inside the organization it belongs to (see setPageOrganization). */
export async function render(
  c: Context,
  page: { toString(): string | Promise<string> },
  status = 200,
): Promise<Response> {
  const org = pageOrganizationOf(c as Parameters<typeof pageOrganizationOf>[0]);
  const tree = org
    ? (jsx(PageOrganizationContext.Provider, { value: org }, page as never) as {
        toString(): string | Promise<string>;
      })
    : page;
  const body = await tree.toString();
  return c.html(`<!doctype html>${body}`, status as ContentfulStatusCode);
}
