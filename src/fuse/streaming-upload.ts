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
 * Invariants: at most `maxQueuedBytes` wait in memory, writers wait beyond that;
 * the commit happens only at finish() (close), never earlier.
 */
import { Controller, Entry } from '../core/controller';

export class StreamAbandoned extends Error {}

export class StreamingUpload {
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private nextOffset = 0;
  private ended = false;
  private abandoned?: StreamAbandoned;
  private dataArrived?: () => void;
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly upload: Promise<Entry>;

  constructor(controller: Controller, readonly path: string, private readonly maxQueuedBytes: number) {
    this.upload = controller.writeFile(path, this.source());
    this.upload.catch((err) => this.abandon(err instanceof StreamAbandoned ? err.message : `upload failed: ${(err as Error).message}`));
  }

  /** False once the stream is abandoned (then the spool is what counts). */
  get usable(): boolean {
    return !this.abandoned;
  }

  /**
   * Adds a write that continues the stream; any other offset abandons it. The check
   * and the enqueue happen before the first await, so calls keep their order.
   */
  async push(data: Uint8Array, offset: number): Promise<void> {
    if (this.abandoned) return;
    if (offset !== this.nextOffset) {
      this.abandon(`write at ${offset}, expected ${this.nextOffset}`);
      return;
    }
    this.nextOffset += data.length;
    this.queue.push(Buffer.from(data));
    this.queuedBytes += data.length;
    this.dataArrived?.();
    while (this.queuedBytes > this.maxQueuedBytes && !this.abandoned) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
  }

  /** Ends the stream and resolves once the file is committed (rejects if the upload failed). */
  finish(): Promise<Entry> {
    this.ended = true;
    this.dataArrived?.();
    return this.upload;
  }

  abandon(reason: string): void {
    if (this.abandoned) return;
    this.abandoned = new StreamAbandoned(reason);
    this.queue.length = 0;
    this.dataArrived?.();
    this.spaceWaiters.splice(0).forEach((wake) => wake());
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
