/**
 * Reusable stripe-sized buffers for files streamed in through the mount. A fresh
 * 4 MiB buffer costs a thousand page faults on zeroed pages when it is first filled,
 * and freeing it makes V8 collect garbage for the external memory; a buffer that
 * comes back once its part is stored is filled again instead.
 *
 * Invariants: only buffers this pool handed out are taken back (any other is
 * ignored); a buffer comes back only when nothing refers to it any more (its part
 * stored, every copy acknowledged, so the transport has sent it in full); at most
 * `keep` buffers wait here.
 */
export class StripeBuffers {
  private readonly free: Buffer[] = [];
  private readonly issued = new WeakSet<Buffer>();

  constructor(private readonly size: number, private readonly keep: number) {}

  take(): Buffer {
    const buffer = this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    this.issued.add(buffer);
    return buffer;
  }

  /** Takes back a buffer handed out by take(); anything else is left to the garbage collector. */
  give(buffer: Buffer): void {
    if (!this.issued.has(buffer)) return;
    this.issued.delete(buffer);
    if (this.free.length < this.keep) this.free.push(buffer);
  }
}
