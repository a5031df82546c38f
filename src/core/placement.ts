/**
 * Where a part's copies go: `count` distinct nodes, drawn first from the idle nodes
 * (no store in flight), then from the others; each draw at random with a chance
 * proportional to the free bytes a node has left.
 *
 * - Idle first: an idle node acknowledges sooner than one still writing. The two
 *   halves of a small file then land on four different nodes (when there are four)
 *   and are written in parallel, instead of one node writing two copies in a row,
 *   as a blind draw would do in five files out of six.
 * - Drawing (rather than round-robin or "the emptiest two") spreads every pair of
 *   nodes over the parts, so losing a node spreads its repair over the others and
 *   losing any two loses few parts, while fuller nodes still receive less. Only idle
 *   nodes are preferred, not "the least busy": that would send a large file's next
 *   part to the pair that just finished, over and over.
 */
export interface Candidate {
  id: string;
  /** Bytes the node can still take (free space minus writes in flight to it). */
  freeBytes: number;
  /** No copy is on its way to the node (none sent and not acknowledged yet). */
  idle: boolean;
}

/** Up to `count` distinct candidate ids with room for `bytes`; fewer if not enough have room. */
export function pickNodes(candidates: readonly Candidate[], count: number, bytes: number, random: () => number = Math.random): string[] {
  const withRoom = candidates.filter((c) => c.freeBytes >= bytes);
  const idle = withRoom.filter((c) => c.idle);
  const busy = withRoom.filter((c) => !c.idle);
  const chosen: string[] = [];
  for (const pool of [idle, busy]) {
    while (chosen.length < count && pool.length > 0) {
      const index = drawByFreeBytes(pool, random);
      chosen.push(pool[index].id);
      pool.splice(index, 1);
    }
  }
  return chosen;
}

/** The index of one of `pool` (not empty), drawn with odds proportional to free bytes (+1, so a node with none can still be drawn). */
function drawByFreeBytes(pool: readonly Candidate[], random: () => number): number {
  let ticket = random() * pool.reduce((sum, c) => sum + c.freeBytes + 1, 0);
  const index = pool.findIndex((c) => (ticket -= c.freeBytes + 1) < 0);
  return index < 0 ? pool.length - 1 : index;
}
