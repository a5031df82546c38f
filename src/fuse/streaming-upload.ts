/**
 * Uploading a file while it is being written (as SeaweedFS's upload pipeline does):
 * when a file is written sequentially from offset 0 (cp, dd, tar), each write is also
 * handed to a running Controller.writeFile, so completed stripes travel to the nodes
 * while the writer goes on; close() then only sends the tail and commits.
 *
 * Any other pattern (a write elsewhere than at the end, a truncate, a rename of the
 * open file) abandons the stream: its upload fails, so its copies are doomed and
 * nothing is committed, and close() uploads the spool (which always has every byte)
 * instead.
 *
 * Writes are copied straight into stripe-sized buffers, which the core then stores as
 * parts without copying them again (a buffer handed to writeFile is not touched
 * after), so each byte is copied once on its way from FUSE to the nodes.
 *
 * Invariants: at most `maxQueuedBytes` (plus the stripe being filled) wait in
 * memory, writers wait beyond that; the commit happens only at finish() (close),
 * never earlier.
 */
import { Controller, Entry } from '../core/controller';

export class StreamAbandoned extends Error {}

const FIRST_BUFFER_BYTES = 64 * 1024;

export class StreamingUpload {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private filling?: Buffer;
  private filled = 0;
  private nextOffset = 0;
  private ended = false;
  private abandoned?: StreamAbandoned;
  private dataArrived?: () => void;
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly upload: Promise<Entry>;
  private readonly stripeSize: number;

  constructor(controller: Controller, readonly path: string, private readonly maxQueuedBytes: number) {
    this.stripeSize = controller.stripeSize;
    this.upload = controller.writeFile(path, this.source());
    this.upload.catch((err) => this.abandon(err instanceof StreamAbandoned ? err.message : `upload failed: ${(err as Error).message}`));
  }

  /** False once the stream is abandoned (then the spool is what counts). */
  get usable(): boolean {
    return !this.abandoned;
  }

  /**
   * Adds a write that continues the stream (any other offset abandons it) and
   * returns where its bytes were copied, which stay unchanged from then on (the
   * spool writes them behind), and a promise of room in the queue, which the writer
   * should wait for. Synchronous, so writes keep their order.
   */
  push(data: Uint8Array, offset: number): { copies: Array<{ bytes: Buffer; offset: number }>; room: Promise<void> } | undefined {
    if (this.abandoned) return undefined;
    if (offset !== this.nextOffset) {
      this.abandon(`write at ${offset}, expected ${this.nextOffset}`);
      return undefined;
    }
    const copies: Array<{ bytes: Buffer; offset: number }> = [];
    for (let at = 0; at < data.length;) {
      const n = Math.min(data.length - at, this.stripeSize - this.filled);
      const filling = this.filling && this.filling.length >= this.filled + n ? this.filling : this.growFilling(this.filled + n);
      filling.set(data.subarray(at, at + n), this.filled);
      copies.push({ bytes: filling.subarray(this.filled, this.filled + n), offset: this.nextOffset + at });
      this.filled += n;
      at += n;
      if (this.filled === this.stripeSize) this.enqueueFilling();
    }
    this.nextOffset += data.length;
    return { copies, room: this.room() };
  }

  /** Resolves once at most maxQueuedBytes wait for the upload (or the stream is abandoned). */
  private async room(): Promise<void> {
    while (this.queuedBytes > this.maxQueuedBytes && !this.abandoned) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
  }

  /** Ends the stream and resolves once the file is committed (rejects if the upload failed). */
  finish(): Promise<Entry> {
    if (!this.abandoned) this.enqueueFilling();
    this.ended = true;
    this.dataArrived?.();
    return this.upload;
  }

  abandon(reason: string): void {
    if (this.abandoned) return;
    this.abandoned = new StreamAbandoned(reason);
    this.queue.length = 0;
    this.filling = undefined;
    this.dataArrived?.();
    this.spaceWaiters.splice(0).forEach((wake) => wake());
  }

  /**
   * A larger buffer for the stripe being filled. The first stripe's buffer starts at
   * 64 KiB and doubles, so a small file does not cost a whole stripe's allocation;
   * once a file has passed its first stripe it is a large one, and each later stripe
   * gets a whole stripe at once (regrowing every stripe would allocate and copy it
   * twice). The old buffer is left as it is (the spool may still be writing from it).
   */
  private growFilling(needed: number): Buffer {
    const size = this.nextOffset >= this.stripeSize
      ? this.stripeSize
      : Math.min(this.stripeSize, Math.max(FIRST_BUFFER_BYTES, 2 * (this.filling?.length ?? 0), needed));
    const grown = Buffer.allocUnsafeSlow(size);
    this.filling?.copy(grown, 0, 0, this.filled);
    this.filling = grown;
    return grown;
  }

  private enqueueFilling(): void {
    if (!this.filling || this.filled === 0) return;
    const piece = this.filled === this.filling.length ? this.filling : this.filling.subarray(0, this.filled);
    this.filling = undefined;
    this.filled = 0;
    this.queue.push(piece);
    this.queuedBytes += piece.length;
    this.dataArrived?.();
  }

  private async *source(): AsyncGenerator<Buffer> {
    for (;;) {
      if (this.abandoned) throw this.abandoned;
      const piece = this.queue.shift();
      if (piece) {
        this.queuedBytes -= piece.length;
        if (this.queuedBytes <= this.maxQueuedBytes) this.spaceWaiters.splice(0).forEach((wake) => wake());
        yield piece;
      } else if (this.ended) {
        return;
      } else {
        await new Promise<void>((resolve) => { this.dataArrived = resolve; });
        this.dataArrived = undefined;
      }
    }
  }
}
