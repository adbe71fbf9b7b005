export { startWorker, type WorkerOverrides, type WorkerRuntime } from './boot.ts';
export type { WorkerDeps } from './deps.ts';
export {
  BatchOutcomeUnknownError,
  type BatchReport,
  type Committer,
  directCommitter,
  GroupCommit,
  isStatementError,
} from './group-commit.ts';
export { processSendCode, SendFailedError } from './processors/send-code.ts';
export { type ReconcileDeps, reconcileOnce } from './reconciler.ts';
export {
  pruneExpiredOidcPayloads,
  type RetentionDeps,
  type RetentionResult,
  runRetention,
  runWebhookRetention,
} from './retention.ts';
export { dispatchWebhookDeliveries, requeueLostDeliveries } from './webhook-dispatch.ts';
export { postWebhook, WEBHOOK_MAX_RESPONSE_BYTES } from './webhook-http.ts';
