/**
 * A storage node's chunks on disk. The node knows nothing about files: it stores,
 * returns, lists and deletes chunks by id.
 *
 * Layout under the data directory:
 *   chunks/<first two hex digits>/<chunk id>   one file per chunk: header + bytes
 *   tmp/                                       chunks being written
 * A chunk file starts with a 48-byte header: a magic that names the checksum's
 * algorithm ("RAIDFSC2": BLAKE3; "RAIDFSC1": SHA-256, chunks stored before BLAKE3),
 * the byte count (uint64 LE) and the 32-byte digest of the bytes, so the node can
 * check its chunks by itself (on every get, and in scrub's verify, which reports a
 * chunk file it cannot read as unreadable and goes on with the others).
 *
 * Hashing is synchronous, as everywhere in raidfs (see wire/checksum.ts).
 *
 * Invariants:
 * - A chunk appears under its real name only complete and durable: bytes are written
 *   to tmp/ and made durable (O_DSYNC for small chunks, fdatasync for large ones),
 *   renamed into place, and the shard directory is fsynced before put() returns. A
 *   crash leaves at most a temp file, removed on the next open().
 * - A chunk is stored only if its bytes match the checksum it came with, and returned
 *   only if they still match the checksum stored with them: a node never serves bytes
 *   that rotted on its disk (answered CHECKSUM_MISMATCH, so the controller reads the
 *   other copy and repairs this one). Hashing here, where the bytes leave the disk,
 *   spreads the cost of checking reads over the nodes instead of the controller.
 * - Ids are validated before they touch a path (see wire/chunk-id.ts).
 * - A store never takes the last keptFree() bytes of the file system (1 %, at least
 *   8 and at most 64 MiB): it is refused with NO_SPACE first, and reports count them
 *   as used. Whatever shares the disk keeps room to work; in particular the
 *   controller's metadata, which `raidfs up` keeps beside its nodes' data, can still
 *   commit the deletes that free space once the nodes are full. Nodes sharing a disk
 *   see each other's writes only through statfs, so near the limit each store asks it
 *   afresh.
 */
import * as fsSync from 'node:fs';
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { fsyncDirectory } from '../common/durable-file';
import { addon } from '../common/native-addon';
import { isChunkId } from '../wire/chunk-id';
import { Checksum, ChecksumAlgorithm, DIGEST_BYTES, algorithmName, checksumOf, copyWithChecksum, sameChecksum } from '../wire/checksum';
import { ErrorCode, NodeReport } from '../wire/messages';
import { VolumeName, volumeOf } from './volume-name';

/** The header's magic for each checksum algorithm. */
const MAGICS = new Map<ChecksumAlgorithm, Buffer>([
  [ChecksumAlgorithm.SHA256, Buffer.from('RAIDFSC1', 'ascii')],
  [ChecksumAlgorithm.BLAKE3, Buffer.from('RAIDFSC2', 'ascii')],
]);
const HEADER_BYTES = 48;
const STATFS_MAX_AGE_MS = 1_000;
/** The free space no store takes: 1 % of the file system, at least the first and at most the second. */
const KEPT_FREE_MIN_BYTES = 8 * 1024 * 1024;
const KEPT_FREE_MAX_BYTES = 64 * 1024 * 1024;
/** With less free space than this beyond keptFree, every store asks statfs afresh. */
const NEARLY_FULL_BYTES = 256 * 1024 * 1024;
/** Chunks up to this size are written with synchronous calls (writeSmallTmp). */
const SMALL_CHUNK_BYTES = 64 * 1024;
const DIRECT_IO_ALIGN = 4096;
const WASM_PAGE_BYTES = 64 * 1024;

/** A failure to serve a chunk request, with the code the node answers with. */
export class ChunkStoreError extends Error {
  constructor(readonly code: ErrorCode, message: string) {
    super(message);
  }
}

export interface StoredChunk {
  data: Buffer;
  checksum: Checksum;
}

