/**
 * Reads parts: from the cache, or from one replica at a time on nodes that are up,
 * falling back to the next replica on error, deadline or checksum mismatch. Nodes
 * counted down are skipped, not tried: a read never waits on a node known to be gone.
 * A part record lists the holders of when it was read from the metadata; a reader
 * that keeps one for long (a file open for hours) may find them all gone while
 * repair has made copies elsewhere since, so when none of them serves, the holders
 * the metadata records now (if a file still refers to the part) are tried too.
 *
 * Invariants:
 * - Bytes are returned only after their node checked them against the checksum stored
 *   with them and that checksum matched the part's recorded one (chunk-io.ts).
 * - Concurrent reads of the same part share one fetch.
 * - Fetched bytes belong to the chunk cache: a caller either borrows them (and gives
 *   them back) or keeps them (and the cache never frees them); see chunk-cache.ts.
 * - A copy that its node answered as missing, corrupt or unreadable (an I/O error
 *   reading it: a bad sector, something that is no file under its name) is rewritten
 *   in the background from the good bytes (read repair), under the same chunk id;
 *   scrub uses the same rewrite (restoreCopies) for the bad copies it finds. A copy
 *   whose node does not take the rewrite is handed to `badCopies.drop` (bad-copies.ts:
 *   it is made on another node). A read that failed for any other reason (a
 *   deadline, a node that went down) says nothing about the copy: nothing is rewritten.
 * - What a read learns about a copy is recorded (`recordFault`, the copy's fault in
 *   the metadata): a copy its node answered as missing, corrupt or unreadable is
 *   recorded bad as it is found, and good again once rewritten, or once a read of it
 *   succeeds while the part record read says it is bad (a node's disk was mended).
 *   So a bad copy left as it is (no good copy to rewrite it from, or left for a
 *   repair pass) never counts as intact. When no copy serves, the error says why for
 *   each one: its node is down, it was not asked (a copy being rewritten), or its
 *   node's answer.
 * - Read repairs hold at most READ_REPAIR_MAX_BYTES of copied bytes at once (or one
 *   part, if larger). A bad copy found beyond that is left, recorded bad, for a
 *   repair pass (`badCopies.leftForRepair`), which rewrites such copies at its own
 *   pace, and counted: a reader racing through a file whose copies on one node are
 *   bad would otherwise pile up rewrites in memory faster than that node takes them.
 */
import { createLogger, errorMessage } from '../common/log';
import { BorrowedChunk, ChunkCache, ChunkEntry } from './chunk-cache';
import { ChunkIO } from './chunk-io';
import { RaidfsError } from './errors';
import { CopyFault, CopyFaults, PartRecord } from './metadata/metadata-store';
import { NodeRegistry } from './node-registry';
import { NodeRequestError } from './node-transport';
import { ErrorCode } from '../wire/messages';

const log = createLogger('read');

/** What a node answers for a copy of its that is bad, and the copy's fault: missing, corrupt (or holding another chunk), or unreadable. */
const BAD_COPY_ANSWERS: ReadonlyMap<NodeRequestError['code'], CopyFault> = new Map([
  [ErrorCode.NOT_FOUND, 'missing'], [ErrorCode.CHECKSUM_MISMATCH, 'corrupt'], [ErrorCode.IO_ERROR, 'unreadable'],
]);

/** Bytes read repairs under way may hold; 4 parts of the default stripe size. */
export const READ_REPAIR_MAX_BYTES = 16 << 20;

/** Read repairs so far: the bytes those under way hold, and the bad copies left to a repair pass. */
export interface ReadRepairTotals {
  heldBytes: number;
  leftForRepair: number;
}

/** What becomes of bad copies a read does not rewrite itself (bad-copies.ts). */
export interface BadCopyHandler {
  /** Copies found bad on `nodeIds` whose rewrite those nodes refused (`why`): made elsewhere. */
  drop(chunkId: string, nodeIds: readonly string[], why: string): unknown;
  /** Copies found bad on `nodeIds`, recorded so, that read repair left as they are. */
  leftForRepair(chunkId: string, nodeIds: readonly string[]): void;
}

export class PartReader {
  private readonly fetching = new Map<string, Promise<ChunkEntry>>();
  readonly readRepairs: ReadRepairTotals = { heldBytes: 0, leftForRepair: 0 };

  constructor(
    private readonly io: ChunkIO,
    private readonly registry: NodeRegistry,
    private readonly cache: ChunkCache,
    /** The nodes the metadata records now as holding `chunkId`; undefined once no file refers to it. */
    private readonly holdersNow: (chunkId: string) => readonly string[] | undefined,
    private readonly badCopies: BadCopyHandler,
    /** Records what was found about the copy of `chunkId` on `nodeId`: its fault, or null (it is good). */
    private readonly recordFault: (chunkId: string, nodeId: string, fault: CopyFault | null) => void,
  ) {}

  /** The part's verified bytes, lent until release(), if the cache holds them; never fetches. */
  borrowCached(part: PartRecord): BorrowedChunk | undefined {
    return this.cache.get(part.chunkId)?.borrow();
  }

  /** The part's verified bytes, lent until release(). */
  async borrow(part: PartRecord): Promise<BorrowedChunk> {
    return (await this.entry(part)).borrow();
  }

  /** The part's verified bytes, for any time (the cache never frees them). */
  async read(part: PartRecord): Promise<Buffer> {
    return (await this.entry(part)).keep();
  }

