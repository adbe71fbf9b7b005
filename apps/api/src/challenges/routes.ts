import { createRouter } from '../lib/openapi.ts';
import { getRouter } from './get.ts';
import { phoneRouter } from './phone.ts';
import { resendRouter } from './resend.ts';
import { startRouter } from './start.ts';
import { verifyRouter } from './verify.ts';

export { loginsRouter } from './login.ts';

/** The `/v1/challenges` routes, each defined beside its use case. */
export const challengesRouter = createRouter()
  .route('/', startRouter)
  .route('/', getRouter)
  .route('/', phoneRouter)
  .route('/', resendRouter)
  .route('/', verifyRouter);
