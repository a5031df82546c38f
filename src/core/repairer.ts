/**
 * Re-replication: finds parts with fewer than `replicas` usable copies and makes new
 * copies on other live nodes, from a copy that reads back verified.
 *
 * A copy stops being usable when its node has been down longer than the grace
 * period (a restart does not cause a storm of copying), when scrub found it
 * missing or corrupt and could not rewrite it in place (scrubber.ts drops it), or
 * while it is recorded bad (its fault: kept for want of a good copy to rewrite it
 * from, or left to a pass by a read, see bad-copies.ts). A copy recorded bad on a
 * live node is first rewritten in place from an intact copy (as scrub would); one
 * whose node does not take the rewrite counts as leaving, like a lost one. A part
 * with no intact copy that serves (damaged, or its intact copies on nodes that are
 * down) fails.
 * `raidfs repair` runs a pass at once with no grace: every node that is down counts
 * as lost. A node being drained (`raidfs drain`) counts as leaving: its copies do
 * not count, but it serves as the source of the new copies, and each of its copies
 * is dropped (doomed, then deleted by the collector) in the same transaction that
 * records its replacement, so no part ever has fewer copies while it drains.
 *
 * Invariants:
 * - The new copy goes to a live node that holds no copy of the part, not even a
 *   doomed one (that one is about to be deleted).
 * - A copy is recorded only after its node acknowledged it, in one transaction that
 *   also drops (dooms) as many lost copies; if the file was deleted or replaced
 *   meanwhile, the new copy is doomed instead. So when a lost node comes back, its
 *   old copies are deleted, and a deleted file never comes back with it. A copy whose
 *   node was forgotten before it acknowledged is not recorded and drops nothing.
 * - A part counts as failed in the report unless it got every copy it lacked.
 * - The chunk is uncommitted (UncommittedChunks) from before its targets are chosen
 *   until its copies are recorded, so scrub never dooms a copy repair is making, and
 *   a copy on a node that holds a doomed one is never recorded.
 * - Copying is paced by a byte rate (RateLimiter), two parts at a time, so user I/O
 *   keeps most of the disks and network.
 * - The background timer looks for parts only when the set of lost or draining nodes
 *   changed (or the last pass left parts unrepaired, then at most once a minute), so
 *   a healthy cluster, or one with a node long gone and repaired around, pays
 *   nothing; and on every tick while a node drains, since uploads under way when
 *   the drain began may still commit copies there. Looking reads the per-holders
 *   counts and then only the parts that lack copies, by index.
 */
import { setImmediate } from 'node:timers/promises';
import { createLogger, errorMessage } from '../common/log';
import { ClusterAccess } from './cluster-access';
import { PartRecord } from './metadata/metadata-store';
import { noteError, PeriodicPass } from './periodic-pass';
import { RateLimiter } from './rate-limiter';

export interface RepairReport {
  startedMs: number;
  finishedMs: number | null;
  /** Nodes whose copies counted as lost in this pass. */
  lostNodes: string[];
  /** Nodes up and being drained, whose copies this pass moved elsewhere. */
  drainingNodes: string[];
  /** Parts found with too few usable copies. */
  underReplicated: number;
  copiesMade: number;
  bytesCopied: number;
  /** Copies recorded bad rewritten in place from an intact copy. */
  rewritten: number;
  /** Parts left under-replicated: no readable copy, no node to take one, or a failed store. */
  failed: number;
  /** Why parts failed, a few examples. */
  errors: string[];
}

export interface RepairSettings {
  replicas: number;
  /** A node down this long has its copies made again elsewhere. */
  graceMs: number;
  /** Bytes per second repair may copy. */
  bytesPerSecond: number;
}

const BATCH = 256;
const PARALLEL = 2;
const log = createLogger('repair');

/** What a pass is asked to do: which nodes count as lost, and whether a timer started it. */
interface PassRequest {
  graceMs: number;
  background: boolean;
}

/** A background pass whose lost nodes are the same as the last one's is skipped (see shouldScan). */
const RETRY_FAILED_MS = 60_000;

