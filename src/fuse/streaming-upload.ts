/**
 * Uploading a file while it is being written (as SeaweedFS's upload pipeline does):
 * a file created, or opened with O_TRUNC, starts as a stream fed to
 * Controller.storeDraft. While the writer stays sequential (cp, dd, tar), each write
 * is copied into a stripe-sized buffer and completed stripes travel to the nodes while
 * the writer goes on; close() then sends the tail and commits the draft as the
 * content of the file opened, wherever a rename has moved it.
 *
 * Such a file has no spool: its bytes live in the stripe buffers and on the nodes.
 * Anything else (a write elsewhere than at the end, a read, a truncate to another
 * size) diverts the stream: it ends, its bytes are read back from the nodes into a
 * fresh spool, and its copies are dropped; from then on the spool is the file, as for
 * any other. (A truncate to 0 just cancels the stream: nothing needs reading back.)
 *
 * For a file of more than two stripes, each byte is copied once on its way from FUSE
 * to the nodes: the stripe buffers become the parts (a buffer handed to storeDraft is
 * not touched after), and whole stripe buffers come from the controller's pool, to
 * which stored parts return. From the third stripe on (the first two become parts
 * only if a third comes: a smaller file is cut into two halves, see part-splitter.ts)
 * each write is hashed right after its copy, while still in the CPU's cache, and the
 * stripe is handed over with its checksum, so it needs no hashing pass of its own.
 *
 * With a WriteWindow (files written through the mount), each stripe from the third on
 * is lent to the FUSE binding as soon as the previous one is complete: the binding
 * copies and hashes the writes that continue the file itself, and only the write that
 * no longer fits reaches push(), which takes the full stripe back, hands it on, lends
 * the next one and appends the rest of that write to it. Every other entry takes the
 * window back first, so the stripe's bytes are JS's again before anything reads them.
 *
 * A stream holds a reservation of the controller's data memory for its whole life;
 * a file that finds none (too many streams open at once) is not streamed but
 * spooled, as any other (file-ops.ts).
 *
 * Invariants: at most two stripes (plus the stripe being filled) wait in memory,
 * writers wait beyond that (a window is the stripe being filled: once it is full,
 * the next write waits in push() like any other); nothing is committed before
 * finish() (close or fsync); once the upload fails every later push, finish and
 * divert fails with its error, as the bytes handed over are gone; the draft is
 * committed or dropped exactly once.
 */
import { Controller, Draft } from '../core/controller';
import type { Reservation } from '../core/memory-budget';
import type { Bytes } from '../core/part-splitter';
import { Checksum, Hasher, newHasher } from '../wire/checksum';
import type { Spool } from './spool';
import type { WriteWindow } from './io-window';

const FIRST_BUFFER_BYTES = 64 * 1024;
/** Completed stripes that may wait for the nodes before a writer waits. */
const QUEUED_STRIPES = 2;

export class StreamingUpload {
  private readonly queue: Bytes[] = [];
  private queuedBytes = 0;
  private filling?: Buffer;
  private filled = 0;
  /** Checksum of the bytes in `filling`, fed as they are copied in; from the third stripe on. */
  private fillingHash?: Hasher;
  /** Checksum of the bytes in `filling`, from the window that filled it. */
  private fillingChecksum?: Checksum;
  /** `filling` is lent to the window: its bytes beyond `filled` are the window's to count. */
  private lent = false;
  /** Bytes written so far and counted here (those in a lent window are not). */
  private written = 0;
  /** No more writes: finishing, diverted or cancelled. */
  ended = false;
  private failure?: unknown;
  private dataArrived?: () => void;
  private readonly spaceWaiters: Array<() => void> = [];
  private readonly stored: Promise<Draft>;
  private readonly stripeSize: number;
  /** Completed stripes that may wait for the nodes before a writer waits. */
  private readonly maxQueuedBytes: number;

  /**
   * A stream for a file that starts empty, if the controller's data memory has room
   * for its store and for the stripes it queues and fills; undefined if not (the
   * file is spooled).
   */
  static start(controller: Controller, window?: WriteWindow): StreamingUpload | undefined {
    const memory = controller.reserveStream((QUEUED_STRIPES + 1) * controller.stripeSize);
    return memory && new StreamingUpload(controller, memory, window);
  }

  /** `reservation` is the stream's data memory, released once its store ends. */
  private constructor(private readonly controller: Controller, reservation: Reservation, private readonly window?: WriteWindow) {
    this.stripeSize = controller.stripeSize;
    this.maxQueuedBytes = QUEUED_STRIPES * this.stripeSize;
    this.stored = controller.storeDraft(this.source(), reservation);
    this.stored.catch((err) => {
      this.failure = err;
      if (this.lent) this.window!.close();
      this.lent = false;
      this.queue.length = 0;
      this.filling = undefined;
      this.spaceWaiters.splice(0).forEach((wake) => wake());
    });
  }

