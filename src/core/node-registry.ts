/**
 * The storage nodes the controller knows, and which of them are alive.
 *
 * A node is alive while it has spoken (registered, heartbeat, any reply) within
 * `nodeTimeoutMs`. Reports (capacity, free and used bytes, chunks) come with each
 * heartbeat and ack. Bytes of writes in flight to a node are reserved against its
 * free space, and against its file system's for every node on it (cluster-space.ts),
 * so a burst of parts does not all land on the node that looked emptiest, nor fill a
 * disk that several nodes share.
 *
 * Invariants:
 * - Every node ever registered is known (loaded from SQLite at start), alive or not,
 *   so status shows nodes that have not come back after a controller restart; until
 *   the operator forgets it (forget-node.ts).
 * - A node counts as down from `nodeTimeoutMs` after it last spoke, or at once when
 *   its connection is lost (kill -9 of its process, a stop), ZeroMQ can no longer
 *   route to it or it is refused; but never from before this controller started:
 *   nodes get a full grace period to reconnect after a restart.
 * - `lastSeenMs` is only ever when the node last spoke: counting it down at once
 *   records when and why (`gone`), never an older last-seen time.
 * - A node being drained (`raidfs drain`, recorded in SQLite) is never chosen for a
 *   new copy; it keeps serving reads while repair moves its copies elsewhere.
 * - The moment a node is counted down, every request still waiting on it fails
 *   (NodeTransport.failPending), so callers move on to another replica without
 *   waiting for their deadline.
 * - A node of another cluster is refused at registration (cluster-membership.ts) and
 *   never counted alive: its heartbeats and replies are not taken as signs of life.
 *
 * Registration is recorded in SQLite (nodes table); heartbeats stay in memory. Each
 * accepted registration is handed to `onRegistered` with the node's chunk count
 * (the controller checks it against the metadata: inventory-check.ts).
 */
import { formatDuration } from '../common/format';
import { createLogger } from '../common/log';
import { ClusterMembership, describeRefusals } from './cluster-membership';
import { MetadataStore, NodeRow } from './metadata/metadata-store';
import { NodeTransport } from './node-transport';
import { failureDomainsOf, pickNodes } from './placement';
import { roomForCopies } from './cluster-space';
import type { NodeStatus, RefusedNode, VolumeStatus } from './node-status';
import { bodyOf, ErrorCode, Message, NodeReport } from '../wire/messages';

/** What the registry keeps per node; `alive`, `downSinceMs` and `downReason` are derived when asked. */
interface KnownNode extends Omit<NodeStatus, 'alive' | 'downSinceMs' | 'downReason'> {
  reservedBytes: number;
  /** When and why it was counted down at once (connection lost, unreachable, refused); null since it last spoke. */
  gone: { sinceMs: number; why: string } | null;
  /** The node's going down was acted on (logged, pending requests failed). */
  downNoticed: boolean;
}

/** How often the registry looks for nodes that fell silent. */
const SWEEP_MS = 200;