/**
 * What verify found of one chunk: its bytes match the checksum stored with them
 * (`size` bytes); no such chunk; its header, length or bytes do not match
 * ('corrupt'); or its file could not be read ('unreadable', `reason` says why).
 */
export type ChunkCheck =
  | { state: 'ok'; size: number; checksum: Checksum }
  | { state: 'missing' }
  | { state: 'corrupt' | 'unreadable'; reason: string };

export class ChunkStore {
  private chunkCount = 0;
  private usedBytes = 0;
  /** Bytes of stores that passed the space check and are not in usedBytes yet (concurrent stores must not all take the same room). */
  private storingBytes = 0;
  /** The last statfs, and usedBytes then (bytes stored since are not in its `free`). */
  private statfs?: { atMs: number; capacity: number; free: number; usedBytes: number };
  private readonly shardDirs = new Map<string, number>();
  private readonly alignedBuffers: AlignedBuffers;

  private constructor(
    private readonly root: string,
    /** Upper bound on bytes this node stores (its configured capacity), if any. */
    private readonly capacityLimit: number | undefined,
    concurrency: number,
    /** O_DIRECT in use: true until a file system refuses it (see openFile). */
    private direct: boolean,
    /** The file system the chunks are on, and its machine (see volume-name.ts). */
    private readonly volume: VolumeName,
  ) {
    this.alignedBuffers = new AlignedBuffers(concurrency);
  }

  /**
   * Opens (creating if needed) a data directory, clears interrupted writes, counts
   * chunks. `concurrency`: how many requests the node serves at once (as many aligned
   * buffers are kept for reuse). `directIo: false` uses the page cache from the start,
   * as after a file system refused O_DIRECT (tests cover that path with it).
   */
  static async open(root: string, capacityLimit?: number, concurrency = DEFAULT_CONCURRENCY, directIo = true): Promise<ChunkStore> {
    await fs.mkdir(path.join(root, 'chunks'), { recursive: true });
    const store = new ChunkStore(root, capacityLimit, concurrency, directIo, await volumeOf(root));
    await createShards(path.join(root, 'chunks'));
    await fs.rm(path.join(root, 'tmp'), { recursive: true, force: true });
    await fs.mkdir(path.join(root, 'tmp'), { recursive: true });
    for (const shard of SHARDS) {
      for (const name of await fs.readdir(path.join(root, 'chunks', shard))) {
        if (!isChunkId(name)) continue;
        const st = await fs.stat(path.join(root, 'chunks', shard, name));
        store.chunkCount += 1;
        store.usedBytes += st.size;
      }
    }
    return store;
  }

  get count(): number {
    return this.chunkCount;
  }

  /** Whether chunk files are read and written with O_DIRECT (false once refused, or if opened so). */
  get directIo(): boolean {
    return this.direct;
  }

