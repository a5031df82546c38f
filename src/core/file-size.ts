/**
 * The largest file raidfs stores: 16 TiB less 4 KiB, the most ext4 (4 KiB blocks)
 * holds in one file, and so the controller's spool of a file written out of order,
 * which usually sits on ext4. A write, a truncate or an upload that would make a
 * file larger fails with EFBIG (cp: "File too large", REST: 413) before anything
 * changes, never with a spool error at close.
 *
 * Invariant: every committed file's size is at most MAX_FILE_SIZE, so offsets and
 * sizes are exact in a JavaScript number with room to spare.
 */
import { RaidfsError } from './errors';

export const MAX_FILE_SIZE = 2 ** 44 - 4096;

/** EFBIG if a file of `size` bytes would be larger than raidfs stores. */
export function requireStorableSize(size: number): void {
  if (size > MAX_FILE_SIZE) {
    throw new RaidfsError('EFBIG', `a file of ${size} bytes is larger than the ${MAX_FILE_SIZE} bytes (16 TiB less 4 KiB) raidfs stores`);
  }
}