export class NodeRegistry {
  private readonly log = createLogger('registry');
  private readonly nodes = new Map<string, KnownNode>();
  private readonly waiters = new Set<() => void>();
  private readonly startedMs = Date.now();
  private readonly sweeper: NodeJS.Timeout;
  private readonly membership: ClusterMembership;
  /** Called after each accepted registration, with the number of chunks the node reported holding. */
  onRegistered: (nodeId: string, chunkCount: number) => void = () => undefined;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly transport: NodeTransport,
    private readonly controllerId: string,
    private readonly nodeTimeoutMs: number,
  ) {
    this.membership = new ClusterMembership(metadata.clusterId);
    for (const row of metadata.knownNodes()) {
      this.nodes.set(row.id, { ...row, lastSeenMs: 0, softwareVersion: '', volume: null, reservedBytes: 0, gone: null, downNoticed: true });
    }
    transport.onMessage = (nodeId, message) => this.onMessage(nodeId, message);
    transport.onConnectionLost = (nodeId) => this.noteGone(nodeId, 'connection lost');
    this.sweeper = setInterval(() => this.noticeDownNodes(), SWEEP_MS);
    this.sweeper.unref();
  }

  stop(): void {
    clearInterval(this.sweeper);
  }

  isAlive(id: string): boolean {
    const node = this.nodes.get(id);
    return node !== undefined && node.gone === null && Date.now() - node.lastSeenMs <= this.nodeTimeoutMs;
  }

  /** Whether node `id` is known: registered at some time, and not forgotten since. */
  isKnown(id: string): boolean {
    return this.nodes.has(id);
  }

  knownIds(): string[] {
    return [...this.nodes.keys()];
  }

  aliveIds(): string[] {
    return [...this.nodes.keys()].filter((id) => this.isAlive(id));
  }

  /** Nodes down for at least `graceMs`: their copies count as lost and are made again elsewhere. */
  lostIds(graceMs: number): string[] {
    const now = Date.now();
    return [...this.nodes.values()]
      .filter((node) => {
        const since = this.downSinceMs(node);
        return since !== null && now - since >= graceMs;
      })
      .map((node) => node.id);
  }

  /** Every node ever registered, alive or not, in id order. */
  statuses(): NodeStatus[] {
    return [...this.nodes.values()]
      .map((node) => {
        const { reservedBytes: _reserved, gone: _gone, downNoticed: _noticed, ...status } = node;
        return { ...status, alive: this.isAlive(node.id), downSinceMs: this.downSinceMs(node), downReason: this.downReason(node) };
      })
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Up to `count` distinct live nodes not being drained for a part of `bytes`, none of
   * them in `exclude` (the part's copies, and nodes tried for it), preferring machines
   * and file systems where none of those are (see placement.ts).
   */
  choose(count: number, bytes: number, exclude: ReadonlySet<string>): string[] {
    // Room counts every copy on its way to a live node on the same file system.
    const room = roomForCopies(this.aliveIds().map((id) => this.nodes.get(id)!));
    const candidates = this.placeableIds()
      .filter((id) => !exclude.has(id))
      .map((id) => {
        const node = this.nodes.get(id)!;
        // Every part has bytes, so a node has stores in flight exactly when it has bytes reserved.
        return { id, ...failureDomainsOf(node), freeBytes: room.get(id) ?? 0, idle: node.reservedBytes === 0 };
      });
    const placed = [...exclude].flatMap((id) => {
      const node = this.nodes.get(id);
      return node ? [failureDomainsOf(node)] : [];
    });
    return pickNodes(candidates, count, bytes, Math.random, placed);
  }

  /** Live nodes that take new copies: those not being drained. */
  placeableIds(): string[] {
    return this.aliveIds().filter((id) => !this.nodes.get(id)!.draining);
  }

  /** Nodes being drained (`raidfs drain`), up or down. */
  drainingIds(): string[] {
    return [...this.nodes.values()].filter((node) => node.draining).map((node) => node.id);
  }

  /** Starts or stops draining node `id` (recorded in the metadata); false if no such node is known. */
  setDraining(id: string, draining: boolean): boolean {
    const node = this.nodes.get(id);
    if (!node) return false;
    this.metadata.setDraining(id, draining);
    node.draining = draining;
    return true;
  }

  /**
   * Stops knowing node `id` (an operator forgot it, gone for good: forget-node.ts). If
   * it ever registers again, it is a new node.
   */
  forget(id: string): void {
    this.nodes.delete(id);
  }

  /** A copy of `bytes` is on its way to node `id`: it counts against the node's free space, and the node as busy, until release. */
  reserve(id: string, bytes: number): void {
    const node = this.nodes.get(id);
    if (node) node.reservedBytes += bytes;
  }

  release(id: string, bytes: number): void {
    const node = this.nodes.get(id);
    if (node) node.reservedBytes = Math.max(0, node.reservedBytes - bytes);
  }

  /** Nodes whose last registration was refused: they belong to another cluster. */
  refusedNodes(): RefusedNode[] {
    return this.membership.refusedNodes();
  }

  /** Records a fresh report that came with a reply from a node (one refused excepted). */
  noteReport(id: string, report: NodeReport | null | undefined): void {
    const node = this.nodes.get(id);
    if (!node || this.membership.isRefused(id)) return;
    node.lastSeenMs = Date.now();
    node.gone = null;
    if (report) Object.assign(node, plainReport(report), { volume: reportedVolume(report) });
    if (node.downNoticed) {
      node.downNoticed = false;
      this.log.info('node is up', { node: id, address: node.address });
    }
  }

  /**
   * Counts a node as down at once: its connection is gone (`why`: lost, or the ROUTER
   * cannot route to it), or it was refused. Its next heartbeat or registration makes
   * it alive again.
   */
  noteGone(id: string, why: string): void {
    const node = this.nodes.get(id);
    if (node && this.isAlive(id)) {
      node.gone = { sinceMs: Date.now(), why };
      this.noticeDown(node, why);
    }
  }

  /** When `node` was counted down (null while alive); never before this controller started. */
  private downSinceMs(node: KnownNode): number | null {
    if (this.isAlive(node.id)) return null;
    return node.gone?.sinceMs ?? Math.max(this.startedMs, node.lastSeenMs + this.nodeTimeoutMs);
  }

  /** Why `node` is counted down (null while alive). */
  private downReason(node: KnownNode): string | null {
    if (this.isAlive(node.id)) return null;
    if (node.gone) return node.gone.why;
    return node.lastSeenMs === 0 ? 'not heard from since the controller started' : `silent for over ${formatDuration(this.nodeTimeoutMs)}`;
  }

  private noticeDownNodes(): void {
    for (const node of this.nodes.values()) {
      if (!node.downNoticed && !this.isAlive(node.id)) this.noticeDown(node, `silent for ${Date.now() - node.lastSeenMs} ms`);
    }
  }

  private noticeDown(node: KnownNode, why: string): void {
    node.downNoticed = true;
    this.log.warn('node down', { node: node.id, why });
    this.transport.failPending(node.id, `node counted down (${why})`);
  }

  /**
   * Resolves once at least `count` nodes are alive; rejects after `timeoutMs`, or as
   * soon as the nodes refused (another cluster's) leave too few of `count` to come:
   * `count` is all the nodes expected (`raidfs up`'s), refused ones included.
   */
  async waitForNodes(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.aliveIds().length < count) {
      const alive = this.aliveIds().length;
      const refused = this.refusedNodes();
      if (refused.length > 0 && alive + refused.length >= count) {
        throw new Error(`only ${alive} of ${count} storage nodes registered; refused: ${describeRefusals(refused)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${alive} of ${count} storage nodes registered within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const wake = () => { clearTimeout(timer); this.waiters.delete(wake); resolve(); };
        const timer = setTimeout(wake, Math.min(left, 200));
        this.waiters.add(wake);
      });
    }
  }

  private onMessage(nodeId: string, message: Message): void {
    if (message.kind === 'register') {
      const body = bodyOf(message.envelope, 'register');
      if (body.nodeId !== nodeId) {
        this.log.warn('register with mismatched id ignored', { routingId: nodeId, claimed: body.nodeId });
        return;
      }
      const refusal = this.membership.refusal(
        { nodeId, address: body.address, clusterId: body.clusterId, chunkCount: Number(body.report?.chunkCount ?? 0) }, this.nodes.has(nodeId));
      if (refusal !== undefined) {
        this.noteGone(nodeId, 'refused: it belongs to another cluster');
        void this.transport.send(nodeId, { error: { code: ErrorCode.WRONG_CLUSTER, reason: refusal } }).catch(() => undefined);
        this.waiters.forEach((wake) => wake());
        return;
      }
      const report = plainReport(body.report);
      const known = this.nodes.get(nodeId);
      this.nodes.set(nodeId, {
        id: nodeId, ...report, address: body.address, lastSeenMs: Date.now(), softwareVersion: body.softwareVersion,
        volume: reportedVolume(body.report), reservedBytes: known?.reservedBytes ?? 0, gone: null, downNoticed: false, draining: known?.draining ?? false,
      });
      this.metadata.upsertNode(nodeId, body.address, report);
      this.log.info('node registered', { node: nodeId, address: body.address, free: report.freeBytes, chunks: report.chunkCount });
      this.acknowledge(nodeId);
      this.onRegistered(nodeId, report.chunkCount);
      this.waiters.forEach((wake) => wake());
    } else if (message.kind === 'heartbeat') {
      if (!this.nodes.has(nodeId) || this.membership.isRefused(nodeId)) {
        void this.transport.send(nodeId, { error: { code: ErrorCode.NOT_REGISTERED, reason: 'register first' } }).catch(() => undefined);
        return;
      }
      this.noteReport(nodeId, bodyOf(message.envelope, 'heartbeat').report);
      this.acknowledge(nodeId);
    } else {
      this.log.warn('unexpected message from node', { node: nodeId, kind: message.kind });
    }
  }

  private acknowledge(nodeId: string): void {
    void this.transport.send(nodeId, { registerAck: { controllerId: this.controllerId, clusterId: this.membership.clusterId } }).catch(() => undefined);
  }
}

/** The file system a node reported, its sizes as numbers (null from a node that did not report one). */
function reportedVolume(report: NodeReport | null | undefined): VolumeStatus | null {
  const volume = report?.volume;
  if (!volume?.id) return null;
  return { id: volume.id, host: volume.host || volume.id, capacityBytes: Number(volume.capacityBytes ?? 0), freeBytes: Number(volume.freeBytes ?? 0) };
}

/** A node's report as numbers, in the shape the metadata stores it. */
function plainReport(report: NodeReport | null | undefined): Omit<NodeRow, 'id' | 'address'> {
  return {
    capacityBytes: Number(report?.capacityBytes ?? 0),
    freeBytes: Number(report?.freeBytes ?? 0),
    usedBytes: Number(report?.usedBytes ?? 0),
    chunkCount: Number(report?.chunkCount ?? 0),
  };
}
