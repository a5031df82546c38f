/**
 * Where a part's copies go: `count` distinct nodes, each drawn first from the nodes on
 * a machine that holds no copy yet, then on a file system that holds none, then from
 * the idle nodes (no store in flight) before the others; each draw at random with a
 * chance proportional to the free bytes a node has left.
 *
 * - Machines and file systems first: a copy is a copy only if what takes the other
 *   down leaves it. Nodes that share one (as `raidfs up`'s local nodes share a disk)
 *   are all equally placed, and the rules below decide among them.
 * - Idle next: an idle node acknowledges sooner than one still writing. The two
 *   halves of a small file then land on four different nodes (when there are four)
 *   and are written in parallel, instead of one node writing two copies in a row,
 *   as a blind draw would do in five files out of six.
 * - Drawing (rather than round-robin or "the emptiest two") spreads every pair of
 *   nodes over the parts, so losing a node spreads its repair over the others and
 *   losing any two loses few parts, while fuller nodes still receive less. Only idle
 *   nodes are preferred, not "the least busy": that would send a large file's next
 *   part to the pair that just finished, over and over.
 */
import type { NodeStatus } from './node-status';

/** Where a node keeps its data: what a copy must not share with another, where it can. */
export interface FailureDomains {
  /** The machine (equal for nodes on one). */
  host: string;
  /** The file system (equal for nodes on one). */
  volume: string;
}

/** A node's machine and file system, as it reported them; a node that reported none counts as a machine of its own. */
export function failureDomainsOf(node: Pick<NodeStatus, 'id' | 'volume'>): FailureDomains {
  return node.volume ? { host: node.volume.host, volume: node.volume.id } : { host: `node ${node.id}`, volume: `node ${node.id}` };
}

export interface Candidate extends FailureDomains {
  id: string;
  /** Bytes the node can still take (free space minus writes in flight to it). */
  freeBytes: number;
  /** No copy is on its way to the node (none sent and not acknowledged yet). */
  idle: boolean;
}

/**
 * Up to `count` distinct candidate ids with room for `bytes`, away from each other and
 * from `placed` (where the part's other copies are, or were tried) as far as the
 * candidates allow; fewer if not enough have room.
 */
export function pickNodes(
  candidates: readonly Candidate[], count: number, bytes: number,
  random: () => number = Math.random, placed: readonly FailureDomains[] = [],
): string[] {
  const pool = candidates.filter((c) => c.freeBytes >= bytes);
  const hosts = new Set(placed.map((p) => p.host));
  const volumes = new Set(placed.map((p) => p.volume));
  // Lower is better: a shared machine outweighs a shared file system, which outweighs being busy.
  const rank = (c: Candidate) => (hosts.has(c.host) ? 4 : 0) + (volumes.has(c.volume) ? 2 : 0) + (c.idle ? 0 : 1);
  const chosen: string[] = [];
  while (chosen.length < count && pool.length > 0) {
    const best = Math.min(...pool.map(rank));
    const tier = pool.filter((c) => rank(c) === best);
    const pick = tier[drawByFreeBytes(tier, random)];
    chosen.push(pick.id);
    hosts.add(pick.host);
    volumes.add(pick.volume);
    pool.splice(pool.indexOf(pick), 1);
  }
  return chosen;
}

/** The index of one of `pool` (not empty), drawn with odds proportional to free bytes (+1, so a node with none can still be drawn). */
function drawByFreeBytes(pool: readonly Candidate[], random: () => number): number {
  let ticket = random() * pool.reduce((sum, c) => sum + c.freeBytes + 1, 0);
  const index = pool.findIndex((c) => (ticket -= c.freeBytes + 1) < 0);
  return index < 0 ? pool.length - 1 : index;
}
