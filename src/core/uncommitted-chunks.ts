/**
 * Chunk ids that are on (or on their way to) storage nodes but not yet accounted for
 * in the metadata: the parts of uploads under way, of drafts awaiting their commit,
 * and the new copies a repair is making. The orphan collector never touches these.
 * For the parts of uploads, it also knows which nodes acknowledged their copies, so
 * that a drain can say how many copies writes not yet committed hold on a node.
 *
 * Invariant: an id is added before its first store request is sent and removed only
 * in the same synchronous step that records it (commit) or dooms it, so at every
 * moment a copy on a node is uncommitted, a replica, or doomed; anything else is an
 * orphan.
 */
export class UncommittedChunks {
  /** Each id, with the nodes that acknowledged an upload's copies of it (none until its part is stored). */
  private readonly ids = new Map<string, readonly string[]>();

  add(chunkId: string): void {
    this.ids.set(chunkId, []);
  }

  /** The part stored as `chunkId` has its copies on `nodeIds`, acknowledged. */
  storedOn(chunkId: string, nodeIds: readonly string[]): void {
    if (this.ids.has(chunkId)) this.ids.set(chunkId, nodeIds);
  }

  delete(chunkIds: Iterable<string>): void {
    for (const id of chunkIds) this.ids.delete(id);
  }

  has(chunkId: string): boolean {
    return this.ids.has(chunkId);
  }

  /** How many stored copies not yet committed are on `nodeId` (a walk of every id: for drains, not hot paths). */
  copiesOn(nodeId: string): number {
    let copies = 0;
    for (const nodes of this.ids.values()) if (nodes.includes(nodeId)) copies += 1;
    return copies;
  }
}
