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

/** Calls `attempt` until it resolves, every `delayMs`, at most `attempts` times (then its error). */
export async function retry<T>(attempt: () => Promise<T>, attempts = 40, delayMs = 250): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

/** Polls `condition` every 100 ms until it holds; throws, naming `what`, after `timeoutMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
