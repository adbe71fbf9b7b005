/**
 * Loaded with `--import` into the bench's own API and worker processes, beside `--expose-gc`
 * (never in a production start script): on a `bench-gc` IPC message from the bench it forces a
 * full collection and answers with the heap used after it. It does nothing in a process without
 * both the flag and an IPC channel, and never keeps the process alive (the channel is unref'd).
 */
export interface GcRequest {
  type: 'bench-gc';
  id: number;
}

export interface GcAnswer {
  type: 'bench-heap';
  id: number;
  /** `process.memoryUsage().heapUsed` after the forced collection, in MiB. */
  heapUsedMiB: number;
}

const gc = (globalThis as { gc?: () => void }).gc;
if (typeof gc === 'function' && typeof process.send === 'function') {
  process.on('message', (msg: unknown) => {
    const request = msg as Partial<GcRequest> | null;
    if (request?.type !== 'bench-gc' || typeof request.id !== 'number') return;
    gc();
    const heapUsedMiB = Math.round((process.memoryUsage().heapUsed / 2 ** 20) * 10) / 10;
    process.send?.({ type: 'bench-heap', id: request.id, heapUsedMiB } satisfies GcAnswer);
  });
  // A 'message' listener refs the channel; the probe must not keep the process running.
  process.channel?.unref();
}
