/**
 * What `raidfs status` and GET /status show: every node with its state and space
 * (and the nodes refused as another cluster's), how many parts lack intact copies,
 * the first few damaged files, and what repair and scrub are doing. Built on demand
 * from the registry (memory) and the per-holders and per-faults part counts (a few
 * rows, whatever the number of parts); the damaged files are looked up, by index
 * over the parts with a copy known bad, only when there are any.
 *
 * A copy counts as intact unless a scrub or read recorded it bad (its fault, see
 * metadata-store.ts): a copy nobody has checked since it was stored is intact. The
 * counts nest: every damaged part is unavailable, every unavailable part is
 * under-replicated.
 */
import { clusterSpace } from './cluster-space';
import { FileTree } from './file-tree';
import { MetadataStore } from './metadata/metadata-store';
import { NodeRegistry } from './node-registry';
import type { NodeStatus, RefusedNode } from './node-status';
import { PassProgress } from './periodic-pass';
import { RepairReport } from './repairer';
import { ScrubReport } from './scrubber';

export interface ClusterStatus {
  /** The cluster's id (its metadata's): the nodes that recorded another are refused. */
  clusterId: string;
  /** Copies every part should have. */
  replicas: number;
  nodes: NodeStatus[];
  /** Nodes refused at registration: they belong to another cluster (cluster-membership.ts). */
  refusedNodes: RefusedNode[];
  nodesUp: number;
  nodesDown: number;
  /** Capacity and use of the nodes that are up, each file system counted once (see cluster-space.ts). */
  capacityBytes: number;
  freeBytes: number;
  usedBytes: number;
  parts: {
    total: number;
    /** Parts with fewer than `replicas` intact copies on nodes that are up. */
    underReplicated: number;
    /**
     * Parts with no intact copy on a node that is up: unreadable now. Those damaged
     * included; the others are readable again when a node holding an intact copy
     * comes back.
     */
    unavailable: number;
    /**
     * Parts with no intact copy anywhere: every copy is recorded bad (scrub or a read
     * found it corrupt, missing or unreadable and had no good copy to rewrite it
     * from). No node coming back mends them; see `damagedFiles`.
     */
    damaged: number;
    /**
     * Parts that have their copies but need one made elsewhere before the nodes being
     * drained can go (0 once every drain is done).
     */
    toMoveOffDraining: number;
  };
  /**
   * Up to DAMAGED_FILES_LISTED of the files with a damaged part (their id and path),
   * none when no part is damaged. GET /files/ID/info shows which copies are bad.
   */
  damagedFiles: Array<{ id: number; path: string }>;
  repair: PassProgress<RepairReport>;
  scrub: PassProgress<ScrubReport>;
}

/** How many damaged files status names at most. */
export const DAMAGED_FILES_LISTED = 10;

export function clusterStatus(
  registry: NodeRegistry,
  metadata: MetadataStore,
  tree: FileTree,
  replicas: number,
  repair: PassProgress<RepairReport>,
  scrub: PassProgress<ScrubReport>,
): ClusterStatus {
  const nodes = registry.statuses();
  const up = nodes.filter((n) => n.alive);
  const counts = metadata.copyCounts(up.map((n) => n.id), replicas);
  const staying = up.some((n) => n.draining) ? metadata.copyCounts(up.filter((n) => !n.draining).map((n) => n.id), replicas) : counts;
  return {
    clusterId: metadata.clusterId,
    replicas,
    nodes,
    refusedNodes: registry.refusedNodes(),
    nodesUp: up.length,
    nodesDown: nodes.length - up.length,
    ...clusterSpace(up),
    usedBytes: up.reduce((total, n) => total + n.usedBytes, 0),
    parts: {
      total: counts.parts, underReplicated: counts.underReplicated, unavailable: counts.unavailable, damaged: counts.damaged,
      toMoveOffDraining: staying.underReplicated - counts.underReplicated,
    },
    damagedFiles: counts.damaged ? metadata.damagedFiles(DAMAGED_FILES_LISTED).map((id) => ({ id, path: tree.pathOf(id) })) : [],
    repair,
    scrub,
  };
}
