/**
 * Makes the controller's lazy metadata commits durable within a bounded delay, as a
 * local file system's journal does with its commit interval (ext4: commit=5 s). The
 * mount's close() commits a file without waiting for the disk (its chunks are already
 * fsynced on two nodes); this fsyncs the commit within `delayMs`, and fsync(2) on
 * the file does it at once (Controller.syncMetadata).
 *
 * Invariants:
 * - After noteLazyCommit(), a sync runs within delayMs, unless syncNow() ran first.
 * - A failed sync is logged and retried after delayMs; its commits stay counted as
 *   unsynced (MetadataStore.unsyncedCommits) meanwhile.
 * - With delayMs 0 (not `enabled`) nothing is lazy: the controller fsyncs every commit
 *   at once and never calls noteLazyCommit.
 * - stop() cancels the timer; MetadataStore.close() syncs whatever is left.
 */
import { createLogger, errorMessage } from '../common/log';
import { MetadataStore } from './metadata/metadata-store';

const log = createLogger('metadata');

export class DelayedSync {
  private timer?: NodeJS.Timeout;

  constructor(private readonly metadata: MetadataStore, readonly delayMs: number) {}

  /** Whether commits may be lazy at all. */
  get enabled(): boolean {
    return this.delayMs > 0;
  }

  /** A lazy commit was made (only ever while enabled): sync within delayMs. */
  noteLazyCommit(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.syncOnTimer(), this.delayMs);
    this.timer.unref();
  }

  /** Makes every commit so far durable now; throws if the disk refuses (the timer then tries again, as after its own failure). */
  syncNow(): void {
    this.stop();
    try {
      this.metadata.sync();
    } catch (err) {
      this.noteLazyCommit();
      throw err;
    }
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private syncOnTimer(): void {
    this.timer = undefined;
    try {
      this.metadata.sync();
    } catch (err) {
      log.error('metadata sync failed; will retry', { unsynced: this.metadata.unsyncedCommits, error: errorMessage(err) });
      this.noteLazyCommit();
    }
  }
}
