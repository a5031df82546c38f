/**
 * The space of a set of nodes, as `df` on the mount, GET /status and `raidfs status`
 * report it: each file system counted once. Nodes that keep their data on one file
 * system (`raidfs up`'s local nodes do) each report all of its free space; summing
 * their reports would promise as many times the space there is.
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
  const groups = new Map<string, NodeStatus[]>();
  for (const node of nodes) {
    const { volume } = failureDomainsOf(node);
    const group = groups.get(volume);
    if (group) group.push(node);
    else groups.set(volume, [node]);
  }
  const total: Space = { capacityBytes: 0, freeBytes: 0 };
  for (const group of groups.values()) {
    const volumes = group.flatMap((node) => (node.volume ? [node.volume] : []));
    for (const key of ['capacityBytes', 'freeBytes'] as const) {
      const own = group.reduce((sum, node) => sum + node[key], 0);
      total[key] += Math.min(own, ...volumes.map((volume) => volume[key]));
    }
  }
  return total;
}
