import type { OpenAPIHono, RouteConfig } from '@hono/zod-openapi';
import { z } from '@hono/zod-openapi';
import type { AppEnv } from '../lib/env.ts';

/**
 * The pages in /openapi.json (tag Pages), so every path of the contract is
 * listed: each page file documents its routes beside its handlers with
 * documentPage, and createApp registers them all with registerPageDocs.
 */
const PAGE_DOCS: Parameters<OpenAPIHono<AppEnv>['openAPIRegistry']['registerPath']>[0][] = [];

type Responses = RouteConfig['responses'];

export const html = (description: string) => ({
  description,
  content: { 'text/html': { schema: z.string() } },
});
export const redirect = (description: string) => ({ description });
/** A urlencoded form body, documented field by field. */
export const form = (fields: Record<string, string>) => ({
  body: {
    required: true,
    content: {
      'application/x-www-form-urlencoded': {
        schema: z.object(
          Object.fromEntries(
            Object.entries(fields).map(([name, description]) => [
              name,
              z.string().optional().openapi({ description }),
            ]),
          ),
        ),
      },
    },
  },
});
export const csrf = 'CSRF token from the page; a POST without the right one is 403';
export const userIdParams = z.object({
  userId: z.string().openapi({ param: { name: 'userId', in: 'path' } }),
});

/** Documents one page route (an HTML page for people, no API key). */
export function documentPage(
  method: 'get' | 'post',
  path: string,
  operationId: string,
  summary: string,
  responses: Responses,
  request?: RouteConfig['request'],
): void {
  PAGE_DOCS.push({
    method,
    path,
    tags: ['Pages'],
    operationId,
    summary,
    description: 'An HTML page for people; its session is a cookie, not an API key.',
    // Pages take no API key: the browser's session cookie (or none, for sign-in).
    security: [],
    responses,
    ...(request ? { request } : {}),
  });
}

/** Registers every page route documented with documentPage. */
export function registerPageDocs(app: OpenAPIHono<AppEnv>): void {
  for (const doc of PAGE_DOCS) app.openAPIRegistry.registerPath(doc);
}

export const adminOnly = {
  200: html('The page'),
  303: redirect('Logged out: to /login'),
  403: html('A member, not an admin'),
};
export const adminPost = {
  303: redirect('Saved: back to the page'),
  403: html('Bad CSRF token, or not an admin'),
};
