/**
 * Whether a newer committed version of a file only grew from an older one: the same
 * bytes over the older one's whole length, and maybe more after it, as appends make.
 * A reader that has read its version to the end moves on to a newer one only then
 * (fuse/file-ops.ts, so `tail -f` follows a log): moved to a version that replaced
 * its own, it would read the new one's tail after the old one's bytes, a file that
 * never existed.
 *
 * Ranges where both versions have the same part (same offset, size and checksum), or
 * a hole in both, are equal by the metadata alone; only the rest is read from both
 * and compared. An append rewrites just the stripe where the old end was, so that is
 * one part at most. If more than `maxCompared` bytes would have to be read, the answer
 * is no: a version that rewrote that much is a replace, not worth fetching.
 *
 * Invariant: both versions' chunks stay held (Controller.hold) while this runs; it
 * reads them, it changes nothing.
 */
import type { FileSnapshot } from './controller';
import type { PartRecord } from './metadata/metadata-store';
import { partsInRange } from './parts-in-range';
import { sameChecksum } from '../wire/checksum';

/** Compared in pieces of this size, so the memory it takes stays small whatever `maxCompared` is. */
const PIECE = 1 << 20;

/** What reads the bytes of a committed version (Controller.readRange). */
export interface VersionReader {
  readRange(snapshot: FileSnapshot, offset: number, length: number): Promise<Buffer>;
}

/** True if `newer` holds `older`'s bytes at the same offsets, over all of `older`'s length. */
export async function onlyGrewFrom(reader: VersionReader, older: FileSnapshot, newer: FileSnapshot, maxCompared: number): Promise<boolean> {
  if (newer.entry.size < older.entry.size) return false;
  const unsure = rangesToCompare(older.parts, newer.parts, older.entry.size);
  if (unsure.reduce((sum, range) => sum + range.length, 0) > maxCompared) return false;
  for (const { offset, length } of unsure) {
    for (let at = offset; at < offset + length; at += PIECE) {
      const n = Math.min(PIECE, offset + length - at);
      const [before, after] = await Promise.all([reader.readRange(older, at, n), reader.readRange(newer, at, n)]);
      if (!before.equals(after)) return false;
    }
  }
  return true;
}

/** The ranges of [0, end) that the two part lists do not show equal, merged where they touch. */
function rangesToCompare(older: readonly PartRecord[], newer: readonly PartRecord[], end: number): Array<{ offset: number; length: number }> {
  const bounds = new Set([0, end]);
  for (const part of [...older, ...newer]) {
    if (part.offset < end) bounds.add(part.offset);
    if (part.offset + part.size < end) bounds.add(part.offset + part.size);
  }
  const sorted = [...bounds].sort((a, b) => a - b);
  const ranges: Array<{ offset: number; length: number }> = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const [from, to] = [sorted[i], sorted[i + 1]];
    if (sameBytesByMetadata(partsInRange(older, from, 1)[0], partsInRange(newer, from, 1)[0])) continue;
    const last = ranges.at(-1);
    if (last && last.offset + last.length === from) last.length += to - from;
    else ranges.push({ offset: from, length: to - from });
  }
  return ranges;
}

/** True if the parts covering a range in each version (undefined: a hole) hold the same bytes there. */
function sameBytesByMetadata(a: PartRecord | undefined, b: PartRecord | undefined): boolean {
  if (!a || !b) return a === b;
  return a.offset === b.offset && a.size === b.size && sameChecksum(a.checksum, b.checksum);
}