export class Repairer {
  readonly passes: PeriodicPass<RepairReport, PassRequest>;
  private readonly limiter: RateLimiter;
  /** The lost and draining nodes of the last full pass, its end and whether it left parts unrepaired. */
  private settled = { leaving: '', atMs: 0, failed: true }; // "failed": the first tick scans once, after a restart

  constructor(
    private readonly cluster: ClusterAccess,
    private readonly settings: RepairSettings,
  ) {
    this.limiter = new RateLimiter(settings.bytesPerSecond);
    this.passes = new PeriodicPass('repair', newReport, (report, request) => this.pass(report, request));
  }

  /** Checks for newly lost nodes every few seconds (sooner for short grace periods). */
  start(): void {
    this.passes.start(Math.min(10_000, Math.max(250, this.settings.graceMs / 4)), { graceMs: this.settings.graceMs, background: true });
  }

  stop(): void {
    this.passes.stop();
  }

  /** A pass now in which every node that is down counts as lost. */
  runNow(): Promise<RepairReport> {
    return this.passes.runNow({ graceMs: 0, background: false });
  }

  /** A pass now with the usual grace period (after scrub dropped bad copies). */
  runSoon(): Promise<RepairReport> {
    return this.passes.runNow({ graceMs: this.settings.graceMs, background: false });
  }

  /**
   * A full pass visits every part that lacks copies. The timer runs one only when the
   * set of lost or draining nodes changed since the last, or, if that one left parts
   * unrepaired, once a minute; or while a node drains (see the header).
   */
  private shouldScan(leavingKey: string, draining: boolean): boolean {
    if (leavingKey !== this.settled.leaving) return true;
    if (this.settled.failed) return Date.now() - this.settled.atMs >= RETRY_FAILED_MS;
    return draining;
  }

  private async pass(report: RepairReport, request: PassRequest): Promise<boolean> {
    const lost = this.cluster.registry.lostIds(request.graceMs);
    const draining = this.cluster.registry.drainingIds().filter((id) => !lost.includes(id));
    const leaving = new Set([...lost, ...draining]);
    const leavingKey = `${[...lost].sort().join(',')} draining ${draining.sort().join(',')}`;
    if (request.background && !this.shouldScan(leavingKey, draining.length > 0)) return false;
    report.lostNodes = lost;
    report.drainingNodes = draining;
    const usable = this.cluster.registry.knownIds().filter((id) => !leaving.has(id));
    for (const batch of this.cluster.metadata.partsWithFewerCopies(usable, this.settings.replicas, BATCH)) {
      report.underReplicated += batch.length;
      let next = 0;
      const worker = async () => {
        while (next < batch.length) await this.repairPart(batch[next++], leaving, report);
      };
      await Promise.all(Array.from({ length: PARALLEL }, worker));
      // A batch whose parts found no node to copy to did no I/O: let requests in between.
      await setImmediate();
    }
    report.finishedMs = Date.now();
    if (request.graceMs === this.settings.graceMs) this.settled = { leaving: leavingKey, atMs: report.finishedMs, failed: report.failed > 0 };
    if (report.underReplicated) (report.failed ? log.warn : log.info)('repair pass done', { ...report, errors: report.errors.length });
    return report.underReplicated > 0;
  }

