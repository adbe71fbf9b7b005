export { startWorker, type WorkerOverrides, type WorkerRuntime } from './boot.ts';
export type { WorkerDeps } from './deps.ts';
export { processSendCode, SendFailedError } from './processors/send-code.ts';
export { type ReconcileDeps, reconcileOnce } from './reconciler.ts';
export {
  pruneExpiredOidcPayloads,
  type RetentionDeps,
  type RetentionResult,
  runRetention,
} from './retention.ts';
