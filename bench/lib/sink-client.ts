import type { Child } from './procs.ts';
import type { SinkEvent, SinkMessage } from './sink.ts';

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

  constructor(child: Child, url: string) {
    this.url = url;
    child.proc.on('message', (event: SinkEvent) => {
      if (event.type !== 'messages') return;
      for (const m of event.batch) this.take(m);
    });
  }

  private take(m: SinkMessage): void {
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
