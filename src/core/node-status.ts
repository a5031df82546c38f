/**
 * A storage node as the controller reports it (GET /status, `raidfs status`, the
 * dashboard). Invariant: no imports, types only, so the dashboard's browser build
 * (src/rest/ui) reads this same declaration instead of a copy.
 */
export interface NodeStatus {
  id: string;
  alive: boolean;
  /** Where the node runs, as it reported ("host (ip)"). */
  address: string;
  capacityBytes: number;
  freeBytes: number;
  usedBytes: number;
  chunkCount: number;
  /**
   * When it last spoke, also once it is counted down (0: never since this controller
   * started, and unknown before).
   */
  lastSeenMs: number;
  /** When it was counted down; null while alive. */
  downSinceMs: number | null;
  /**
   * Why it was counted down ("connection lost", "unreachable", "silent for over 5s",
   * "not heard from since the controller started", a refusal); null while alive.
   */
  downReason: string | null;
  softwareVersion: string;
  /** Being drained (`raidfs drain`): gets no new copies, and repair moves its copies to other nodes. */
  draining: boolean;
  /** The file system its data is on, which other nodes may share (null: not reported). */
  volume: VolumeStatus | null;
}

/** A file system holding nodes' data, as a node on it last reported it. */
export interface VolumeStatus {
  /** Equal for nodes on one file system (see src/node/volume-name.ts). */
  id: string;
  /** Equal for nodes on one machine. */
  host: string;
  capacityBytes: number;
  freeBytes: number;
}

/**
 * A node whose registration was refused because it belongs to another cluster than
 * the controller's metadata (see cluster-membership.ts).
 */
export interface RefusedNode {
  id: string;
  /** Where it runs, as it reported. */
  address: string;
  /** The cluster it has recorded ('' if none). */
  clusterId: string;
  /** Why it was refused, in one sentence. */
  reason: string;
  /** When it last tried to register. */
  lastRefusedMs: number;
}
