/**
 * What `raidfs status` and GET /status show: every node with its state and space
 * (and the nodes refused as another cluster's), how many parts lack copies, and what
 * repair and scrub are doing. Built on demand from the registry (memory) and the
 * per-holders part counts (a few rows, whatever the number of parts).
 */
import { clusterSpace } from './cluster-space';
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
    /** Parts with fewer than `replicas` copies on nodes that are up. */
    underReplicated: number;
    /** Parts with no copy on a node that is up (unreadable until one comes back). */
    unavailable: number;
    /**
     * Parts that have their copies but need one made elsewhere before the nodes being
     * drained can go (0 once every drain is done).
     */
    toMoveOffDraining: number;
  };
  repair: PassProgress<RepairReport>;
  scrub: PassProgress<ScrubReport>;
}

export function clusterStatus(
  registry: NodeRegistry,
  metadata: MetadataStore,
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
      total: counts.parts, underReplicated: counts.underReplicated, unavailable: counts.unavailable,
      toMoveOffDraining: staying.underReplicated - counts.underReplicated,
    },
    repair,
    scrub,
  };
}
