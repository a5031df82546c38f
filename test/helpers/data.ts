/**
 * Test data: deterministic pseudo-random bytes (so a failure can be rerun) and
 * small async helpers.
 */
import { createHash } from 'node:crypto';

/** `size` bytes derived from `seed` with SHA-256 in counter mode. */
export function testBytes(size: number, seed = 'raidfs'): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let offset = 0, counter = 0; offset < size; counter++) {
    const block = createHash('sha256').update(`${seed}:${counter}`).digest();
    offset += block.copy(out, offset);
  }
  return out;
}

/** Yields `data` in pieces of `pieceSize` bytes, like a socket or file stream would. */
export async function* pieces(data: Buffer, pieceSize: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += pieceSize) yield data.subarray(i, i + pieceSize);
}

export async function collect(stream: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part);
  return Buffer.concat(parts);
}