  /**
   * Rewrites `part`'s copies recorded bad in place, then gives it new copies for those
   * on `leaving` nodes (lost or being drained) and those still bad, and drops as many
   * of those.
   */
  private async repairPart(part: PartRecord, leaving: ReadonlySet<string>, report: RepairReport): Promise<void> {
    const fail = (why: string) => {
      report.failed += 1;
      noteError(report, `part ${part.chunkId}: ${why}`);
    };
    // Until the new copies are recorded, scrub must not take a copy of this chunk on
    // a target (a stray one, left by an earlier try) for an orphan and doom it: the
    // collector would then delete the copy just recorded.
    this.cluster.uncommitted.add(part.chunkId);
    try {
      let stillBad: string[];
      try {
        stillBad = await this.rewriteFaulty(part, leaving, report);
      } catch (err) {
        return fail(errorMessage(err));
      }
      // The copies to replace; bad ones are dropped first (a leaving one still holds good bytes).
      const replaced = new Set([...stillBad, ...leaving]);
      const needed = this.settings.replicas - part.nodes.filter((id) => !replaced.has(id)).length;
      if (needed <= 0) return;
      const exclude = new Set([...part.nodes, ...this.cluster.metadata.doomedNodesOf(part.chunkId)]);
      const targets = this.cluster.registry.choose(needed, part.size, exclude);
      if (targets.length === 0) return fail(this.whyNoTarget(exclude, part.size));
      await this.limiter.take(part.size * targets.length);
      let data: Buffer;
      try {
        data = await this.cluster.reader.read(part);
      } catch (err) {
        return fail(errorMessage(err));
      }
      const results = await Promise.allSettled(targets.map((nodeId) => this.cluster.io.store(nodeId, part.chunkId, data, part.checksum)));
      // A copy doomed meanwhile is about to be deleted, and one on a node forgotten
      // meanwhile is on a node the cluster no longer knows: neither counts as a holder,
      // so neither lets a leaving copy go. (forgetNode drops the node from the registry
      // and the metadata in one go, and nothing awaits between here and moveCopies.)
      const doomed = new Set(this.cluster.metadata.doomedNodesOf(part.chunkId));
      const stored = targets.filter((nodeId, i) => results[i].status === 'fulfilled' && !doomed.has(nodeId) && this.cluster.registry.isKnown(nodeId));
      const dropped = [...replaced].filter((id) => part.nodes.includes(id)).slice(0, stored.length);
      if (this.cluster.metadata.moveCopies(part.chunkId, dropped, stored)) {
        report.copiesMade += stored.length;
        report.bytesCopied += stored.length * part.size;
      }
      const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failure) fail(errorMessage(failure.reason));
      else if (stored.length < targets.length) fail('a node the copy went to was forgotten, or is deleting that chunk');
      else if (targets.length < needed) fail(`only ${targets.length} of the ${needed} new copies it needs found a live node with room`);
    } finally {
      this.cluster.uncommitted.delete([part.chunkId]);
    }
  }

  /** Why no node was found for a new copy of a part of `bytes`, none of `exclude` eligible. */
  private whyNoTarget(exclude: ReadonlySet<string>, bytes: number): string {
    const others = this.cluster.registry.placeableIds().filter((id) => !exclude.has(id));
    if (others.length === 0) return 'every live node that takes new copies (not being drained) holds one already';
    return `no live node without a copy has room for it (${others.join(', ')}: not ${bytes} bytes free)`;
  }

  /**
   * Rewrites the copies of `part` recorded bad on live nodes not `leaving` from an
   * intact copy; resolves with the nodes of those still bad (not rewritten). Throws
   * when no intact copy serves.
   */
  private async rewriteFaulty(part: PartRecord, leaving: ReadonlySet<string>, report: RepairReport): Promise<string[]> {
    const faulty = Object.entries(part.faults).filter(([id]) => !leaving.has(id) && this.cluster.registry.isAlive(id));
    if (faulty.length === 0) return Object.keys(part.faults);
    await this.limiter.take(part.size * faulty.length);
    const failed = await this.cluster.reader.restoreCopies(part, Object.fromEntries(faulty));
    report.rewritten += faulty.length - failed.length;
    report.bytesCopied += (faulty.length - failed.length) * part.size;
    const rewritten = new Set(faulty.map(([id]) => id).filter((id) => !failed.includes(id)));
    return Object.keys(part.faults).filter((id) => !rewritten.has(id));
  }
}

function newReport(): RepairReport {
  return {
    startedMs: Date.now(), finishedMs: null, lostNodes: [], drainingNodes: [], underReplicated: 0, copiesMade: 0, bytesCopied: 0,
    rewritten: 0, failed: 0, errors: [],
  };
}
