/**
 * Windows: buffers lent to the FUSE binding so that most reads and writes of a file
 * are answered on the FUSE thread, without a round trip to the event loop
 * (native/io-window.c says how and why).
 * - A WriteWindow is the stripe buffer of a file being streamed in: the binding copies
 *   (and hashes) the sequential writes that fit. Its StreamingUpload decides when to
 *   lend a buffer, and takes it back before it reads the buffer.
 * - A ReadWindow is a part JS fetched and checked for a read of an open file: the
 *   binding answers the reads that fall inside it. file-ops.ts lends one after each
 *   read it serves, and takes it back before the handle changes the file.
 *
 * IoWindows belongs to one mount and is bound to its fuse-native instance once that
 * exists; it makes the windows of each open file (by handle).
 *
 * Invariants:
 * - A lent buffer is the binding's until taken back: JS does not change it, and the
 *   binding keeps it alive. Nothing is lent before the mount is bound.
 * - Requests the binding answered itself are counted in the mount's metrics
 *   (operations, bytes in and out) when their window is taken back, each exactly once.
 */
import { Checksum, ChecksumAlgorithm, DIGEST_BYTES } from '../wire/checksum';
import type { LentPart } from '../core/controller';
import type { FrontendMetrics } from '../core/metrics';
import { FuseInstance, mountThread, PatchedBinding, patchedBinding } from './binding';

export class IoWindows {
  private fuse?: FuseInstance;

  constructor(private readonly metrics: FrontendMetrics) {}

  /** Binds the windows to the mount they serve (before it is mounted). */
  bind(fuse: FuseInstance): void {
    this.fuse = fuse;
  }

  /** The write window of the open file with handle `fh`, or undefined before bind(). */
  writeWindow(fh: number): WriteWindow | undefined {
    return this.fuse && new WriteWindow(this.handle(this.fuse, fh));
  }

  /** The read window of the open file with handle `fh`, or undefined before bind(). */
  readWindow(fh: number): ReadWindow | undefined {
    return this.fuse && new ReadWindow(this.handle(this.fuse, fh));
  }

  private handle(fuse: FuseInstance, fh: number): WindowHandle {
    return { native: patchedBinding(), thread: () => mountThread(fuse), fh, metrics: this.metrics };
  }
}

/** What a window needs to name itself to the binding. */
interface WindowHandle {
  native: PatchedBinding;
  thread: () => Buffer | null;
  fh: number;
  metrics: FrontendMetrics;
}

/** Takes a window back from the binding, counting what it answered; returns the bytes it held. */
function takeBack({ native, thread, fh, metrics }: WindowHandle, reading: boolean, digest?: Buffer): number {
  const [held, answered, answeredBytes] = native.raidfs_window_close(thread(), fh, reading, digest);
  if (answered > 0) {
    metrics.operation(reading ? 'read' : 'write', answered);
    if (reading) metrics.sent(answeredBytes);
    else metrics.received(answeredBytes);
  }
  return held;
}

export class WriteWindow {
  constructor(private readonly h: WindowHandle) {}

  /**
   * Lends `buffer`, to be filled from its start with the file's bytes from
   * `fileOffset` on (hashed as they are copied if `hash`). False if the binding
   * cannot take it (the handle has a window, or every slot is in use).
   */
  open(buffer: Buffer, fileOffset: number, hash: boolean): boolean {
    return this.h.native.raidfs_window_open(this.h.thread(), this.h.fh, buffer, fileOffset, hash);
  }

  /** Copies as much of `bytes` (which continue the file) as fits; returns how many. */
  append(bytes: Uint8Array): number {
    return this.h.native.raidfs_window_append(this.h.thread(), this.h.fh, bytes);
  }

  /** Bytes the window holds now. */
  filled(): number {
    return this.h.native.raidfs_window_filled(this.h.thread(), this.h.fh);
  }

  /**
   * Takes the buffer back; returns the bytes it holds, with their checksum if it was
   * hashing (the binding hashes with BLAKE3, the algorithm of new chunks).
   */
  close(): { filled: number; checksum: Checksum } {
    const digest = Buffer.allocUnsafe(DIGEST_BYTES);
    return { filled: takeBack(this.h, false, digest), checksum: { algorithm: ChecksumAlgorithm.BLAKE3, digest } };
  }
}

export class ReadWindow {
  private lent?: LentPart;

  constructor(private readonly h: WindowHandle) {}

  /**
   * Lends `part` (of the version the handle reads) in place of the part lent before,
   * if any. The window gives the part back to the chunk cache when it is taken back,
   * or at once if the binding cannot take it.
   */
  lend(part: LentPart): void {
    this.takeBack();
    if (this.h.native.raidfs_window_lend_read(this.h.thread(), this.h.fh, part.data, part.offset)) this.lent = part;
    else part.release();
  }

  /** Takes the part back: before the handle changes the file, and when it closes. */
  takeBack(): void {
    const part = this.lent;
    if (!part) return;
    this.lent = undefined;
    takeBack(this.h, true);
    part.release(); // after the binding let go of it: the cache may free it now
  }
}
