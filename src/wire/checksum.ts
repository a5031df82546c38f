/**
 * SHA-256 of chunk bytes, the checksum stored with every chunk and checked on every
 * store and every read. The async form hashes a large buffer on libuv's thread pool so
 * a 4 MiB chunk does not stall the event loop (and with it the FUSE mount); a small
 * one (a small file's half) is hashed in place, which takes microseconds where the
 * thread-pool round trip would take far longer.
 */
import { createHash, webcrypto } from 'node:crypto';

export function sha256Sync(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

const HASH_IN_PLACE_MAX_BYTES = 64 * 1024;

export async function sha256(data: Uint8Array): Promise<Buffer> {
  if (data.length <= HASH_IN_PLACE_MAX_BYTES) return sha256Sync(data);
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', data));
}

export function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}
