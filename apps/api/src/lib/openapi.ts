import { createRoute, OpenAPIHono, type RouteConfig, z } from '@hono/zod-openapi';
import { organizationAuth, platformAuth } from './auth.ts';
import type { AppEnv } from './env.ts';
import { validationProblem } from './http.ts';

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string(),
    detail: z.string(),
    requestId: z.string().optional(),
  })
  .openapi('Problem');

const problemContent = { 'application/problem+json': { schema: Problem } };

/** Documented error answers, by status. */
export function errors(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      { description: `Error (${status})`, content: problemContent },
    ]),
  );
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } };
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } };
}

export const bearerSecurity = [{ bearer: [] }];

/** What every authenticated route answers before it looks at the request. */
const authErrors = {
  401: { description: 'No API key, or an unknown one', content: problemContent },
  403: { description: 'A valid key of the wrong kind for this route', content: problemContent },
};

/** A route definition before the helpers below attach its auth. */
export type AuthenticatedRouteConfig = Omit<RouteConfig, 'security' | 'middleware'> & {
  summary: string;
  operationId: string;
};

function authenticatedRoute(auth: typeof organizationAuth, key: string) {
  return <const R extends AuthenticatedRouteConfig>(config: R) =>
    createRoute({
      ...config,
      description: withKeyNote(config.description, key),
      security: bearerSecurity,
      middleware: [auth] as const,
      responses: { ...config.responses, ...authErrors },
    });
}

/**
 * An organization-key route: the auth middleware (which also loads the
 * organization into the context, once per request), the bearer scheme and
 * the 401/403 answers in the document all come from here, never from path
 * strings elsewhere.
 */
export const orgRoute = authenticatedRoute(organizationAuth, 'an organization key');

/** A platform-key route (`ADMIN_API_KEY`). */
export const platformRoute = authenticatedRoute(platformAuth, 'the platform key (`ADMIN_API_KEY`)');

function withKeyNote(description: string | undefined, key: string): string {
  const note = `Takes ${key} as \`Authorization: Bearer <key>\`.`;
  return description ? `${description}\n\n${note}` : note;
}

/** A router whose validation failures answer the contract's 400 problem. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (!result.success) return validationProblem(c, result.error);
    },
  });
}

export function IdParam<N extends string>(name: N) {
  const shape = {
    [name]: z
      .string()
      .openapi({ param: { name, in: 'path' }, example: '7c9e6679-7425-40de-944b-e07fc1f90ae7' }),
  } as Record<N, z.ZodString>;
  return z.object(shape);
}
