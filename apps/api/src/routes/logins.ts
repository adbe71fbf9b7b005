import { z } from '@hono/zod-openapi';
import { createRouter, errors, jsonBody, jsonResponse, orgRoute } from '../lib/openapi.ts';
import { ClientIp, DeviceToken, Email, LoginResult, Password } from '../lib/schemas.ts';

const postLogin = orgRoute({
  method: 'post',
  path: '/v1/logins',
  tags: ['Logins'],
  operationId: 'login',
  summary: 'Check a password, then start the second step if the policy asks for one',
  description:
    'A wrong email or password is 401 invalid_credentials, the same answer and timing for both. Limits: ip_logins (30 a minute per end-user ip) and account_failures (10 wrong passwords per account per 15 minutes), both taken before the password is checked.',
  request: {
    body: jsonBody(
      z.object({
        email: Email,
        password: Password,
        ip: ClientIp,
        deviceToken: DeviceToken.optional(),
      }),
    ),
  },
  responses: {
    200: jsonResponse(LoginResult, 'Authenticated, or a challenge to complete'),
    ...errors(400, 422, 423, 429, 503),
  },
});

export const loginsRouter = createRouter().openapi(postLogin, async (c) => {
  const { email, password, ip, deviceToken } = c.req.valid('json');
  const outcome = await c
    .get('services')
    .challenges.login(
      c.get('organization'),
      { email, password, ip, deviceToken },
      { logger: c.get('logger') },
    );
  return c.json(outcome, 200);
});