  /**
   * Stores a chunk durably after checking its bytes against `checksum`, and keeps
   * that checksum with them. Idempotent. A large chunk is checked while it is copied
   * into the aligned buffer it is written from (copyWithChecksum), so its bytes are
   * read from memory once.
   */
  async put(id: string, data: Buffer, checksum: Checksum): Promise<void> {
    requireId(id);
    if (!MAGICS.has(checksum.algorithm)) {
      throw new ChunkStoreError(ErrorCode.BAD_REQUEST, `chunk ${id}: unknown checksum ${algorithmName(checksum.algorithm)}`);
    }
    const size = HEADER_BYTES + data.length;
    const staged = data.length > SMALL_CHUNK_BYTES ? this.alignedBuffers.take(alignUp(size)) : undefined;
    try {
      const header = encodeHeader(data.length, checksum);
      if (staged) header.copy(staged, 0);
      const arrived = staged ? copyWithChecksum(data, staged, HEADER_BYTES, checksum.algorithm) : checksumOf(data, checksum.algorithm);
      if (!sameChecksum(arrived, checksum)) {
        throw new ChunkStoreError(ErrorCode.CHECKSUM_MISMATCH, `chunk ${id} arrived corrupted`);
      }
      if (size > this.freeBytes(await this.diskSpace()) - this.storingBytes) {
        throw new ChunkStoreError(ErrorCode.NO_SPACE, `no space for chunk ${id} (${data.length} bytes)`);
      }
      const file = { final: this.chunkPath(id), tmp: path.join(this.root, 'tmp', `${id}.${process.pid}.${Math.random().toString(36).slice(2)}`) };
      let isNew: boolean;
      this.storingBytes += size;
      try {
        const shard = this.shardDirectory(id);
        isNew = staged
          ? await placeChunkFile(file, () => this.writeLargeTmp(file.tmp, staged, size), () => fsyncAsync(shard))
          : await placeChunkFile(file, () => writeSmallTmp(file.tmp, [header, data]), () => fsSync.fsyncSync(shard));
      } catch (err) {
        await fs.rm(file.tmp, { force: true });
        throw asStoreError(err, `storing chunk ${id}`);
      } finally {
        this.storingBytes -= size;
      }
      if (isNew) {
        this.chunkCount += 1;
        this.usedBytes += size;
      }
    } finally {
      if (staged) this.alignedBuffers.give(staged);
    }
  }

  /**
   * Writes a large chunk's temp file durably. With O_DIRECT the bytes go from one of
   * our page-aligned buffers straight to the disk, bypassing the page cache: on a VM
   * whose fresh page-cache pages are slow to fault in, buffered writes of large chunks
   * run at a third of the disk's speed. O_DIRECT writes whole blocks only, so the
   * last partial block (a 4 MiB chunk's file ends 48 header bytes past a block) is
   * written first, through the page cache, by a small write made in place: writing
   * the padded length and truncating after, as before, made ext4 read that block back
   * from the disk to zero its tail, ~2 ms with the node's event loop blocked, every
   * chunk. Where O_DIRECT is refused, everything goes through the page cache. Either
   * way fdatasync makes the file durable (its dirty tail page included).
   */
  private async writeLargeTmp(tmp: string, aligned: Buffer, size: number): Promise<void> {
    const whole = alignDown(size);
    const tailFirst = this.direct && whole < size;
    if (tailFirst) writeTail(tmp, aligned, whole, size);
    const { fd, direct } = this.openFile(tmp, tailFirst ? fsConstants.O_WRONLY : CREATE_NEW, 0o644);
    try {
      // The write and the flush wait for the disk, on the thread pool; the metadata
      // calls around them take microseconds and are made in place (see openFile).
      const length = direct ? whole : size;
      requireWhole('write', (await writeAsync(fd, aligned, 0, length, 0)).bytesWritten, length);
      await fdatasyncAsync(fd);
    } finally {
      fsSync.closeSync(fd);
    }
  }

  /**
   * A chunk file in one read: its header, and its bytes with their checksum by the
   * header's algorithm (none without a header). With O_DIRECT (a cold 4 MiB chunk:
   * ~4 ms to read, against ~10 ms through the page cache on this VM) the file is read
   * into the aligned part of a new buffer a page longer than the padded file, and the
   * bytes are returned where they landed: the reply is sent from there, with no copy.
   * Where O_DIRECT is refused, through the page cache.
   */
  private async readChunkFile(file: string): Promise<{ header?: ChunkHeader; data: Buffer; checksum?: Checksum }> {
    const { fd, direct } = this.openFile(file, fsConstants.O_RDONLY);
    try {
      const { size } = fsSync.fstatSync(fd);
      let whole: Buffer;
      if (direct) {
        const padded = alignUp(size) || DIRECT_IO_ALIGN;
        const backing = Buffer.allocUnsafeSlow(padded + DIRECT_IO_ALIGN);
        const start = addon.alignedOffset(backing, DIRECT_IO_ALIGN);
        // One read of the whole padded length: it stops at the end of the file.
        requireWhole('read', (await readAsync(fd, backing, start, padded, 0)).bytesRead, size);
        whole = backing.subarray(start, start + size);
      } else {
        whole = Buffer.allocUnsafeSlow(size);
        requireWhole('read', (await readAsync(fd, whole, 0, size, 0)).bytesRead, size);
      }
      const data = whole.subarray(Math.min(HEADER_BYTES, size));
      const header = decodeHeader(whole);
      return { header, data, checksum: header && checksumOf(data, header.checksum.algorithm) };
    } finally {
      fsSync.closeSync(fd);
    }
  }

