/**
 * The space of a set of nodes, as `df` on the mount, GET /status and `raidfs status`
 * report it: each file system counted once. Nodes that keep their data on one file
 * system (`raidfs up`'s local nodes do) each report all of its free space; summing
 * their reports would promise as many times the space there is.
 *
 * Placement asks the same of each node (roomForCopies): what it may still take is
 * bounded by what its file system has left once every copy on its way to any node on
 * it is counted, so that nodes sharing a disk do not each promise its last bytes.
 *
 * Invariants: nodes reporting one volume (see src/node/volume-name.ts) together count
 * for at most that volume's size and free bytes, and for at most the sum of their own
 * figures (which their configured capacities bound); a node that reports no volume
 * counts alone. Of two reports of one volume's free bytes, the lower counts: each node
 * lowers it by what it stored since its last statfs, not by what the others did.
 */
import type { NodeStatus } from './node-status';
import { failureDomainsOf } from './placement';

export interface Space {
  capacityBytes: number;
  freeBytes: number;
}

export function clusterSpace(nodes: readonly NodeStatus[]): Space {
  const total: Space = { capacityBytes: 0, freeBytes: 0 };
  for (const group of byVolume(nodes)) {
    const volumes = reportsOf(group);
    for (const key of ['capacityBytes', 'freeBytes'] as const) {
      const own = group.reduce((sum, node) => sum + node[key], 0);
      total[key] += Math.min(own, ...volumes.map((volume) => volume[key]));
    }
  }
  return total;
}

/** A live node as placement sees it: its report, and the bytes of copies on their way to it. */
export type NodeLoad = Pick<NodeStatus, 'id' | 'freeBytes' | 'volume'> & { reservedBytes: number };

/**
 * The bytes each of `nodes` may still take for new copies: its own free bytes less
 * the copies on their way to it, and at most its file system's free bytes less the
 * copies on their way to every node of `nodes` on that file system.
 */
export function roomForCopies(nodes: readonly NodeLoad[]): Map<string, number> {
  const room = new Map<string, number>();
  for (const group of byVolume(nodes)) {
    const reserved = group.reduce((sum, node) => sum + node.reservedBytes, 0);
    const volumeRoom = Math.min(...reportsOf(group).map((volume) => volume.freeBytes)) - reserved;
    for (const node of group) room.set(node.id, Math.min(node.freeBytes - node.reservedBytes, volumeRoom));
  }
  return room;
}

/** `nodes` grouped by the file system they report (a node that reports none is a group of its own). */
function byVolume<N extends Pick<NodeStatus, 'id' | 'volume'>>(nodes: readonly N[]): Iterable<N[]> {
  const groups = new Map<string, N[]>();
  for (const node of nodes) {
    const { volume } = failureDomainsOf(node);
    const group = groups.get(volume);
    if (group) group.push(node);
    else groups.set(volume, [node]);
  }
  return groups.values();
}

/** The reports of their file system that a group's nodes made. */
function reportsOf(group: readonly Pick<NodeStatus, 'volume'>[]): NonNullable<NodeStatus['volume']>[] {
  return group.flatMap((node) => (node.volume ? [node.volume] : []));
}
