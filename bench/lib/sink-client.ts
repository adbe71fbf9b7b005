import type { Child } from './procs.ts';
import type { SinkCommand, SinkEvent, SinkMessage } from './sink.ts';

const CODE = /\b(\d{6})\b/;

export function codeOf(body: string): string | null {
  return CODE.exec(body)?.[1] ?? null;
}

/** The load generator's view of the fake SMS provider: who got what, when. */
export class SinkClient {
  readonly url: string;
  private readonly waiters = new Map<
    string,
    { resolve: (m: SinkMessage) => void; timer: NodeJS.Timeout }
  >();
  private recording: SinkMessage[] | null = null;
  /** sendId -> code, kept only while asked to (verify needs right codes). */
  private codes: Map<string, string> | null = null;

  private readonly listeners = new Set<(m: SinkMessage) => void>();
  private readonly receipts = new Map<string, (status: number | null) => void>();

  constructor(
    private readonly child: Child,
    url: string,
  ) {
    this.url = url;
    child.proc.on('message', (event: SinkEvent) => {
      if (event.type === 'receipted') {
        this.receipts.get(event.sid)?.(event.status);
        this.receipts.delete(event.sid);
        return;
      }
      if (event.type !== 'messages') return;
      for (const m of event.batch) this.take(m);
    });
  }

  /** Calls `listener` with every message the fake takes, until the returned function is called. */
  subscribe(listener: (m: SinkMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Has the fake post a signed delivery receipt for message `sid` to its status callback (the
   * API); resolves with the API's HTTP status, null when the fake could not post it.
   */
  receipt(sid: string, status: string): Promise<number | null> {
    return new Promise((resolve) => {
      this.receipts.set(sid, resolve);
      this.child.proc.send({ type: 'receipt', sid, status } satisfies SinkCommand);
    });
  }

  private take(m: SinkMessage): void {
    for (const listener of this.listeners) listener(m);
    this.recording?.push(m);
    if (this.codes && m.sendId) {
      const code = codeOf(m.body);
      if (code) this.codes.set(m.sendId, code);
    }
    const waiter = this.waiters.get(m.to);
    if (waiter) {
      this.waiters.delete(m.to);
      clearTimeout(waiter.timer);
      waiter.resolve(m);
    }
  }

  /** The next message to `to`; register before making the request that sends it. */
  next(to: string, timeoutMs = 30_000): Promise<SinkMessage> {
    if (this.waiters.has(to)) throw new Error(`Already waiting for a message to ${to}`);
    const message = new Promise<SinkMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(to);
        reject(new Error(`No SMS to ${to} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.set(to, { resolve, timer });
    });
    // The caller may fail before awaiting it; its timeout must not become an unhandled rejection.
    message.catch(() => {});
    return message;
  }

  /** Stops waiting for `to` (the request that would have sent it failed). */
  cancel(to: string): void {
    const waiter = this.waiters.get(to);
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.waiters.delete(to);
  }

  startRecording(): void {
    this.recording = [];
  }

  stopRecording(): SinkMessage[] {
    const taken = this.recording ?? [];
    this.recording = null;
    return taken;
  }

  keepCodes(on: boolean): void {
    this.codes = on ? (this.codes ?? new Map()) : null;
  }

  takeCodes(): Map<string, string> {
    const codes = this.codes ?? new Map<string, string>();
    this.codes = null;
    return codes;
  }
}
