/**
 * Which storage nodes belong to this controller's cluster. The metadata gets a random
 * cluster id when it is made (schema.ts); a node records the id of the first
 * controller it registers with in its data directory (node/cluster-id.ts), and names
 * it in every registration after.
 *
 * A registration is refused (ErrorReply WRONG_CLUSTER, logged here and on the node,
 * listed by `raidfs status`) when the node
 * - has recorded another cluster's id: this metadata is not the one its chunks were
 *   stored under (the metadata file was lost, emptied or replaced, `--db` names
 *   another), or the node connected to another cluster's controller; or
 * - has recorded none (it is older than cluster ids), holds chunks, and this metadata
 *   has never known it: the same mistake, made before the node had an id to record.
 * Any other node is accepted; one with no id recorded (a new node, or one this
 * metadata knows from before cluster ids) adopts this cluster's.
 *
 * Invariants: a refused node is never counted alive (the registry drops its
 * heartbeats and replies), so scrub never lists its chunks and never takes them for
 * orphans; nothing here changes the metadata or the node's record: the operator
 * decides (start the controller on the node's metadata, or empty the node).
 */
import { createLogger } from '../common/log';
import type { RefusedNode } from './node-status';

/** What a registering node says about itself, as far as membership goes. */
export interface Registration {
  nodeId: string;
  address: string;
  /** The cluster it has recorded ('' if none). */
  clusterId: string;
  chunkCount: number;
}

/** What to do about refused nodes, said once after their reasons. */
const REMEDY = 'nothing on the node is deleted. Its chunks were stored under other metadata (is this metadata file new '
  + 'because the old one was lost, emptied or replaced, or because --db names another?), or it connects to another '
  + 'cluster\'s controller: start the controller on its cluster\'s metadata, or empty the node\'s data directory to reuse it here';

const log = createLogger('cluster');

/**
 * How long a refusal is listed after the node's last try. A refused node tries again
 * every few seconds; one not heard from for this long has stopped (or was fixed), and
 * `raidfs status` and raidfs_nodes_refused no longer show it.
 */
export const REFUSAL_LISTED_MS = 60_000;

export class ClusterMembership {
  private readonly refused = new Map<string, RefusedNode>();

  constructor(readonly clusterId: string, private readonly now: () => number = Date.now) {}

  /**
   * Checks a registration; `knownHere`: the metadata knows the node. Returns undefined
   * if the node may register, or why not (also sent to the node) and records the refusal.
   */
  refusal(node: Registration, knownHere: boolean): string | undefined {
    const reason = this.reasonToRefuse(node, knownHere);
    if (reason === undefined) {
      this.refused.delete(node.nodeId);
      return undefined;
    }
    // Logged loudly once; the node tries again every few seconds.
    const again = this.refused.get(node.nodeId)?.reason === reason;
    log[again ? 'debug' : 'error']('node of another cluster refused', { node: node.nodeId, address: node.address, reason });
    this.refused.set(node.nodeId, { id: node.nodeId, address: node.address, clusterId: node.clusterId, reason, lastRefusedMs: this.now() });
    return `${reason}: ${REMEDY}`;
  }

  /** Whether node `id`'s last registration was refused (within REFUSAL_LISTED_MS). */
  isRefused(id: string): boolean {
    return this.listed().has(id);
  }

  /** The nodes whose last registration was refused (within REFUSAL_LISTED_MS), in id order. */
  refusedNodes(): RefusedNode[] {
    return [...this.listed().values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The refusals, those older than REFUSAL_LISTED_MS forgotten first. */
  private listed(): Map<string, RefusedNode> {
    const oldest = this.now() - REFUSAL_LISTED_MS;
    for (const [id, node] of this.refused) if (node.lastRefusedMs < oldest) this.refused.delete(id);
    return this.refused;
  }

  private reasonToRefuse(node: Registration, knownHere: boolean): string | undefined {
    if (node.clusterId && node.clusterId !== this.clusterId) {
      return `node ${node.nodeId} belongs to cluster ${node.clusterId}, not to this controller's cluster ${this.clusterId}`;
    }
    if (!node.clusterId && node.chunkCount > 0 && !knownHere) {
      return `node ${node.nodeId} holds ${node.chunkCount} chunks and has recorded no cluster (it is older than cluster ids), `
        + `and this controller's metadata (cluster ${this.clusterId}) has never known it`;
    }
    return undefined;
  }
}

/** Refused nodes in one message: each one's reason, then the remedy once. */
export function describeRefusals(refused: readonly RefusedNode[]): string {
  return `${refused.map((node) => node.reason).join('; ')}: ${REMEDY}`;
}
