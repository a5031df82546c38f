/**
 * Junk for fuzzing the wire protocol, reproducibly: a seeded PRNG (the seed is all a
 * failing run needs to be replayed) and multipart messages that range from random
 * bytes to nearly valid ones: well-formed envelopes of every kind (the wrong kind for
 * the receiver, huge declared sizes and counts, ids that are paths), the same with
 * flipped bits, truncated or extended protobuf, protobuf claiming huge lengths,
 * missing or extra frames, and payload frames longer than declared.
 *
 * Invariant: the same seed yields the same sequence of messages.
 */
import { newChunkId } from '../../src/wire/chunk-id';
import { ChecksumAlgorithm, checksumOf } from '../../src/wire/checksum';
import { encodeMessage, Envelope, ErrorCode } from '../../src/wire/messages';

/** mulberry32: a small, fast, seeded 32-bit generator (not for cryptography). */
export class Prng {
  private state: number;
  constructor(readonly seed: number) {
    this.state = seed >>> 0;
  }

  /** A uniform integer in [0, 2^32). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** A uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.next() / 2 ** 32) * n);
  }

  chance(p: number): boolean {
    return this.next() / 2 ** 32 < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }

  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = this.next() & 0xff;
    return out;
  }

  /** A length, mostly small, sometimes up to `max`. */
  size(max: number): number {
    return this.chance(0.9) ? this.int(Math.min(max, 256) + 1) : this.int(max + 1);
  }

  /** A string of 1..maxLength characters from the first 2048 code points (no NUL). */
  text(maxLength: number): string {
    return Array.from({ length: 1 + this.int(maxLength) }, () => String.fromCodePoint(1 + this.int(2047))).join('');
  }
}

/** A new random seed, or the one in RAIDFS_FUZZ_SEED (to replay a run). */
export function fuzzSeed(): number {
  const fixed = process.env.RAIDFS_FUZZ_SEED;
  return fixed !== undefined ? Number(fixed) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
}

const HUGE = [0, 1, 0xffffffff, 2 ** 32, Number.MAX_SAFE_INTEGER];

/** A well-formed message of a random kind; `nodeId` goes where a node names itself. */
function validMessage(rng: Prng, nodeId: string): Buffer[] {
  const requestId = rng.pick([0, 1, rng.next(), Number.MAX_SAFE_INTEGER]);
  const chunkId = () => rng.pick([newChunkId(), newChunkId(), '', '../../etc/passwd', '/tmp/x', 'A'.repeat(32), rng.text(40), '0'.repeat(3000)]);
  const report = () => ({ capacityBytes: rng.pick(HUGE), freeBytes: rng.pick(HUGE), chunkCount: rng.pick(HUGE) });
  const data = rng.bytes(rng.size(64 * 1024));
  const algorithm = rng.pick([ChecksumAlgorithm.BLAKE3, ChecksumAlgorithm.SHA256, 7 as ChecksumAlgorithm]);
  const digest = rng.chance(0.5) ? checksumOf(data, algorithm === ChecksumAlgorithm.SHA256 ? algorithm : ChecksumAlgorithm.BLAKE3).digest : rng.bytes(rng.pick([0, 31, 32, 33]));
  const size = rng.chance(0.5) ? data.length : rng.pick(HUGE.filter((n) => n <= 0xffffffff));
  const bodies: Array<() => [Envelope, Buffer?]> = [
    () => [{ register: { nodeId: rng.chance(0.7) ? nodeId : rng.text(20), report: report(), softwareVersion: rng.text(30), clusterId: rng.chance(0.5) ? '' : rng.text(32) } }],
    () => [{ heartbeat: { nodeId: rng.chance(0.7) ? nodeId : rng.text(20), report: report() } }],
    () => [{ registerAck: { controllerId: rng.text(30), clusterId: rng.chance(0.5) ? '' : rng.text(32) } }],
    () => [{ storeChunk: { chunkId: chunkId(), size, digest, algorithm } }, data],
    () => [{ getChunk: { chunkId: chunkId() } }],
    () => [{ deleteChunks: { chunkIds: Array.from({ length: rng.size(1000) }, chunkId) } }],
    () => [{ listChunks: { after: rng.chance(0.5) ? '' : chunkId(), limit: rng.pick(HUGE.filter((n) => n <= 0xffffffff)) } }],
    () => [{ storeChunkAck: { chunkId: chunkId(), report: report() } }],
    () => [{ chunkData: { chunkId: chunkId(), size, digest, algorithm } }, data],
    () => [{ deleteChunksAck: { deleted: rng.next(), report: report(), failed: Array.from({ length: rng.size(10) }, chunkId) } }],
    () => [{ chunkList: { chunkIds: Array.from({ length: rng.size(100) }, chunkId), more: rng.chance(0.5) } }],
    () => [{ error: { code: rng.pick([...Object.values(ErrorCode).filter((v): v is number => typeof v === 'number'), 99, -1]), reason: rng.text(100) } }],
  ];
  const [body, payload] = rng.pick(bodies)();
  return encodeMessage({ ...body, requestId }, payload);
}

/** Protobuf that declares a field far longer than what follows (or than memory). */
function hugeLengthProtobuf(rng: Prng): Buffer {
  const tag = varint((rng.pick([1, 10, 13, 18, 21, 2047]) << 3) | 2);
  const length = rng.pick([[0xff, 0xff, 0xff, 0xff, 0x0f], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80]]);
  return Buffer.concat([tag, Buffer.from(length), rng.bytes(rng.int(16))]);
}

function varint(value: number): Buffer {
  const out: number[] = [];
  for (; value >= 0x80; value >>>= 7) out.push((value & 0x7f) | 0x80);
  return Buffer.from([...out, value]);
}

/**
 * One junk multipart message (routing id not included). With `oversizedPayloadBytes`,
 * rarely (0.2 %) a payload frame that large: over the receiver's message limit, which
 * makes libzmq drop the session.
 */
export function junkMessage(rng: Prng, nodeId: string, oversizedPayloadBytes?: number): Buffer[] {
  const valid = () => validMessage(rng, nodeId);
  const mutations: Array<() => Buffer[]> = [
    () => Array.from({ length: 1 + rng.int(5) }, () => rng.bytes(rng.size(4096))),
    () => [Buffer.alloc(0)],
    () => valid(),
    () => { const [head, ...rest] = valid(); const flipped = Buffer.from(head); for (let i = rng.int(8); i >= 0 && flipped.length > 0; i--) flipped[rng.int(flipped.length)] ^= 1 << rng.int(8); return [flipped, ...rest]; },
    () => { const [head, ...rest] = valid(); return [head.subarray(0, rng.int(head.length)), ...rest]; },
    () => { const [head, ...rest] = valid(); return [Buffer.concat([head, rng.bytes(1 + rng.int(64))]), ...rest]; },
    () => { const [head, ...rest] = valid(); return [Buffer.concat([rng.bytes(1 + rng.int(8)), head]), ...rest]; },
    () => [valid()[0]],
    () => [...valid(), ...Array.from({ length: 1 + rng.int(3) }, () => rng.bytes(rng.size(1024)))],
    () => [valid()[0], rng.bytes(rng.size(256 * 1024))],
    () => [hugeLengthProtobuf(rng), ...(rng.chance(0.5) ? [rng.bytes(rng.size(1024))] : [])],
    () => [valid()[0], Buffer.alloc(oversizedPayloadBytes ?? 0)],
  ];
  return rng.chance(0.002) && oversizedPayloadBytes !== undefined ? mutations[mutations.length - 1]() : mutations[rng.int(mutations.length - 1)]();
}
