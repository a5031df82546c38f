/**
 * Chunks that programs still read although no committed file may refer to them any
 * more: the version a handle of the mount opened, the base a spool copies stripes in
 * from, a download under way. When a write replaces or deletes that version, its
 * copies are doomed as usual, but the collector postpones deleting those of a pinned
 * chunk until no pin holds it; so a program holding a file open keeps reading the
 * version it opened (close-to-open), however long it takes.
 *
 * Invariants:
 * - Counted: a chunk is pinned while any pin holds it.
 * - A pin is taken in the same synchronous step as the snapshot it holds is read
 *   from the metadata (the copies of a committed version are not doomed before
 *   that), and each pin is released once; a second release does nothing.
 * - Pins live in memory: a controller restart ends every handle and download that
 *   held them, and what they held is deleted after the delete delay.
 */
import type { FileSnapshot } from './controller';

export class PinnedChunks {
  private readonly counts = new Map<string, number>();

  /** Pins `snapshot`'s chunks; a SnapshotPin holds them (see SnapshotPin.move). */
  hold(snapshot: FileSnapshot): SnapshotPin {
    return new SnapshotPin(this, snapshot);
  }

  has(chunkId: string): boolean {
    return this.counts.has(chunkId);
  }

  /** Pins `chunkIds`; the function returned releases them (once). */
  pin(chunkIds: readonly string[]): () => void {
    for (const id of chunkIds) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const id of chunkIds) {
        const count = this.counts.get(id)! - 1;
        if (count > 0) this.counts.set(id, count);
        else this.counts.delete(id);
      }
    };
  }
}

/** Holds the chunks of one snapshot at a time: the one a reader or writer reads now. */
export class SnapshotPin {
  private unpin: () => void;
  private released = false;

  constructor(private readonly pins: PinnedChunks, private current: FileSnapshot) {
    this.unpin = pins.pin(chunkIdsOf(current));
  }

  get snapshot(): FileSnapshot {
    return this.current;
  }

  /**
   * Holds `snapshot` instead: pinned before the old one is released, so chunks both
   * share stay pinned throughout. After release() it only records the snapshot.
   */
  move(snapshot: FileSnapshot): void {
    this.current = snapshot;
    if (this.released) return;
    const unpinOld = this.unpin;
    this.unpin = this.pins.pin(chunkIdsOf(snapshot));
    unpinOld();
  }

  release(): void {
    this.released = true;
    this.unpin();
  }
}

function chunkIdsOf(snapshot: FileSnapshot): string[] {
  return snapshot.parts.map((part) => part.chunkId);
}
