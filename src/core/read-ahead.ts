/**
 * Read-ahead for one sequential reader (a handle of the mount): the parts it will
 * want next, fetched before it asks for them and held until it has read past them.
 *
 * Invariants:
 * - Each held part holds a reservation of its size, taken only if it is granted at
 *   once (Controller.startReadAhead: from the data memory, leaving room for the stores):
 *   read-ahead never waits, and what all readers hold ahead stays within the budget.
 * - A held part is borrowed from the chunk cache, which never evicts what is
 *   borrowed, so the reader finds it there when it gets to it: each part is fetched
 *   once. (Read-ahead that only warmed the cache let 48 readers at once evict each
 *   other's parts before they got to them: 24 fetches per part, 35 MB/s in all.)
 * - A part is asked for once while it is held, however many reads come before it
 *   arrives. A fetch that fails holds nothing: the reader's own read fetches the
 *   part again, and reports what fails.
 * - passed() lets go of the parts that end before the reader, clear() of all.
 */
import type { BorrowedChunk } from './chunk-cache';
import type { Reservation } from './memory-budget';
import type { PartRecord } from './metadata/metadata-store';
import { partsInRange } from './parts-in-range';

interface HeldPart {
  /** Where the part ends in the file. */
  end: number;
  reservation: Reservation;
  borrowed: Promise<BorrowedChunk>;
}

export class ReadAhead {
  /** By chunk id. */
  private readonly held = new Map<string, HeldPart>();

  constructor(
    private readonly borrow: (part: PartRecord) => Promise<BorrowedChunk>,
    /** Room for `bytes` now, or undefined (then nothing more is read ahead for now). */
    private readonly room: (bytes: number) => Reservation | undefined,
  ) {}

  /** Holds the parts that overlap [offset, offset + length), in order, while there is room. */
  fetch(parts: readonly PartRecord[], offset: number, length: number): void {
    for (const part of partsInRange(parts, offset, length)) {
      if (this.held.has(part.chunkId)) continue;
      const reservation = this.room(part.size);
      if (!reservation) return;
      const held: HeldPart = { end: part.offset + part.size, reservation, borrowed: this.borrow(part) };
      // Only this hold: the part may have been let go and held anew by the time a fetch fails.
      held.borrowed.catch(() => { if (this.held.get(part.chunkId) === held) this.letGo(part.chunkId); });
      this.held.set(part.chunkId, held);
    }
  }

  /** Lets go of the parts that end at or before `offset`: the reader is past them. */
  passed(offset: number): void {
    for (const [chunkId, held] of this.held) if (held.end <= offset) this.letGo(chunkId);
  }

  /** Lets go of every part (the handle closed, or reads another version now). */
  clear(): void {
    for (const chunkId of [...this.held.keys()]) this.letGo(chunkId);
  }

  private letGo(chunkId: string): void {
    const held = this.held.get(chunkId);
    if (!held) return;
    this.held.delete(chunkId);
    held.reservation.release();
    held.borrowed.then((chunk) => chunk.release(), () => undefined);
  }
}
