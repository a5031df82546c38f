/**
 * Which parts of a file hold the bytes of a range: the lookup behind every read.
 *
 * A FUSE read asks for 128 KiB, so reading a file whole asks this about once per
 * 128 KiB, twice with read-ahead. Scanning all parts each time made reading a file
 * quadratic in its size (a 64 GiB file, 16,384 parts: ~80 us of scanning per read,
 * ~40 s of CPU for the whole file); a binary search costs O(log parts).
 *
 * Invariant relied on: a file's parts are in idx order, non-empty and do not overlap,
 * within [0, size) (metadata keeps that order); a range between two parts is a hole
 * (zeros, stored nowhere). The parts alone bound a range: a range past the end
 * touches none.
 */
import type { PartRecord } from './metadata/metadata-store';

/** The parts holding any byte of [offset, offset + length), in order. */
export function partsInRange(parts: readonly PartRecord[], offset: number, length: number): PartRecord[] {
  const end = offset + length;
  const touched: PartRecord[] = [];
  for (let i = firstEndingAfter(parts, offset); i < parts.length && parts[i].offset < end; i++) touched.push(parts[i]);
  return touched;
}

/** Index of the first part whose last byte is at or after `offset` (parts.length if none). */
function firstEndingAfter(parts: readonly PartRecord[], offset: number): number {
  let low = 0;
  let high = parts.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (parts[mid].offset + parts[mid].size > offset) high = mid;
    else low = mid + 1;
  }
  return low;
}
