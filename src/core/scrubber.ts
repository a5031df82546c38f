/**
 * Scrub: every node that is up reads back each copy it should hold and checks it
 * against the checksum stored with it, which must be the one the metadata records
 * for the part (as on every read); then its chunk list is compared with the metadata
 * to find orphans. Runs every `intervalMs` and on demand (`raidfs scrub`).
 *
 * - A missing or corrupt copy (one whose file cannot be read included, and one that
 *   holds another chunk) is rewritten in place from a good copy (the same
 *   rewrite as read repair). If that fails (the node's disk is full, say), the copy is
 *   dropped from the part (doomed) and re-replication puts one elsewhere
 *   (bad-copies.ts; never the part's last copy). With no good copy to rewrite it
 *   from (every copy bad, or the others on nodes that are down), nothing is dropped:
 *   the error is reported, with the file's path and each copy's reason, and logged.
 * - Each bad copy found is recorded bad in the metadata (its fault: missing or
 *   corrupt; the node's check reports a file it cannot read as corrupt, so one a read
 *   recorded unreadable stays so) until it is rewritten, so status counts the part as
 *   lacking it (cluster-status.ts); a copy recorded bad that checks good again (its
 *   node's disk was mended or restored) is recorded good.
 * - An orphan is a chunk on a node that the metadata does not account for (no
 *   committed file's replica, not doomed) and that no upload or repair under way is
 *   making (UncommittedChunks): left by a controller crash mid-write, say. Orphans
 *   are doomed, so the collector deletes them after the delete delay, like any
 *   replaced copy.
 *
 * Besides the passes, one node is scrubbed at once when it registers with fewer
 * chunks than it should hold (scrubNodeNow, asked by inventory-check.ts); such a scrub
 * runs beside a pass, paced by the same rate, and one at a time per node.
 *
 * Invariant: scrub never deletes anything itself, and never touches a copy a
 * committed file refers to except to rewrite it with verified bytes.
 */
import { createLogger, errorMessage } from '../common/log';
import { BadCopies } from './bad-copies';
import { ClusterAccess } from './cluster-access';
import type { CopyFault } from './metadata/metadata-store';
import { noteError, PeriodicPass } from './periodic-pass';
import { RateLimiter } from './rate-limiter';

export interface ScrubReport {
  startedMs: number;
  finishedMs: number | null;
  nodesScrubbed: number;
  chunksVerified: number;
  bytesVerified: number;
  missing: number;
  corrupt: number;
  /** Bad copies rewritten in place. */
  rewritten: number;
  /** Bad copies dropped because the rewrite failed (re-replication takes over). */
  dropped: number;
  /** Chunks no file refers to, doomed for deletion. */
  orphans: number;
  errors: string[];
}

export interface ScrubSettings {
  /** Bytes per second scrub may read on a node (default 32 MiB/s). */
  bytesPerSecond: number;
  /** Time between background passes (0: only on demand). */
  intervalMs: number;
}

const VERIFY_MAX_IDS = 64;
const VERIFY_MAX_BYTES = 16 << 20;
const LIST_PAGE = 5_000;
const log = createLogger('scrub');

export class Scrubber {
  readonly passes: PeriodicPass<ScrubReport>;
  private readonly limiter: RateLimiter;
  /** The scrubs of single nodes under way (scrubNodeNow), by node. */
  private readonly nodeScrubs = new Map<string, Promise<ScrubReport>>();

  constructor(
    private readonly cluster: ClusterAccess,
    private readonly settings: ScrubSettings,
    /** Where copies that cannot be rewritten go (to be made elsewhere). */
    private readonly badCopies: BadCopies,
  ) {
    this.limiter = new RateLimiter(settings.bytesPerSecond);
    this.passes = new PeriodicPass('scrub', newReport, (report) => this.pass(report));
  }

  start(): void {
    this.passes.start(this.settings.intervalMs, undefined);
  }

  stop(): void {
    this.passes.stop();
  }

  runNow(): Promise<ScrubReport> {
    return this.passes.runNow(undefined);
  }

  /**
   * Scrubs node `nodeId` alone, now, beside any pass (see the header); resolves with
   * its report. Asked again while that node's scrub runs, resolves with that one.
   */
  scrubNodeNow(nodeId: string): Promise<ScrubReport> {
    let scrub = this.nodeScrubs.get(nodeId);
    if (!scrub) {
      scrub = (async () => {
        const report = newReport();
        await this.scrubNode(nodeId, report);
        report.finishedMs = Date.now();
        log.info('scrub of a node done', { node: nodeId, ...report, errors: report.errors.length });
        return report;
      })().finally(() => this.nodeScrubs.delete(nodeId));
      this.nodeScrubs.set(nodeId, scrub);
    }
    return scrub;
  }

  private async pass(report: ScrubReport): Promise<void> {
    for (const nodeId of this.cluster.registry.aliveIds()) await this.scrubNode(nodeId, report);
    report.finishedMs = Date.now();
    log.info('scrub pass done', { ...report, errors: report.errors.length });
  }

