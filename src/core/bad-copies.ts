/**
 * What becomes of a copy its node would not take back. A copy found bad (missing on
 * its node, corrupt, holding another chunk, or unreadable: its node answers an I/O
 * error) by a read (part-reader.ts) or by scrub (scrubber.ts) is first rewritten in
 * place, under the same chunk id, from verified bytes of another copy. When that
 * rewrite fails (the node's disk is full, something that is no file sits under the
 * chunk's name, the node went down, ...), the copy is dropped here: it leaves its part
 * and becomes doomed (the collector deletes whatever is left of it), and repair is
 * asked to make the missing copy on another node.
 *
 * Invariants:
 * - A part's last recorded copy is never dropped, however bad: without it the
 *   metadata would no longer say where the part was ever stored. The part's holders
 *   are read at the drop, with no await between that and the drop, so drops racing
 *   each other (read repair of one copy, scrub of the other) never leave none.
 * - Only a copy the part still records is dropped: a file deleted, or a copy moved,
 *   since the copy was found bad is left as it is.
 * - A burst of drops (a reader going through a file whose copies on one node all are
 *   bad) asks for one repair pass, and one more after it if drops came while it ran.
 *   So does a burst of bad copies a read left as they are (leftForRepair): recorded
 *   bad, they do not count as intact, and the pass rewrites them in place.
 */
import { createLogger, errorMessage } from '../common/log';
import { MetadataStore } from './metadata/metadata-store';

const log = createLogger('repair');

export class BadCopies {
  /** A repair pass asked for is under way (or waits for its turn); `again`: drops came since it was asked for. */
  private asked?: { again: boolean };

  constructor(
    private readonly metadata: MetadataStore,
    /** Runs a repair pass; resolves when it is over. */
    private readonly runRepair: () => Promise<unknown>,
  ) {}

  /**
   * Drops the copies of `chunkId` on `nodeIds`, which their nodes would not take back
   * (`why`), all but the part's last; returns the nodes whose copy was dropped.
   */
  drop(chunkId: string, nodeIds: readonly string[], why: string): string[] {
    const holders = this.metadata.part(chunkId)?.nodes ?? [];
    const bad = nodeIds.filter((id) => holders.includes(id));
    const dropped = bad.slice(0, holders.length - 1);
    if (dropped.length < bad.length) {
      log.warn('bad copy kept: it is its part\'s last', { chunk: chunkId, nodes: bad.filter((id) => !dropped.includes(id)), why });
    }
    if (dropped.length === 0) return [];
    this.metadata.moveCopies(chunkId, dropped, []);
    log.warn('bad copy dropped; repair makes it on another node', { chunk: chunkId, nodes: dropped, why });
    this.askForRepair();
    return dropped;
  }

  /**
   * Copies of `chunkId` on `nodeIds` a read found bad (their faults recorded) but did
   * not rewrite: a repair pass rewrites them, paced, instead of the next scrub.
   */
  leftForRepair(chunkId: string, nodeIds: readonly string[]): void {
    log.warn('bad copy left for a repair pass: read repairs already hold their most', { chunk: chunkId, nodes: nodeIds });
    this.askForRepair();
  }

  private askForRepair(): void {
    if (this.asked) {
      this.asked.again = true;
      return;
    }
    const asked = { again: false };
    this.asked = asked;
    void this.runRepair()
      .catch((err) => log.warn('repair of dropped copies failed', { error: errorMessage(err) }))
      .finally(() => {
        this.asked = undefined;
        if (asked.again) this.askForRepair();
      });
  }
}
