/**
 * The send this process last queued for a challenge: what a verify hashes the
 * code with, so the common verify (its start went through this process) checks
 * the code and approves in one statement instead of a read and then an update.
 * Only a hint: that statement is guarded by it (the challenge's current send must
 * be this one, with this code), and when it does not hold, or the challenge went
 * through another process, the verify reads the challenge and decides as before.
 * Bounded: the oldest hints go first, and a lost hint costs one round trip.
 */
export class SendHints {
  private readonly sends = new Map<string, string>();

  constructor(private readonly capacity = 10_000) {}

  /** The challenge's current send, as this process queued it. */
  set(challengeId: string, sendId: string): void {
    this.sends.delete(challengeId);
    this.sends.set(challengeId, sendId);
    if (this.sends.size > this.capacity) {
      const oldest = this.sends.keys().next().value;
      if (oldest !== undefined) this.sends.delete(oldest);
    }
  }

  get(challengeId: string): string | undefined {
    return this.sends.get(challengeId);
  }

  delete(challengeId: string): void {
    this.sends.delete(challengeId);
  }

  get size(): number {
    return this.sends.size;
  }
}
