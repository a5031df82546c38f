/**
 * Cuts a byte stream into the parts of a file (see DESIGN.md, data layout):
 * - 0 bytes: no parts;
 * - up to two stripes: two halves (the first takes the odd byte; a 1-byte file has
 *   one part, since a 0-byte half would store nothing);
 * - larger: stripe-sized parts, the last one shorter.
 *
 * The source's pieces are handed over: a piece that is exactly one part is used as
 * that part without a copy, so a source must not modify a piece once yielded (as
 * with any Node stream). Such a part keeps the checksum its source gave the piece, if
 * any (a stripe hashed while FUSE writes filled it); any other part has none.
 *
 * Invariant: memory stays bounded by two stripes plus one incoming piece, whatever
 * the stream's length. Until the stream has passed two stripes the split is not known,
 * so up to two stripes are held; after that, at most one stripe is.
 */
import type { Checksum } from '../wire/checksum';

/** Bytes of a file, with their checksum when whoever produced them hashed them on the way. */
export interface Bytes {
  data: Buffer;
  checksum?: Checksum;
}

/** What a file's content is read from: plain pieces, or pieces that carry their checksum. */
export type ContentSource = AsyncIterable<Uint8Array | Bytes> | Iterable<Uint8Array | Bytes>;

/** True if a file of `size` bytes is cut into stripe-sized parts (part i at i * stripeSize), not into two halves. */
export function isStriped(size: number, stripeSize: number): boolean {
  return size > 2 * stripeSize;
}

export async function* splitIntoParts(source: ContentSource, stripeSize: number): AsyncGenerator<Bytes> {
  const queue = new ByteQueue();
  let striped = false;
  for await (const piece of source) {
    queue.push(piece);
    if (!striped && isStriped(queue.length, stripeSize)) striped = true;
    if (striped) while (queue.length >= stripeSize) yield queue.take(stripeSize);
  }
  if (striped) {
    if (queue.length > 0) yield queue.take(queue.length);
    return;
  }
  const first = Math.ceil(queue.length / 2);
  const second = queue.length - first;
  if (first > 0) yield queue.take(first);
  if (second > 0) yield queue.take(second);
}

/**
 * A FIFO of byte pieces that hands out exact lengths: a piece of exactly that length
 * as is (with its checksum, if it came with one), else a copy (without).
 */
class ByteQueue {
  private pieces: Array<{ data: Uint8Array; checksum?: Checksum }> = [];
  length = 0;

  push(piece: Uint8Array | Bytes): void {
    const entry = piece instanceof Uint8Array ? { data: piece } : piece;
    if (entry.data.length === 0) return;
    this.pieces.push(entry);
    this.length += entry.data.length;
  }

  take(n: number): Bytes {
    const first = this.pieces[0];
    if (first.data.length === n) {
      this.pieces.shift();
      this.length -= n;
      const data = Buffer.isBuffer(first.data) ? first.data : Buffer.from(first.data.buffer, first.data.byteOffset, n);
      return { data, checksum: first.checksum };
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.pieces[0].data;
      const used = Math.min(head.length, n - filled);
      out.set(head.subarray(0, used), filled);
      filled += used;
      if (used === head.length) this.pieces.shift();
      else this.pieces[0] = { data: head.subarray(used) };
    }
    this.length -= n;
    return { data: out };
  }
}
