/**
 * Fetched chunk contents, by chunk id: a byte-bounded LRU that owns the bytes it holds
 * and frees each chunk's memory as soon as nobody can use it any more.
 *
 * FUSE reads arrive as 128 KiB requests; the cache lets the 32 requests that fall into
 * one 4 MiB part cost one fetch from a node. Chunk ids are never reused for other
 * bytes, so an entry can never be stale.
 *
 * Why free by hand: a fetched chunk is a Buffer over the memory ZeroMQ received it
 * into, which V8 counts as external memory until it collects the Buffer; reading
 * 1 GiB through the mount made the controller run ~27 full markings of its heap for
 * that count alone (see common/free-now.ts). Freeing each chunk once it is out of
 * the cache and given back keeps the count flat.
 *
 * Invariants:
 * - A borrowed chunk is never evicted: it stays findable, so a reader that comes to a
 *   part another holds (a read-ahead, a download) shares it instead of fetching it
 *   again. Its bytes do not count against the cache's while it is borrowed (its
 *   borrower answers for them: read-ahead and downloads hold a memory reservation),
 *   so what is held never crowds out the parts readers fetch as they go. Once the
 *   last borrower gives it back, it counts again, and the least recently used chunks
 *   nobody borrows are evicted down to the cache's bytes.
 * - A chunk's memory is freed only when it is out of the cache, no borrower holds it
 *   and nobody took it to keep; a chunk taken with `keep` (handed to code that may
 *   hold it for any time: repairs, readStream's callers) is left to V8.
 * - Eviction frees on the next turn of the event loop, never at once, so that code
 *   resuming from a fetch (a promise continuation, in the same turn) can still borrow
 *   or keep the chunk it was waiting for.
 * - Bytes the cache did not adopt (a second fetch of a cached chunk) are never freed
 *   here.
 */
import { freeNow } from '../common/free-now';

/** A chunk's bytes, lent until release() (once; later calls do nothing). */
export interface BorrowedChunk {
  readonly data: Buffer;
  /** The bytes for any time: the cache will never free them (release() is still due). */
  keep(): Buffer;
  release(): void;
}

/** One chunk's bytes and who may still use them. */
export class ChunkEntry {
  private borrowers = 0;
  private kept = false;
  private freed = false;

  /** `cached`: whether the cache holds it (false for bytes larger than the whole cache). */
  constructor(readonly data: Buffer, private cached: boolean, private readonly owner: EntryOwner) {}

  /** Whether anybody borrows it now (then the cache does not evict it). */
  get borrowed(): boolean {
    return this.borrowers > 0;
  }

  /** The bytes until release(). */
  borrow(): BorrowedChunk {
    if (this.cached && this.borrowers === 0) this.owner.lent(this);
    this.borrowers += 1;
    let released = false;
    return {
      data: this.data,
      keep: () => this.keep(),
      release: () => {
        if (released) return;
        released = true;
        this.borrowers -= 1;
        if (this.cached && this.borrowers === 0) this.owner.givenBack(this);
        this.freeIfUnused();
      },
    };
  }

  /** The bytes, for any time: never freed by the cache. */
  keep(): Buffer {
    this.kept = true;
    return this.data;
  }

  /** Leaves the cache; frees the bytes on the next turn if nobody holds them by then. */
  evict(): void {
    this.cached = false;
    if (this.unused()) this.owner.freeNextTurn(this);
  }

  /** Frees the bytes if nobody holds them (now that they are out of the cache). */
  freeIfUnused(): void {
    if (!this.unused() || this.freed) return;
    this.freed = true;
    freeNow(this.data);
  }

  private unused(): boolean {
    return !this.cached && !this.kept && this.borrowers === 0;
  }
}

/** What a cached entry tells its cache. */
interface EntryOwner {
  /** Its first borrower took it: its bytes no longer count against the cache's. */
  lent(entry: ChunkEntry): void;
  /** Its last borrower gave it back: its bytes count again, and the cache may be over. */
  givenBack(entry: ChunkEntry): void;
  /** It left the cache unused: free it on the next turn unless someone takes it by then. */
  freeNextTurn(entry: ChunkEntry): void;
}

export class ChunkCache implements EntryOwner {
  private readonly entries = new Map<string, ChunkEntry>();
  /** Bytes of the cached chunks nobody borrows. */
  private bytes = 0;
  private evicted: ChunkEntry[] = [];

  constructor(private readonly maxBytes: number) {}

  /** The cached entry of `chunkId`, made the most recently used; undefined if not cached. */
  get(chunkId: string): ChunkEntry | undefined {
    const entry = this.entries.get(chunkId);
    if (entry) {
      this.entries.delete(chunkId);
      this.entries.set(chunkId, entry);
    }
    return entry;
  }

  /**
   * Takes `data`, just fetched and verified, into the cache and returns its entry (the
   * one already cached, if any: then `data` stays the caller's). Bytes larger than the
   * whole cache get an entry that is not cached, freed once its users are done.
   */
  adopt(chunkId: string, data: Buffer): ChunkEntry {
    const existing = this.get(chunkId);
    if (existing) return existing;
    const fits = data.length <= this.maxBytes;
    const entry = new ChunkEntry(data, fits, this);
    if (!fits) return entry;
    this.entries.set(chunkId, entry);
    this.bytes += data.length;
    this.evictDownToSize(entry);
    return entry;
  }

  lent(entry: ChunkEntry): void {
    this.bytes -= entry.data.length;
  }

  givenBack(entry: ChunkEntry): void {
    this.bytes += entry.data.length;
    this.evictDownToSize();
  }

  /** Evicts the least recently used chunks nobody borrows (never `spared`, just adopted) until the cache is within its bytes. */
  private evictDownToSize(spared?: ChunkEntry): void {
    for (const [id, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      if (old === spared || old.borrowed) continue;
      this.entries.delete(id);
      this.bytes -= old.data.length;
      old.evict();
    }
  }

  freeNextTurn(entry: ChunkEntry): void {
    if (this.evicted.push(entry) > 1) return;
    setImmediate(() => {
      const due = this.evicted;
      this.evicted = [];
      for (const e of due) e.freeIfUnused();
    });
  }
}