  /**
   * Opens a chunk or temp file with O_DIRECT while the file system accepts it; the
   * first EINVAL turns O_DIRECT off for good. open, fstat and close are metadata calls
   * of microseconds: made in place, they spare thread-pool round trips, which take far
   * longer on a busy machine.
   */
  private openFile(file: string, flags: number, mode?: number): { fd: number; direct: boolean } {
    if (this.direct) {
      try {
        return { fd: fsSync.openSync(file, flags | fsConstants.O_DIRECT, mode), direct: true };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err;
        this.direct = false;
        // The refusal can come after the file was created: create it again below.
        if (flags & fsConstants.O_CREAT) fsSync.rmSync(file, { force: true });
      }
    }
    return { fd: fsSync.openSync(file, flags, mode), direct: false };
  }

  /**
   * Returns a chunk's bytes and the checksum stored with them, after checking the
   * header, the length and the bytes against that checksum. The controller then checks
   * the checksum against the one it recorded for the part (a chunk file under the
   * wrong name is caught there).
   */
  async get(id: string): Promise<StoredChunk> {
    requireId(id);
    let chunk: { header?: ChunkHeader; data: Buffer; checksum?: Checksum };
    try {
      chunk = await this.readChunkFile(this.chunkPath(id));
    } catch (err) {
      throw asStoreError(err, `reading chunk ${id}`);
    }
    const { header, data } = chunk;
    if (!header || header.size !== data.length) {
      throw new ChunkStoreError(ErrorCode.CHECKSUM_MISMATCH, `chunk ${id} is corrupt on disk (bad header or length)`);
    }
    if (!chunk.checksum || !sameChecksum(chunk.checksum, header.checksum)) {
      throw new ChunkStoreError(ErrorCode.CHECKSUM_MISMATCH, `chunk ${id} is corrupt on disk (its bytes do not match their checksum)`);
    }
    return { data, checksum: header.checksum };
  }

  /**
   * Reads a chunk and checks its bytes against its header (scrub). Whatever is wrong
   * with the one chunk is its answer, never an exception, so that one bad file does
   * not stop the check of the others: 'unreadable' is a file that could not be read
   * (EIO from a bad sector, or no chunk file under its name: a directory, say).
   */
  async verify(id: string): Promise<ChunkCheck> {
    requireId(id);
    try {
      const { data, checksum } = await this.get(id);
      return { state: 'ok', size: data.length, checksum };
    } catch (err) {
      const code = err instanceof ChunkStoreError ? err.code : ErrorCode.IO_ERROR;
      if (code === ErrorCode.NOT_FOUND) return { state: 'missing' };
      return { state: code === ErrorCode.CHECKSUM_MISMATCH ? 'corrupt' : 'unreadable', reason: (err as Error).message };
    }
  }

  /**
   * Deletes chunks; ids that are not stored are skipped. Resolves with how many were
   * deleted, and those that could not be (an I/O error; not a chunk file), with why:
   * one such chunk does not keep the others.
   */
  async delete(ids: string[]): Promise<{ deleted: number; failed: Array<{ id: string; reason: string }> }> {
    ids.forEach(requireId);
    let deleted = 0;
    const failed: Array<{ id: string; reason: string }> = [];
    for (const id of ids) {
      const file = this.chunkPath(id);
      try {
        const st = await fs.stat(file);
        await fs.rm(file, { force: true });
        deleted += 1;
        this.chunkCount -= 1;
        this.usedBytes -= st.size;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') failed.push({ id, reason: (err as Error).message });
      }
    }
    if (deleted > 0) this.statfs = undefined;
    return { deleted, failed };
  }

