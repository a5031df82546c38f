/**
 * Write windows: a stripe buffer lent to the FUSE binding, so that the sequential
 * writes of a large file are copied (and hashed) on the FUSE thread and answered there,
 * without a round trip to the event loop (native/write-window.c says how and why).
 *
 * WriteWindows belongs to one mount and is bound to its fuse-native instance once that
 * exists; WriteWindow is one open file's window, used by its StreamingUpload, which
 * decides when to lend a buffer and takes it back before it reads the buffer.
 *
 * Invariants:
 * - A lent buffer is the binding's until close(): JS neither reads nor changes it, and
 *   the binding keeps it alive. Nothing is lent before the mount is bound.
 * - Writes the binding answered itself are counted in the mount's metrics (operations
 *   and bytes in) when the window is closed, so each exactly once.
 */
import type { FrontendMetrics } from '../core/metrics';
import { FuseInstance, PatchedBinding, patchedBinding } from './binding';

export class WriteWindows {
  private fuse?: FuseInstance;

  constructor(private readonly metrics: FrontendMetrics) {}

  /** Binds the windows to the mount they serve (before it is mounted). */
  bind(fuse: FuseInstance): void {
    this.fuse = fuse;
  }

  /** The window of the open file with handle `fh`, or undefined before bind(). */
  forHandle(fh: number): WriteWindow | undefined {
    const fuse = this.fuse;
    if (!fuse) return undefined;
    // fuse-native's per-mount thread state, made when it mounts; the binding knows the mount by it.
    const thread = () => (fuse as unknown as { _thread: Buffer | null })._thread;
    return new WriteWindow(patchedBinding(), thread, fh, this.metrics);
  }
}

export class WriteWindow {
  constructor(
    private readonly native: PatchedBinding,
    private readonly thread: () => Buffer | null,
    private readonly fh: number,
    private readonly metrics: FrontendMetrics,
  ) {}

  /**
   * Lends `buffer`, to be filled from its start with the file's bytes from
   * `fileOffset` on (hashed as they are copied if `hash`). False if the binding
   * cannot take it (the handle has a window, or every slot is in use).
   */
  open(buffer: Buffer, fileOffset: number, hash: boolean): boolean {
    return this.native.raidfs_window_open(this.thread(), this.fh, buffer, fileOffset, hash);
  }

  /** Copies as much of `bytes` (which continue the file) as fits; returns how many. */
  append(bytes: Uint8Array): number {
    return this.native.raidfs_window_append(this.thread(), this.fh, bytes);
  }

  /** Bytes the window holds now. */
  filled(): number {
    return this.native.raidfs_window_filled(this.thread(), this.fh);
  }

  /** Takes the buffer back; returns the bytes it holds, and writes their SHA-256 into `digest` if it was hashing. */
  close(digest?: Buffer): number {
    const [filled, fastWrites, fastBytes] = this.native.raidfs_window_close(this.thread(), this.fh, digest);
    if (fastWrites > 0) {
      this.metrics.operation('write', fastWrites);
      this.metrics.received(fastBytes);
    }
    return filled;
  }
}
