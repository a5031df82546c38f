/**
 * Deletes chunk copies that no committed file refers to any more (after a delete or
 * a replace, or an upload that failed) from their nodes, once they have been doomed
 * for `delayMs`. The delay lets a reader that resolved the old parts just before a
 * replace finish its read.
 *
 * Invariants:
 * - A doomed row is forgotten only after its node acknowledged the delete; copies
 *   on nodes that are down wait for the node to come back.
 * - A copy its node could not delete (an I/O error, or the whole request failed)
 *   waits the delete delay again, so that it never holds up the others: the node
 *   deletes the rest of a request, and the next batches find other copies first.
 * - No copy is deleted before the commit that doomed it is durable (metadata sync).
 * - No copy of a pinned chunk is deleted (pinned-chunks.ts): a pass postpones it by
 *   the delete delay, so it goes once the program that read it let go.
 */
import { setImmediate } from 'node:timers/promises';
import { createLogger, errorMessage } from '../common/log';
import { ChunkIO } from './chunk-io';
import { DoomedCopy, MetadataStore } from './metadata/metadata-store';
import { NodeRegistry } from './node-registry';
import { PeriodicPass } from './periodic-pass';
import { PinnedChunks } from './pinned-chunks';

const BATCH = 1000;
const log = createLogger('collector');

export interface CollectReport {
  deleted: number;
}

export class DoomedCollector {
  readonly passes: PeriodicPass<CollectReport>;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly registry: NodeRegistry,
    private readonly io: ChunkIO,
    private readonly pinned: PinnedChunks,
    private readonly delayMs: number,
  ) {
    this.passes = new PeriodicPass('collector', () => ({ deleted: 0 }), (report) => this.pass(report));
  }

  start(intervalMs: number): void {
    this.passes.start(intervalMs, undefined);
  }

  stop(): void {
    this.passes.stop();
  }

  /** One pass now; resolves with the number of copies deleted. */
  async collect(): Promise<number> {
    return (await this.passes.runNow(undefined)).deleted;
  }

  /**
   * Batch after batch while each is a full one deleted whole, so a large delete
   * (`rm -r` of a big tree) goes at the nodes' pace, not BATCH copies per interval.
   * A batch with a pinned copy or a failed delete ends the pass: those copies are due
   * again after the delete delay (at once with none), and a later pass tries.
   */
  private async pass(report: CollectReport): Promise<void> {
    // Each batch after a yield: requests and timers get their turn between batches.
    while (await this.collectBatch(report)) await setImmediate();
    if (report.deleted) log.debug('deleted doomed copies', { count: report.deleted });
  }

  /** Deletes one batch of due copies; true if it was a full batch, all deleted (more may be due). */
  private async collectBatch(report: CollectReport): Promise<boolean> {
    const now = Date.now();
    const due: DoomedCopy[] = [];
    const held: DoomedCopy[] = [];
    const batch = this.metadata.dueDoomed(now - this.delayMs, this.registry.aliveIds(), BATCH);
    for (const copy of batch) (this.pinned.has(copy.chunkId) ? held : due).push(copy);
    if (held.length > 0) this.metadata.postponeDoomed(held, now);
    // A copy doomed by a lazy commit is deleted only once that commit is durable: a
    // power loss could otherwise bring back a file whose copies are gone.
    if (due.length > 0) this.metadata.sync();
    const byNode = new Map<string, string[]>();
    for (const copy of due) {
      const list = byNode.get(copy.nodeId) ?? [];
      list.push(copy.chunkId);
      byNode.set(copy.nodeId, list);
    }
    let failed = false;
    await Promise.all([...byNode].map(async ([nodeId, chunkIds]) => {
      const left = new Set(await this.deleteFrom(nodeId, chunkIds));
      const gone = chunkIds.filter((chunkId) => !left.has(chunkId));
      this.metadata.forgetDoomed(gone.map((chunkId) => ({ chunkId, nodeId })));
      report.deleted += gone.length;
      if (left.size > 0) {
        failed = true;
        // Due again once the delay has passed again: out of the way of the next batches, other nodes' among them.
        this.metadata.postponeDoomed([...left].map((chunkId) => ({ chunkId, nodeId })), Date.now());
      }
    }));
    return batch.length === BATCH && held.length === 0 && !failed;
  }

  /** Has `nodeId` delete `chunkIds`; resolves with those still there (all of them if the request failed). */
  private async deleteFrom(nodeId: string, chunkIds: string[]): Promise<string[]> {
    try {
      const { failed } = await this.io.delete(nodeId, chunkIds);
      if (failed.length) log.warn('the node could not delete some doomed copies; will retry', { node: nodeId, chunks: failed.length });
      return failed;
    } catch (err) {
      log.warn('delete of doomed copies failed; will retry', { node: nodeId, chunks: chunkIds.length, error: errorMessage(err) });
      return chunkIds;
    }
  }
}
