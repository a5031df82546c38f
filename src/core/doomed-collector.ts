/**
 * Deletes chunk copies that no committed file refers to any more (after a delete or
 * a replace, or an upload that failed) from their nodes, once they have been doomed
 * for `delayMs`. The delay lets a reader that resolved the old parts just before a
 * replace finish its read.
 *
 * Invariant: a doomed row is forgotten only after its node acknowledged the delete;
 * copies on nodes that are down wait for the node to come back.
 */
import { createLogger, errorMessage } from '../common/log';
import { ChunkIO } from './chunk-io';
import { MetadataStore } from './metadata/metadata-store';
import { NodeRegistry } from './node-registry';

const BATCH = 1000;
const log = createLogger('collector');

export class DoomedCollector {
  private timer?: NodeJS.Timeout;
  private running?: Promise<number>;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly registry: NodeRegistry,
    private readonly io: ChunkIO,
    private readonly delayMs: number,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => void this.collect().catch(() => undefined), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One pass; resolves with the number of copies deleted. Passes never overlap. */
  collect(): Promise<number> {
    this.running ??= this.pass().finally(() => { this.running = undefined; });
    return this.running;
  }

  private async pass(): Promise<number> {
    const due = this.metadata.dueDoomed(Date.now() - this.delayMs, BATCH);
    const byNode = new Map<string, string[]>();
    for (const copy of due) {
      if (!this.registry.isAlive(copy.nodeId)) continue;
      const list = byNode.get(copy.nodeId) ?? [];
      list.push(copy.chunkId);
      byNode.set(copy.nodeId, list);
    }
    let deleted = 0;
    await Promise.all([...byNode].map(async ([nodeId, chunkIds]) => {
      try {
        await this.io.delete(nodeId, chunkIds);
        this.metadata.forgetDoomed(chunkIds.map((chunkId) => ({ chunkId, nodeId })));
        deleted += chunkIds.length;
      } catch (err) {
        log.warn('delete of doomed copies failed; will retry', { node: nodeId, chunks: chunkIds.length, error: errorMessage(err) });
      }
    }));
    if (deleted) log.debug('deleted doomed copies', { count: deleted });
    return deleted;
  }
}
