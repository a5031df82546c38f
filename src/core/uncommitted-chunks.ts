/**
 * Chunk ids that are on (or on their way to) storage nodes but not yet accounted for
 * in the metadata: the parts of uploads under way, of drafts awaiting their commit,
 * and the new copies a repair is making. The orphan collector never touches these.
 *
 * Invariant: an id is added before its first store request is sent and removed only
 * in the same synchronous step that records it (commit) or dooms it, so at every
 * moment a copy on a node is uncommitted, a replica, or doomed; anything else is an
 * orphan.
 */
export class UncommittedChunks {
  private readonly ids = new Set<string>();

  add(chunkId: string): void {
    this.ids.add(chunkId);
  }

  delete(chunkIds: Iterable<string>): void {
    for (const id of chunkIds) this.ids.delete(id);
  }

  has(chunkId: string): boolean {
    return this.ids.has(chunkId);
  }
}