  /** Chunk ids in ascending order after `after` (exclusive), at most `limit`. */
  async list(after: string, limit: number): Promise<{ ids: string[]; more: boolean }> {
    if (after !== '') requireId(after);
    const ids: string[] = [];
    for (const shard of await this.shards()) {
      if (shard < after.slice(0, 2)) continue;
      const names = (await fs.readdir(path.join(this.root, 'chunks', shard)))
        .filter((name) => isChunkId(name) && name > after)
        .sort();
      for (const name of names) {
        if (ids.length === limit) return { ids, more: true };
        ids.push(name);
      }
    }
    return { ids, more: false };
  }

  /**
   * Capacity and free bytes: the file system's, bounded by the configured capacity;
   * and the file system's own, which other nodes on it report too.
   */
  async report(): Promise<NodeReport> {
    const disk = await this.diskSpace();
    const capacity = Math.min(disk.capacity, this.capacityLimit ?? Infinity);
    return {
      capacityBytes: capacity, freeBytes: this.freeBytes(disk), chunkCount: this.chunkCount, usedBytes: this.usedBytes,
      volume: { ...this.volume, capacityBytes: disk.capacity, freeBytes: disk.free },
    };
  }

  /** Closes the shard directories kept open for fsync. */
  async close(): Promise<void> {
    for (const fd of this.shardDirs.values()) fsSync.closeSync(fd);
    this.shardDirs.clear();
  }

  /** Bytes this node may still store: the disk's free space (`disk`, from diskSpace), bounded by the configured capacity. */
  private freeBytes(disk: { free: number }): number {
    const capacityLeft = this.capacityLimit === undefined ? Infinity : Math.max(0, this.capacityLimit - this.usedBytes);
    return Math.min(disk.free, capacityLeft);
  }

  /**
   * The file system's size, and the free bytes stores may take (all but keptFree).
   * statfs runs at most once per STATFS_MAX_AGE_MS (it is a thread-pool round trip on
   * every request otherwise) while there is room; in between, the bytes stored since
   * are subtracted, so our own writes never make free space look larger than it is.
   * Within NEARLY_FULL_BYTES of the limit it runs for every store, and after a delete
   * for the next.
   */
  private async diskSpace(): Promise<{ capacity: number; free: number }> {
    const known = this.statfs && Date.now() - this.statfs.atMs <= STATFS_MAX_AGE_MS ? this.spaceFrom(this.statfs) : undefined;
    if (known && known.free >= NEARLY_FULL_BYTES) return known;
    const st = await fs.statfs(this.root);
    this.statfs = { atMs: Date.now(), capacity: st.blocks * st.bsize, free: st.bavail * st.bsize, usedBytes: this.usedBytes };
    return this.spaceFrom(this.statfs);
  }

  private spaceFrom(statfs: { capacity: number; free: number; usedBytes: number }): { capacity: number; free: number } {
    const { capacity, free, usedBytes } = statfs;
    return { capacity, free: Math.max(0, free - (this.usedBytes - usedBytes) - keptFree(capacity)) };
  }

  /**
   * The descriptor of a chunk's shard directory, kept open so that each store fsyncs
   * it without an open and a close, and opened in place (a metadata call, see
   * openFile): through the thread pool, the first store into each of the 256 shards
   * paid a round trip. Shards are made at open (createShards); one removed since is
   * made again here, with chunks/ fsynced so its name is durable.
   */
  private shardDirectory(id: string): number {
    const shard = id.slice(0, 2);
    let fd = this.shardDirs.get(shard);
    if (fd === undefined) {
      const chunks = path.join(this.root, 'chunks');
      // mkdirSync returns a path only when it made the directory.
      if (fsSync.mkdirSync(path.join(chunks, shard), { recursive: true }) !== undefined) fsyncDirectory(chunks);
      fd = fsSync.openSync(path.join(chunks, shard), 'r');
      this.shardDirs.set(shard, fd);
    }
    return fd;
  }

