/**
 * A byte-bounded LRU of verified chunk contents, keyed by chunk id. Chunk ids are
 * never reused for other bytes, so an entry can never be stale. FUSE reads arrive as
 * 128 KiB requests; the cache lets the 32 requests that fall into one 4 MiB part cost
 * one fetch from a node.
 */
export class ChunkCache {
  private readonly entries = new Map<string, Buffer>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(chunkId: string): Buffer | undefined {
    const data = this.entries.get(chunkId);
    if (data) {
      this.entries.delete(chunkId);
      this.entries.set(chunkId, data);
    }
    return data;
  }

  set(chunkId: string, data: Buffer): void {
    if (data.length > this.maxBytes || this.entries.has(chunkId)) return;
    this.entries.set(chunkId, data);
    this.bytes += data.length;
    for (const [id, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(id);
      this.bytes -= old.length;
    }
  }
}
