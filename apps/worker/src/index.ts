export { startWorker, type WorkerRuntime } from './boot.ts';
export type { WorkerDeps } from './deps.ts';
export { processSendCode } from './processors/send-code.ts';
export { reconcileOnce } from './reconciler.ts';