  private chunkPath(id: string): string {
    return path.join(this.root, 'chunks', id.slice(0, 2), id);
  }

  private async shards(): Promise<string[]> {
    const names = await fs.readdir(path.join(this.root, 'chunks'));
    return names.filter((name) => /^[0-9a-f]{2}$/.test(name)).sort();
  }
}

function requireId(id: string): void {
  if (!isChunkId(id)) {
    throw new ChunkStoreError(ErrorCode.BAD_REQUEST, `invalid chunk id ${JSON.stringify(String(id).slice(0, 80))}`);
  }
}

function encodeHeader(size: number, checksum: Checksum): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGICS.get(checksum.algorithm)!.copy(header, 0);
  header.writeBigUInt64LE(BigInt(size), 8);
  checksum.digest.copy(header, 16, 0, DIGEST_BYTES);
  return header;
}

interface ChunkHeader {
  size: number;
  checksum: Checksum;
}

/** Rounds up to a multiple of the O_DIRECT alignment. */
function alignUp(bytes: number): number {
  return Math.ceil(bytes / DIRECT_IO_ALIGN) * DIRECT_IO_ALIGN;
}

/** Rounds down to a multiple of the O_DIRECT alignment. */
function alignDown(bytes: number): number {
  return Math.floor(bytes / DIRECT_IO_ALIGN) * DIRECT_IO_ALIGN;
}

function decodeHeader(file: Buffer): ChunkHeader | undefined {
  if (file.length < HEADER_BYTES) return undefined;
  const magic = file.subarray(0, 8);
  for (const [algorithm, known] of MAGICS) {
    if (magic.equals(known)) {
      return { size: Number(file.readBigUInt64LE(8)), checksum: { algorithm, digest: Buffer.from(file.subarray(16, HEADER_BYTES)) } };
    }
  }
  return undefined;
}

declare const WebAssembly: { Memory: new (pages: { initial: number }) => { buffer: ArrayBuffer } };

/**
 * Reusable page-aligned buffers for O_DIRECT. Node has no aligned allocation, but a
 * WebAssembly memory always starts on a page boundary.
 */
class AlignedBuffers {
  private readonly free: Buffer[] = [];

  /** `keep`: at most this many wait for reuse (one per request served at once). */
  constructor(private readonly keep: number) {}

  take(size: number): Buffer {
    const i = this.free.findIndex((b) => b.length >= size);
    if (i >= 0) return this.free.splice(i, 1)[0];
    return Buffer.from(new WebAssembly.Memory({ initial: Math.ceil(size / WASM_PAGE_BYTES) }).buffer);
  }

  give(buffer: Buffer): void {
    if (this.free.length < this.keep) this.free.push(buffer);
  }
}

/** Where a chunk is written (tmp) and where it then appears (final). */
interface ChunkFile {
  tmp: string;
  final: string;
}

/** A temp file, made by whoever writes it: it must not exist yet. */
const CREATE_NEW = fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_WRONLY;
// O_DSYNC: each write returns once its bytes and the file's size are on disk.
const CREATE_DURABLE = CREATE_NEW | fsConstants.O_DSYNC;

/**
 * Has `writeTmp` write file.tmp durably, renames it to file.final and has
 * `syncShard` fsync the shard directory; resolves whether final is new (false when
 * something was under its name already, counted as a chunk: a rewrite, also of a
 * chunk file that could not be read or followed).
 */
async function placeChunkFile(file: ChunkFile, writeTmp: () => void | Promise<void>, syncShard: () => void | Promise<void>): Promise<boolean> {
  const isNew = !nameTaken(file.final);
  await writeTmp();
  fsSync.renameSync(file.tmp, file.final);
  await syncShard();
  return isNew;
}

