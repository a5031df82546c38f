/**
 * Holes: ranges of a file that hold only zeros are stored nowhere. The part writer
 * leaves out a part of zeros (isAllZero) and readers fill a range no part covers
 * with zeros (zeroPieces).
 *
 * Invariant: the shared zero buffer is never written; pieces handed out from it are
 * lent, for reading only.
 */
const PIECE = 1 << 20;
const ZEROS = Buffer.alloc(PIECE);

/** True if every byte of `data` is 0 (stops at the first that is not: real data costs nothing). */
export function isAllZero(data: Uint8Array): boolean {
  for (let at = 0; at < data.length; at += PIECE) {
    const piece = data.subarray(at, Math.min(data.length, at + PIECE));
    if (!ZEROS.subarray(0, piece.length).equals(piece)) return false;
  }
  return true;
}

/** `length` zero bytes, in pieces of up to 1 MiB: shared ones (read only) if `lent`, else the caller's own. */
export function* zeroPieces(length: number, lent: boolean): Generator<Buffer> {
  for (let left = length; left > 0; left -= PIECE) {
    const n = Math.min(left, PIECE);
    yield lent ? ZEROS.subarray(0, n) : Buffer.alloc(n);
  }
}