  /** Bytes written so far: where the next write must start. */
  get size(): number {
    return this.written + (this.lent ? this.window!.filled() : 0);
  }

  /** True when a write at `offset` continues the stream. */
  accepts(offset: number): boolean {
    return !this.ended && offset === this.size;
  }

  /**
   * Copies a write that continues the stream (accepts() said so) and resolves once
   * there is room in the queue; rejects with the upload's error if it failed.
   * The copy is made synchronously, so writes keep their order.
   */
  push(data: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    for (let at = 0; at < data.length;) {
      if (this.lent) {
        at += this.window!.append(data.subarray(at));
        if (at < data.length) this.takeBack(); // full: hand it on and lend the next
        continue;
      }
      const n = Math.min(data.length - at, this.stripeSize - this.filled);
      const filling = this.filling && this.filling.length >= this.filled + n ? this.filling : this.growFilling(this.filled + n);
      const piece = data.subarray(at, at + n);
      if (this.fillingHash) this.fillingHash.copyIn(piece, filling, this.filled);
      else filling.set(piece, this.filled);
      this.filled += n;
      this.written += n;
      at += n;
      if (this.filled === this.stripeSize) this.enqueueFilling();
    }
    return this.room();
  }

  /** Ends the stream; resolves with the draft of every byte written, to be committed or dropped. */
  finish(): Promise<Draft> {
    if (!this.ended) {
      this.ended = true;
      this.takeBack();
      if (!this.failure) this.enqueueFilling();
      this.dataArrived?.();
    }
    return this.stored;
  }

  /** Ends the stream and copies every byte written into `spool` (read back from the nodes); the draft is dropped. */
  async divertInto(spool: Spool): Promise<void> {
    const draft = await this.finish();
    try {
      await spool.fill(this.controller.readDraft(draft));
    } finally {
      this.controller.dropDraft(draft);
    }
  }

  /** Ends the stream and drops what it stored; resolves once dropped (never rejects). */
  cancel(): Promise<void> {
    return this.finish().then((draft) => this.controller.dropDraft(draft), () => undefined);
  }

  private async room(): Promise<void> {
    while (this.queuedBytes > this.maxQueuedBytes && !this.failure) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.failure) throw this.failure;
  }

  /**
   * A larger buffer for the stripe being filled. The first stripe's buffer starts at
   * 64 KiB and doubles, so a small file does not cost a whole stripe's allocation;
   * once a file has passed its first stripe it is a large one, and each later stripe
   * gets a whole stripe at once (regrowing every stripe would allocate and copy it
   * twice).
   */
  private growFilling(needed: number): Buffer {
    const size = this.written >= this.stripeSize
      ? this.stripeSize
      : Math.min(this.stripeSize, Math.max(FIRST_BUFFER_BYTES, 2 * (this.filling?.length ?? 0), needed));
    const grown = size === this.stripeSize ? this.controller.stripeBuffers.take() : Buffer.allocUnsafeSlow(size);
    this.filling?.copy(grown, 0, 0, this.filled);
    this.filling = grown;
    return grown;
  }

  private enqueueFilling(): void {
    const filling = this.filling;
    if (!filling) return;
    this.filling = undefined;
    if (this.filled === 0) { // a window lent at the file's very end: nothing to hand on
      this.controller.stripeBuffers.give(filling);
      this.fillingChecksum = undefined;
      return;
    }
    const data = this.filled === filling.length ? filling : filling.subarray(0, this.filled);
    this.queue.push({ data, checksum: this.fillingChecksum ?? this.fillingHash?.result() });
    this.queuedBytes += data.length;
    this.filled = 0;
    this.fillingChecksum = undefined;
    this.fillingHash = undefined;
    this.dataArrived?.();
    if (this.written >= 2 * this.stripeSize && !this.lendNext()) this.fillingHash = newHasher();
  }

  /** Lends a fresh stripe buffer to the window, if there is one and the stream goes on; false if not lent. */
  private lendNext(): boolean {
    if (!this.window || this.ended || this.failure) return false;
    const buffer = this.controller.stripeBuffers.take();
    if (!this.window.open(buffer, this.written, true)) {
      this.controller.stripeBuffers.give(buffer);
      return false;
    }
    this.filling = buffer;
    this.lent = true;
    return true;
  }

  /** Takes the lent stripe back, with what the window put in it; hands it on if full. */
  private takeBack(): void {
    if (!this.lent) return;
    this.lent = false;
    const { filled, checksum } = this.window!.close();
    this.filled = filled;
    this.written += filled;
    this.fillingChecksum = checksum;
    if (filled === this.stripeSize) this.enqueueFilling();
  }

  private async *source(): AsyncGenerator<Bytes> {
    for (;;) {
      const piece = this.queue.shift();
      if (piece) {
        this.queuedBytes -= piece.data.length;
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