/** Whether anything is under `name`, even what stat cannot follow (a symlink loop) or read: only ENOENT says no. */
function nameTaken(name: string): boolean {
  try {
    fsSync.lstatSync(name);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

/**
 * Writes a small chunk's temp file with synchronous calls, and its put() fsyncs the
 * shard synchronously too: its six file-system calls then take about half a
 * millisecond in all, where six thread-pool round trips take twice that. The event
 * loop is blocked meanwhile; requests wait in the socket's queue.
 */
function writeSmallTmp(tmp: string, bytes: Buffer[]): void {
  const fd = fsSync.openSync(tmp, CREATE_DURABLE, 0o644);
  try {
    requireWhole('write', fsSync.writevSync(fd, bytes), bytes.reduce((sum, b) => sum + b.length, 0));
  } finally {
    fsSync.closeSync(fd);
  }
}

/**
 * Creates `tmp` holding bytes [from, size) of `bytes` at their own offset, through the
 * page cache: the tail of a large chunk that O_DIRECT, which writes whole blocks only,
 * leaves to this. Less than a block, written in place (microseconds, no disk wait);
 * the fdatasync after the rest makes it durable.
 */
function writeTail(tmp: string, bytes: Buffer, from: number, size: number): void {
  const fd = fsSync.openSync(tmp, CREATE_NEW, 0o644);
  try {
    requireWhole('write', fsSync.writeSync(fd, bytes, from, size - from, from), size - from);
  } finally {
    fsSync.closeSync(fd);
  }
}

function asStoreError(err: unknown, doing: string): ChunkStoreError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new ChunkStoreError(ErrorCode.NOT_FOUND, `${doing}: no such chunk`);
  if (code === 'ENOSPC' || code === 'EDQUOT') return new ChunkStoreError(ErrorCode.NO_SPACE, `${doing}: disk full`);
  return new ChunkStoreError(ErrorCode.IO_ERROR, `${doing}: ${(err as Error).message}`);
}

/** Requests a node serves at once, by default (as many aligned buffers are kept). */
export const DEFAULT_CONCURRENCY = 8;

/** The 256 shard directories, named by a chunk id's first two hex digits. */
const SHARDS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/**
 * Makes every shard directory a store lacks, then fsyncs chunks/ once so their names
 * are durable: a new store pays for its 256 directories at open, not one fsync of
 * chunks/ per store that lands in a new shard (most of the first thousand).
 */
async function createShards(chunks: string): Promise<void> {
  const existing = new Set(await fs.readdir(chunks));
  const missing = SHARDS.filter((shard) => !existing.has(shard));
  if (missing.length === 0) return;
  await Promise.all(missing.map((shard) => fs.mkdir(path.join(chunks, shard), { recursive: true })));
  fsyncDirectory(chunks);
}

const readAsync = promisify(fsSync.read);
const writeAsync = promisify(fsSync.write);
const fdatasyncAsync = promisify(fsSync.fdatasync);
const fsyncAsync = promisify(fsSync.fsync);

/**
 * A read or write that did less than asked fails. A write to a file comes up short
 * when the file system fills up during it (the call for the rest would fail with
 * ENOSPC), so a short write is reported as a full disk (NO_SPACE, not IO_ERROR).
 */
function requireWhole(what: 'read' | 'write', done: number, wanted: number): void {
  if (done === wanted) return;
  const err: NodeJS.ErrnoException = new Error(`short ${what}: ${done} of ${wanted} bytes`);
  if (what === 'write') err.code = 'ENOSPC';
  throw err;
}

/** The free space of a file system of `capacity` bytes that no store takes. */
export function keptFree(capacity: number): number {
  return Math.min(KEPT_FREE_MAX_BYTES, Math.max(KEPT_FREE_MIN_BYTES, Math.floor(capacity / 100)));
}
