/**
 * Cuts a byte stream into the parts of a file (see DESIGN.md, data layout):
 * - 0 bytes: no parts;
 * - up to two stripes: two halves (the first takes the odd byte; a 1-byte file has
 *   one part, since a 0-byte half would store nothing);
 * - larger: stripe-sized parts, the last one shorter.
 *
 * The source's pieces are handed over: a piece that is exactly one part is used as
 * that part without a copy, so a source must not modify a piece once yielded (as
 * with any Node stream).
 *
 * Invariant: memory stays bounded by two stripes plus one incoming piece, whatever
 * the stream's length. Until the stream has passed two stripes the split is not known,
 * so up to two stripes are held; after that, at most one stripe is.
 */
export async function* splitIntoParts(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, stripeSize: number): AsyncGenerator<Buffer> {
  const queue = new ByteQueue();
  let striped = false;
  for await (const piece of source) {
    queue.push(piece);
    if (!striped && queue.length > 2 * stripeSize) striped = true;
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

/** A FIFO of byte pieces that hands out exact-length Buffers: a piece of exactly that length as is, else a copy. */
class ByteQueue {
  private pieces: Uint8Array[] = [];
  length = 0;

  push(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.pieces.push(piece);
    this.length += piece.length;
  }

  take(n: number): Buffer {
    const first = this.pieces[0];
    if (first.length === n) {
      this.pieces.shift();
      this.length -= n;
      return Buffer.isBuffer(first) ? first : Buffer.from(first.buffer, first.byteOffset, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.pieces[0];
      const used = Math.min(head.length, n - filled);
      out.set(head.subarray(0, used), filled);
      filled += used;
      if (used === head.length) this.pieces.shift();
      else this.pieces[0] = head.subarray(used);
    }
    this.length -= n;
    return out;
  }
}
