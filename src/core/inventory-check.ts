/**
 * The check of a node's chunks when it registers. A node that comes back with an
 * empty or partly lost disk (its disk replaced under the same node identity and
 * cluster id, chunk files lost in a crash) registers like any other; without this
 * check it would count as holding every copy the metadata records on it until the
 * next scrub pass, hours away, while those parts had one real copy.
 *
 * The node reports how many chunks it holds (its Register message's NodeReport). It
 * should hold at least a copy of every part the metadata records on it, and every
 * doomed copy it has not deleted yet (a node that was down keeps those until it is
 * back); more is usual (uploads under way, orphans). Fewer means it lost some: that
 * node is scrubbed at once (Scrubber.scrubNodeNow), which rewrites each missing copy
 * from its other copy, or, where the node will not take it, has it made on another
 * node (bad-copies.ts), and finds its orphans.
 *
 * Invariants and limits:
 * - A registration with at least as many chunks as expected costs two small queries
 *   and reads nothing from the node: restarts of nodes and of the controller, and
 *   reconnects, do no extra work.
 * - The count is a lower bound only: a node that lost some copies but holds as many
 *   chunks the metadata knows nothing of (orphans a controller crash left) looks
 *   whole, until scrub. Conversely, a doomed copy the node deleted but whose
 *   acknowledgement never arrived (the node stopped right after) makes a whole node
 *   look short once: it is scrubbed for nothing.
 */
import { createLogger, errorMessage } from '../common/log';
import { MetadataStore } from './metadata/metadata-store';
import { Scrubber } from './scrubber';

const log = createLogger('registry');

export class InventoryCheck {
  constructor(
    private readonly metadata: MetadataStore,
    private readonly scrubber: Scrubber,
  ) {}

  /** Node `nodeId` registered holding `chunkCount` chunks: scrubs it now if that is fewer than it should hold. */
  noteRegistered(nodeId: string, chunkCount: number): void {
    const expected = this.metadata.chunksExpectedOn(nodeId);
    const short = expected.copies + expected.doomed - chunkCount;
    if (short <= 0) return;
    log.warn('node registered with fewer chunks than it should hold: scrubbing it now', {
      node: nodeId, chunks: chunkCount, copies: expected.copies, doomed: expected.doomed, missingAtLeast: short,
    });
    this.scrubber.scrubNodeNow(nodeId).catch((err) => log.warn('scrub of a node short of chunks failed', { node: nodeId, error: errorMessage(err) }));
  }
}
