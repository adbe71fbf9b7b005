import { OpenAPIHono, z } from '@hono/zod-openapi';
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
