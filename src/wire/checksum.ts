/**
 * Chunk checksums: what every chunk is stored with and checked against, on every
 * store and every read.
 *
 * New chunks get BLAKE3 (256 bits), from raidfs's addon
 * (native/addon/, built at install with the vendored reference C code): ~6.5 GB/s
 * on one core here, against ~1.7 GB/s for Node's SHA-256 with the CPU's SHA
 * instructions. Every byte written is hashed three times (by the controller, and by
 * each node that stores a copy, which checks what arrived), so SHA-256 had been the
 * largest single cost of a large write. Chunks stored before BLAKE3 keep SHA-256: a
 * checksum always names its algorithm, and whoever checks one uses that algorithm.
 *
 * Hashing is synchronous and in place, whatever the size (a 4 MiB chunk: ~0.7 ms).
 * Handing it to the thread pool copied the chunk, which cost more CPU than the hash
 * itself on these 2 cores.
 *
 * Invariant: two checksums are the same only if both algorithm and digest are.
 */
import { createHash } from 'node:crypto';
import { addon } from '../common/native-addon';
import { wire } from './messages';

export const ChecksumAlgorithm = wire.ChecksumAlgorithm;
export type ChecksumAlgorithm = wire.ChecksumAlgorithm;

/** The algorithm every chunk stored from now on is checksummed with. */
export const NEW_CHUNK_ALGORITHM = ChecksumAlgorithm.BLAKE3;

/** Bytes in a digest, whatever the algorithm. */
export const DIGEST_BYTES = 32;

/** A chunk's checksum: the digest of its bytes, and the algorithm that made it. */
export interface Checksum {
  algorithm: ChecksumAlgorithm;
  digest: Buffer;
}

/** A checksum being computed over bytes fed piece by piece. */
export interface Hasher {
  update(data: Uint8Array): void;
  /**
   * Copies `source` into `target` at `offset`, feeding each piece right after its
   * copy, while it is still in the CPU's cache (faster than a hashing pass afterwards).
   */
  copyIn(source: Uint8Array, target: Uint8Array, offset: number): void;
  result(): Checksum;
}

/** Small enough that a piece just copied is still in the CPU's cache when it is hashed. */
const COPY_PIECE_BYTES = 256 * 1024;

class Blake3Hasher implements Hasher {
  private readonly state = addon.hasherNew();
  update(data: Uint8Array): void {
    addon.hasherUpdate(this.state, data);
  }
  copyIn(source: Uint8Array, target: Uint8Array, offset: number): void {
    addon.copyHashing(this.state, source, target, offset);
  }
  result(): Checksum {
    return { algorithm: ChecksumAlgorithm.BLAKE3, digest: addon.hasherDigest(this.state) };
  }
}

/** SHA-256, for chunks stored before BLAKE3. */
class Sha256Hasher implements Hasher {
  private readonly hash = createHash('sha256');
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  copyIn(source: Uint8Array, target: Uint8Array, offset: number): void {
    for (let at = 0; at < source.length; at += COPY_PIECE_BYTES) {
      const end = Math.min(source.length, at + COPY_PIECE_BYTES);
      target.set(source.subarray(at, end), offset + at);
      this.hash.update(target.subarray(offset + at, offset + end));
    }
  }
  result(): Checksum {
    return { algorithm: ChecksumAlgorithm.SHA256, digest: this.hash.digest() };
  }
}

export function newHasher(algorithm: ChecksumAlgorithm = NEW_CHUNK_ALGORITHM): Hasher {
  switch (algorithm) {
    case ChecksumAlgorithm.BLAKE3:
      return new Blake3Hasher();
    case ChecksumAlgorithm.SHA256:
      return new Sha256Hasher();
    default:
      throw new RangeError(`unknown checksum algorithm ${algorithm as number}`);
  }
}

/** The checksum of `data` by `algorithm`: what every check (on store, on read, in scrub) uses. */
export function checksumOf(data: Uint8Array, algorithm: ChecksumAlgorithm = NEW_CHUNK_ALGORITHM): Checksum {
  if (algorithm === ChecksumAlgorithm.BLAKE3) return { algorithm, digest: addon.blake3(data) };
  const hasher = newHasher(algorithm);
  hasher.update(data);
  return hasher.result();
}

/** Hasher.copyIn of a whole chunk, returning its checksum. */
export function copyWithChecksum(source: Uint8Array, target: Uint8Array, offset: number, algorithm: ChecksumAlgorithm): Checksum {
  const hasher = newHasher(algorithm);
  hasher.copyIn(source, target, offset);
  return hasher.result();
}

/** The checksum a StoreChunk or ChunkData message carries (no algorithm: SHA-256, from an older peer). */
export function checksumOnWire(message: { digest?: Uint8Array | null; algorithm?: ChecksumAlgorithm | null }): Checksum {
  return { algorithm: message.algorithm ?? ChecksumAlgorithm.SHA256, digest: Buffer.from(message.digest ?? []) };
}

export function sameChecksum(a: Checksum, b: Checksum): boolean {
  return a.algorithm === b.algorithm && a.digest.equals(b.digest);
}

/** The algorithm's name as proto/raidfs.proto spells it, in lower case: what the REST API and the logs show. */
export function algorithmName(algorithm: ChecksumAlgorithm): string {
  return (ChecksumAlgorithm[algorithm] as string | undefined)?.toLowerCase() ?? `algorithm ${algorithm as number}`;
}
