/**
 * Which opens share the kernel's page cache of a file, and which find it emptied.
 *
 * The kernel keeps one page cache per inode and serves every handle that does not
 * bypass it (direct I/O) from it; under libfuse 2 each name of a file is an inode of
 * its own, known by its node id. raidfs handles see different contents, though: one
 * open only for reading sees the version committed when it opened (or a newer one
 * that only grew from it, open-files.ts), one open for writing sees the working copy. With
 * libfuse's auto_cache (pages kept while mtime and size look unchanged), a reader of
 * the old version refilled the cache after a commit, and a `cat` opened just after it
 * read the old content; and a program reading a file saw the bytes another program
 * was writing through the cache (O_RDWR) before they were committed.
 *
 * Invariants:
 * - the handles of a file that use the page cache all see one content: a handle that
 *   would see another gets direct I/O (one opened only for reading while the file is
 *   being written, whose reads the kernel would also cut at the size being written,
 *   or while cached handles read another version; one opened for writing and reading,
 *   or for reading by the program writing the file (which reads the working copy too),
 *   while cached handles only read the committed version). Write-only handles always bypass the cache
 *   (native/fuse-binding.mjs) and change nothing here;
 * - an open that uses the cache keeps the pages its node has only if they are known to
 *   be of the version it reads: the version the node's last cached open read, which is
 *   forgotten when a handle writes through the cache or a reader moves on to a newer
 *   version; otherwise the open empties the node's cache. What is known is kept for
 *   the last MAX_KNOWN nodes (forgetting costs a re-read, never a wrong one).
 */
import type { PageCacheUse } from './binding';
import { OpenFile, OpenFiles } from './open-files';

/** Nodes whose cached version is remembered; past it, the oldest noted is forgotten. */
const MAX_KNOWN = 65_536;

const AROUND_THE_CACHE: PageCacheUse = { directIo: true, keepCache: true };

export class PageCache {
  /** By node id: the version the pages cached for that node are of. */
  private readonly known = new Map<number, { fileId: number; version: number }>();

  constructor(private readonly files: OpenFiles) {}

  /**
   * How `file`, just opened on node `node`, uses the page cache (answered in the
   * open's reply); notes the node on the handle if it uses it.
   */
  opened(file: OpenFile, node: number, writeOnly: boolean): PageCacheUse {
    if (writeOnly) return AROUND_THE_CACHE;
    const others = [...this.files.handlesOf(file.fileId)].filter((other) => other !== file && other.cacheNode !== undefined);
    const version = file.snapshot.entry.version;
    if (file.readCopy) {
      if (others.some((other) => !other.readCopy)) return AROUND_THE_CACHE;
      const keepCache = !file.readCopy.dirty && this.holds(node, file.fileId, version);
      this.known.delete(node); // its writes go to the cache before they are committed
      file.cacheNode = node;
      return { directIo: false, keepCache };
    }
    if (this.files.writing(file.fileId) || others.some((other) => other.readCopy || other.snapshot.entry.version !== version)) return AROUND_THE_CACHE;
    const keepCache = this.holds(node, file.fileId, version);
    this.known.delete(node); // noted again as the newest
    if (this.known.size >= MAX_KNOWN) this.known.delete(this.known.keys().next().value!);
    this.known.set(node, { fileId: file.fileId, version });
    file.cacheNode = node;
    return { directIo: false, keepCache };
  }

  /** `file` reads a newer version now: its node's cache holds pages of two. */
  moved(file: OpenFile): void {
    if (file.cacheNode !== undefined) this.known.delete(file.cacheNode);
  }

  private holds(node: number, fileId: number, version: number): boolean {
    const cached = this.known.get(node);
    return cached !== undefined && cached.fileId === fileId && cached.version === version;
  }
}
