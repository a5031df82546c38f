/**
 * A byte range of a file's content, read part by part: what every read of the
 * controller (readRange, readStream, lendSnapshot, readDraft) comes down to.
 *
 * The content is `parts` (`size` bytes in all); a range no part covers (a hole)
 * reads as zeros. Pieces are the caller's to keep, or with `lent` only until it asks
 * for the next piece (or stops): then the chunk cache can free their memory at once
 * instead of leaving it to V8 (chunk-cache.ts), and a hole's zeros are shared.
 *
 * Invariants: part i is fetched when the stream gets to it, and up to `readAhead`
 * parts after it ahead of time, each only with room in `memory` (StreamMemory) and
 * holding its reservation until the stream is at it. With `holdsCurrent`, the part
 * the stream is at holds one too, until the caller asks for the next piece, and the
 * stream waits for it: at that moment it holds nothing else of the budget (the parts
 * after i are fetched after i). Whatever ends the stream (its end, an error, the
 * caller stopping), every part it fetched is given back and every reservation
 * released.
 */
import type { BorrowedChunk } from './chunk-cache';
import { RaidfsError } from './errors';
import { zeroPieces } from './holes';
import type { MemoryBudget, Reservation } from './memory-budget';
import type { PartRecord } from './metadata/metadata-store';
import { partsInRange } from './parts-in-range';

/** Where a stream's parts are held in memory. */
export interface StreamMemory {
  budget: MemoryBudget;
  /** Whether the part the stream is at holds a reservation too (waited for), not only the parts read ahead. */
  holdsCurrent: boolean;
  /** Read ahead only while this much of the budget stays free. */
  keepFree: number;
  /** Gives up a wait for room (the stream rejects with its reason). */
  signal?: AbortSignal;
}

export interface RangeStreamOptions {
  /** Fetches a part's verified bytes, lent until release() (PartReader.borrow). */
  borrow: (part: PartRecord) => Promise<BorrowedChunk>;
  memory: StreamMemory;
  /** Parts fetched ahead of the one the stream is at (room permitting). */
  readAhead: number;
  /** Pieces lent until the caller asks for the next one, instead of its to keep. */
  lent?: boolean;
}

/** Bytes [offset, offset + length) of the content made of `parts`, clipped to `size` (see the header). */
export async function* streamRange(parts: readonly PartRecord[], size: number, offset: number, length: number,
  { borrow, memory, readAhead, lent = false }: RangeStreamOptions,
): AsyncGenerator<Buffer> {
  if (!Number.isSafeInteger(offset) || offset < 0 || !(length >= 0)) throw new RaidfsError('EINVAL', 'invalid range');
  const end = Math.min(size, offset + length);
  const touched = partsInRange(parts, offset, length);
  const ahead: Array<{ fetch: Promise<BorrowedChunk>; reservation?: Reservation } | undefined> = [];
  const fetch = (part: PartRecord, reservation?: Reservation) => {
    const fetching = borrow(part);
    fetching.catch(() => undefined); // awaited below, in order; this only silences early rejections
    ahead.push({ fetch: fetching, reservation });
  };
  const fetchAheadUpTo = (i: number) => {
    while (ahead.length < Math.min(i, touched.length)) {
      const part = touched[ahead.length];
      const reservation = memory.budget.tryReserve(part.size, memory.keepFree);
      if (!reservation) return;
      fetch(part, reservation);
    }
  };
  const drop = (fetched: (typeof ahead)[number]) => {
    fetched?.fetch.then((chunk) => chunk.release(), () => undefined);
    fetched?.reservation?.release();
  };
  let at = offset;
  try {
    for (let i = 0; i < touched.length; i++) {
      const part = touched[i];
      if (ahead.length === i) fetch(part, memory.holdsCurrent ? await memory.budget.reserve(part.size, memory.signal) : undefined);
      fetchAheadUpTo(i + readAhead + 1);
      if (part.offset > at) yield* zeroPieces(part.offset - at, lent);
      const current = ahead[i]!;
      ahead[i] = undefined;
      if (!memory.holdsCurrent) current.reservation?.release();
      try {
        const chunk = await current.fetch;
        try {
          const data = lent ? chunk.data : chunk.keep();
          yield data.subarray(Math.max(0, offset - part.offset), Math.min(part.size, end - part.offset));
        } finally {
          chunk.release();
        }
      } finally {
        current.reservation?.release();
      }
      at = Math.min(end, part.offset + part.size);
    }
    if (end > at) yield* zeroPieces(end - at, lent);
  } finally {
    ahead.forEach(drop);
  }
}