  /** Verifies the copies node `nodeId` should hold, then finds its orphans; counts it scrubbed if both went to their end. */
  private async scrubNode(nodeId: string, report: ScrubReport): Promise<void> {
    // Each step on its own: a verify that stops (a node too slow to answer) still
    // leaves the orphan check its turn.
    const verified = await this.step(nodeId, 'verify', report, () => this.verifyNode(nodeId, report));
    const listed = await this.step(nodeId, 'orphan check', report, () => this.findOrphans(nodeId, report));
    if (verified && listed) report.nodesScrubbed += 1;
  }

  /** Runs one step of a node's scrub; resolves whether it went to its end (a failure is noted in the report). */
  private async step(nodeId: string, what: string, report: ScrubReport, run: () => Promise<void>): Promise<boolean> {
    try {
      await run();
      return true;
    } catch (err) {
      noteError(report, `${nodeId}: ${what}: ${errorMessage(err)}`);
      log.warn('scrub step of a node stopped', { node: nodeId, step: what, error: errorMessage(err) });
      return false;
    }
  }

  private async verifyNode(nodeId: string, report: ScrubReport): Promise<void> {
    let after = '';
    for (;;) {
      const copies = this.cluster.metadata.copiesOnNode(nodeId, after, VERIFY_MAX_IDS);
      if (copies.length === 0) return;
      const batch: typeof copies = [];
      let bytes = 0;
      for (const copy of copies) {
        if (bytes >= VERIFY_MAX_BYTES) break;
        batch.push(copy);
        bytes += copy.size;
      }
      after = batch.at(-1)!.chunkId;
      await this.limiter.take(bytes);
      const result = await this.cluster.io.verify(nodeId, batch);
      report.chunksVerified += batch.length - result.missing.length;
      report.bytesVerified += result.bytesRead;
      report.missing += result.missing.length;
      report.corrupt += result.corrupt.length;
      const bad = new Set([...result.missing, ...result.corrupt]);
      const recorded = new Map(batch.map((copy) => [copy.chunkId, copy.fault]));
      for (const copy of batch) {
        if (copy.fault !== null && !bad.has(copy.chunkId)) this.cluster.metadata.setCopyFault(copy.chunkId, nodeId, null);
      }
      for (const chunkId of result.missing) await this.restore(chunkId, nodeId, 'missing', report);
      // The node's check reports a file it cannot read as corrupt; a read that found it unreadable said more.
      for (const chunkId of result.corrupt) {
        await this.restore(chunkId, nodeId, recorded.get(chunkId) === 'unreadable' ? 'unreadable' : 'corrupt', report);
      }
    }
  }

  private async restore(chunkId: string, nodeId: string, fault: CopyFault, report: ScrubReport): Promise<void> {
    const part = this.cluster.metadata.part(chunkId);
    if (!part?.nodes.includes(nodeId)) return; // deleted or moved meanwhile
    log.warn('bad copy found', { chunk: chunkId, node: nodeId, fault });
    let failed: string[];
    try {
      failed = await this.cluster.reader.restoreCopies(part, { [nodeId]: fault });
    } catch (err) {
      // No good copy to rewrite it from (every copy bad, or the others unreachable):
      // the bad copy is kept, as it is all there is (its bytes may still be mended).
      const fileId = this.cluster.metadata.fileOfPart(chunkId);
      const file = fileId === undefined ? 'a file deleted since' : this.cluster.pathOfFile(fileId);
      noteError(report, `${file}: part ${part.idx} (chunk ${chunkId}): ${errorMessage(err)}`);
      log.error('bad copy kept: no good copy to rewrite it from', { chunk: chunkId, node: nodeId, file, error: errorMessage(err) });
      return;
    }
    if (failed.length === 0) report.rewritten += 1;
    else report.dropped += this.badCopies.drop(chunkId, failed, 'scrub: its node would not take the rewrite').length;
  }

  private async findOrphans(nodeId: string, report: ScrubReport): Promise<void> {
    let after = '';
    for (;;) {
      const page = await this.cluster.io.list(nodeId, after, LIST_PAGE);
      // No await between the check and the doom: see UncommittedChunks.
      const orphans = this.cluster.metadata.unaccounted(nodeId, page.ids)
        .filter((chunkId) => !this.cluster.uncommitted.has(chunkId))
        .map((chunkId) => ({ chunkId, nodeId }));
      if (orphans.length) {
        this.cluster.metadata.doom(orphans);
        report.orphans += orphans.length;
        log.info('orphan chunks found', { node: nodeId, count: orphans.length });
      }
      if (!page.more || page.ids.length === 0) return;
      after = page.ids.at(-1)!;
    }
  }
}

function newReport(): ScrubReport {
  return {
    startedMs: Date.now(), finishedMs: null, nodesScrubbed: 0, chunksVerified: 0, bytesVerified: 0,
    missing: 0, corrupt: 0, rewritten: 0, dropped: 0, orphans: 0, errors: [],
  };
}
