/**
 * Where a part's copies go: `count` distinct nodes drawn at random, each with a chance
 * proportional to the free bytes it has left. Drawing (rather than round-robin or
 * "the emptiest two") spreads every pair of nodes over the parts, so losing any two
 * nodes loses few parts, while fuller nodes still receive less.
 */
export interface Candidate {
  id: string;
  /** Bytes the node can still take (free space minus writes in flight to it). */
  freeBytes: number;
}

/** Up to `count` distinct candidate ids with room for `bytes`; fewer if not enough have room. */
export function pickNodes(candidates: readonly Candidate[], count: number, bytes: number, random: () => number = Math.random): string[] {
  const pool = candidates.filter((c) => c.freeBytes >= bytes);
  const chosen: string[] = [];
  while (chosen.length < count && pool.length > 0) {
    const total = pool.reduce((sum, c) => sum + c.freeBytes + 1, 0);
    let ticket = random() * total;
    let index = pool.findIndex((c) => (ticket -= c.freeBytes + 1) < 0);
    if (index < 0) index = pool.length - 1;
    chosen.push(pool[index].id);
    pool.splice(index, 1);
  }
  return chosen;
}
