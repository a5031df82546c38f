/**
 * The storage nodes the controller knows, and which of them are alive.
 *
 * A node is alive while it has spoken (registered, heartbeat, any reply) within
 * `nodeTimeoutMs`. Reports (capacity, free bytes, chunks) come with each heartbeat
 * and ack. Bytes of writes in flight to a node are reserved against its free space,
 * so a burst of parts does not all land on the node that looked emptiest.
 *
 * Registration is recorded in SQLite (nodes table); heartbeats stay in memory.
 */
import { createLogger } from '../common/log';
import { MetadataStore } from './metadata/metadata-store';
import { NodeTransport } from './node-transport';
import { pickNodes } from './placement';
import { bodyOf, ErrorCode, Message, NodeReport } from '../wire/messages';

export interface NodeStatus {
  id: string;
  alive: boolean;
  capacityBytes: number;
  freeBytes: number;
  chunkCount: number;
  lastSeenMs: number;
  softwareVersion: string;
}

/** What the registry keeps per node; `alive` is derived from lastSeenMs when asked. */
interface KnownNode extends Omit<NodeStatus, 'alive'> {
  reservedBytes: number;
}

export class NodeRegistry {
  private readonly log = createLogger('registry');
  private readonly nodes = new Map<string, KnownNode>();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly metadata: MetadataStore,
    private readonly transport: NodeTransport,
    private readonly controllerId: string,
    private readonly nodeTimeoutMs: number,
  ) {
    transport.onMessage = (nodeId, message) => this.onMessage(nodeId, message);
  }

  isAlive(id: string): boolean {
    const node = this.nodes.get(id);
    return node !== undefined && Date.now() - node.lastSeenMs <= this.nodeTimeoutMs;
  }

  aliveIds(): string[] {
    return [...this.nodes.keys()].filter((id) => this.isAlive(id));
  }

  /** Every node registered since start, alive or not, in id order. */
  statuses(): NodeStatus[] {
    return [...this.nodes.values()]
      .map(({ reservedBytes: _reserved, ...status }) => ({ ...status, alive: this.isAlive(status.id) }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Up to `count` distinct live nodes for a part of `bytes`, none of them in `exclude`. */
  choose(count: number, bytes: number, exclude: ReadonlySet<string>): string[] {
    const candidates = this.aliveIds()
      .filter((id) => !exclude.has(id))
      .map((id) => {
        const node = this.nodes.get(id)!;
        return { id, freeBytes: node.freeBytes - node.reservedBytes };
      });
    return pickNodes(candidates, count, bytes);
  }

  reserve(id: string, bytes: number): void {
    const node = this.nodes.get(id);
    if (node) node.reservedBytes += bytes;
  }

  release(id: string, bytes: number): void {
    const node = this.nodes.get(id);
    if (node) node.reservedBytes = Math.max(0, node.reservedBytes - bytes);
  }

  /** Records a fresh report that came with a reply from a node. */
  noteReport(id: string, report: NodeReport | null | undefined): void {
    const node = this.nodes.get(id);
    if (!node) return;
    node.lastSeenMs = Date.now();
    if (report) Object.assign(node, plainReport(report));
  }

  /**
   * Counts a node as down at once: its connection is gone (the ROUTER cannot route to
   * it). Its next heartbeat or registration makes it alive again.
   */
  noteUnreachable(id: string): void {
    const node = this.nodes.get(id);
    if (node && this.isAlive(id)) {
      node.lastSeenMs = 0;
      this.log.warn('node unreachable; counted down', { node: id });
    }
  }

  /** Resolves once at least `count` nodes are alive, or rejects after `timeoutMs`. */
  async waitForNodes(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.aliveIds().length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.aliveIds().length} of ${count} storage nodes registered within ${timeoutMs} ms`);
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
      const report = plainReport(body.report);
      const known = this.nodes.get(nodeId);
      this.nodes.set(nodeId, {
        id: nodeId, ...report, lastSeenMs: Date.now(), softwareVersion: body.softwareVersion,
        reservedBytes: known?.reservedBytes ?? 0,
      });
      this.metadata.upsertNode(nodeId, report);
      this.log.info('node registered', { node: nodeId, free: report.freeBytes, chunks: report.chunkCount });
      this.acknowledge(nodeId);
      this.waiters.forEach((wake) => wake());
    } else if (message.kind === 'heartbeat') {
      if (!this.nodes.has(nodeId)) {
        void this.transport.send(nodeId, { error: { code: ErrorCode.NOT_REGISTERED, reason: 'register first' } }).catch(() => undefined);
        return;
      }
      const wasAlive = this.isAlive(nodeId);
      this.noteReport(nodeId, bodyOf(message.envelope, 'heartbeat').report);
      if (!wasAlive) this.log.info('node is back', { node: nodeId });
      this.acknowledge(nodeId);
    } else {
      this.log.warn('unexpected message from node', { node: nodeId, kind: message.kind });
    }
  }

  private acknowledge(nodeId: string): void {
    void this.transport.send(nodeId, { registerAck: { controllerId: this.controllerId } }).catch(() => undefined);
  }
}

function plainReport(report: NodeReport | null | undefined): { capacityBytes: number; freeBytes: number; chunkCount: number } {
  return {
    capacityBytes: Number(report?.capacityBytes ?? 0),
    freeBytes: Number(report?.freeBytes ?? 0),
    chunkCount: Number(report?.chunkCount ?? 0),
  };
}
