/**
 * Frees a buffer's memory at once rather than at V8's next collection.
 *
 * A message received from ZeroMQ is a Buffer over libzmq's memory, which counts as
 * V8's external memory until V8 collects the Buffer, and V8 answers its growth with
 * full markings of the heap: a storage node storing 4 MiB chunks ran ~14 per 512 MiB,
 * a fifth of its CPU. Freeing what it is done with keeps the count flat
 * (native/addon/buffers.c).
 *
 * Invariant: only for memory that nothing else holds, in JavaScript or native code
 * (a send in progress, a window lent to the FUSE binding): afterwards the Buffer, and
 * every view of the same memory, has length 0. A Buffer that shares its memory with
 * others (Node's pool for small Buffers, a subarray) is left alone.
 */
import { addon } from './native-addon';

/** Frees `bytes` now; false (and nothing changed) if it shares its memory. */
export function freeNow(bytes: Buffer): boolean {
  return addon.freeNow(bytes);
}