  /**
   * The part's cache entry, fetched if need be. Callers borrow or keep it in the
   * continuation of this promise, before the cache can free it (chunk-cache.ts).
   */
  private async entry(part: PartRecord): Promise<ChunkEntry> {
    const cached = this.cache.get(part.chunkId);
    if (cached) return cached;
    let fetch = this.fetching.get(part.chunkId);
    if (!fetch) {
      fetch = this.fetchFromReplicas(part).then((data) => this.cache.adopt(part.chunkId, data))
        .finally(() => this.fetching.delete(part.chunkId));
      this.fetching.set(part.chunkId, fetch);
    }
    return fetch;
  }

  /**
   * Rewrites the copies of `part` found bad (`bad`: their nodes, and what is wrong with
   * each) from a good copy elsewhere; resolves with the nodes whose rewrite failed.
   * Each stays recorded bad until its rewrite succeeds; throws, rewriting nothing, when
   * no other copy serves.
   */
  async restoreCopies(part: PartRecord, bad: CopyFaults): Promise<string[]> {
    const nodeIds = Object.keys(bad);
    for (const nodeId of nodeIds) this.recordFault(part.chunkId, nodeId, bad[nodeId]!);
    const data = this.cache.get(part.chunkId)?.keep() ?? await this.fetchFromReplicas(part, bad);
    return this.rewriteCopies(part, data, nodeIds);
  }

  /** Verified bytes of `part` from a copy that serves them, the copies in `avoid` (known bad) not asked. */
  private async fetchFromReplicas(part: PartRecord, avoid: CopyFaults = {}): Promise<Buffer> {
    const holders: string[] = [];
    /** Why each copy tried did not serve, by node. */
    const failures = new Map<string, NodeRequestError>();
    /** Nodes that answered that their copy is bad. */
    const bad: string[] = [];
    // The part's holders first, then any the metadata has recorded since (see the header).
    for (const candidates of [() => part.nodes, () => this.holdersNow(part.chunkId) ?? []]) {
      const untried = candidates().filter((id) => !holders.includes(id));
      holders.push(...untried);
      for (const nodeId of this.replicaOrder(untried.filter((id) => avoid[id] === undefined))) {
        try {
          const data = await this.io.fetch(nodeId, part.chunkId, part.size, part.checksum);
          if (part.faults[nodeId] !== undefined) this.recordFault(part.chunkId, nodeId, null);
          if (bad.length) this.repairInBackground(part, data, bad);
          return data;
        } catch (err) {
          const failure = err instanceof NodeRequestError ? err : new NodeRequestError(nodeId, ErrorCode.IO_ERROR, errorMessage(err));
          failures.set(nodeId, failure);
          const fault = err instanceof NodeRequestError ? BAD_COPY_ANSWERS.get(err.code) : undefined;
          if (fault) {
            bad.push(nodeId);
            this.recordFault(part.chunkId, nodeId, fault);
          }
          log.warn('replica unreadable, trying the next', { chunk: part.chunkId, node: nodeId, error: failure.message });
        }
      }
    }
    // Each copy's own reason: its node's answer, a copy known bad (not asked), or a node down.
    const why = holders.map((id) => failures.get(id)?.message
      ?? (avoid[id] !== undefined ? `node ${id}: its copy is ${avoid[id]}` : `node ${id}: down`)).join('; ');
    throw new RaidfsError(holders.some((id) => this.registry.isAlive(id)) ? 'EIO' : 'EUNAVAIL',
      `no readable copy of part ${part.idx}: ${why || 'it has no other copy'}`);
  }

  /** Read repair: rewrites the bad copies on `nodeIds` from `data` unless that would pass READ_REPAIR_MAX_BYTES. */
  private repairInBackground(part: PartRecord, data: Buffer, nodeIds: readonly string[]): void {
    const held = this.readRepairs;
    if (held.heldBytes > 0 && held.heldBytes + part.size > READ_REPAIR_MAX_BYTES) {
      held.leftForRepair += nodeIds.length;
      this.badCopies.leftForRepair(part.chunkId, nodeIds);
      return;
    }
    held.heldBytes += part.size;
    // A copy: the chunk cache will own `data`, and may free it before the sends are done.
    void this.rewriteCopies(part, Buffer.from(data), nodeIds)
      .then((failed) => { if (failed.length) this.badCopies.drop(part.chunkId, failed, 'read repair could not rewrite it'); })
      .catch((err) => log.warn('bad copy neither rewritten nor dropped; left for scrub', { chunk: part.chunkId, error: errorMessage(err) }))
      .finally(() => { held.heldBytes -= part.size; });
  }

  /** Holders that are up, in random order to spread load. */
  private replicaOrder(nodes: readonly string[]): string[] {
    return nodes.filter((id) => this.registry.isAlive(id)).sort(() => Math.random() - 0.5);
  }

  /** Stores `data` again under the part's chunk id on each of `nodeIds`; resolves with the nodes that failed. */
  private async rewriteCopies(part: PartRecord, data: Buffer, nodeIds: readonly string[]): Promise<string[]> {
    const results = await Promise.allSettled(nodeIds.map((nodeId) => this.io.store(nodeId, part.chunkId, data, part.checksum)));
    return nodeIds.filter((nodeId, i) => {
      const result = results[i];
      if (result.status === 'fulfilled') {
        this.recordFault(part.chunkId, nodeId, null);
        log.info('repaired copy', { chunk: part.chunkId, node: nodeId });
      } else log.warn('repair failed', { chunk: part.chunkId, node: nodeId, error: errorMessage(result.reason) });
      return result.status === 'rejected';
    });
  }
}
