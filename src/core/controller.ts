/**
 * The controller core: the only place that knows RAID-1. Both front ends (FUSE and
 * REST) call this API; neither talks to nodes or SQL directly.
 *
 * Calls on the tree of names (stat, list, mkdir, rename, remove, ...) are the
 * FileTree's (file-tree.ts): short synchronous SQLite transactions. Data calls are
 * async: writeFile streams a source into parts on the nodes and commits the file
 * only after every copy was acknowledged (in two steps, storeDraft then
 * commitDraft, for a writer that decides at the end, or commitDraftTo, for an open
 * file's writes, which go to the file opened); reads go through a FileSnapshot, the
 * parts of one committed version of a file, so a reader sees the old or the new
 * content of a file being replaced, never a mix (range-stream.ts). A reader that
 * takes longer than the delete delay holds its snapshot (hold()), so a replace does
 * not delete what it is still reading.
 *
 * Invariants:
 * - The tree only ever shows committed files; a failed write changes nothing visible
 *   and its stored copies are doomed (deleted from their nodes later).
 * - Errors are RaidfsError with an errno-like code (errors.ts).
 * - Every commit is fsynced before the call returns, except a `lazy` one (the mount's
 *   close) and createFile's, which delayed-sync.ts fsyncs within syncDelayMs.
 * - A file createFile made and nothing committed content to by the time the
 *   controller stopped (killed before the mount's first close of it) is removed when
 *   it starts again, before anything is served (removeUnfinishedCreates), with one
 *   warning; a file that ever had content committed, however empty, is never.
 *
 * `metrics` is this controller's Prometheus registry (metrics.ts); the front ends
 * record their traffic through it.
 */
import { randomBytes } from 'node:crypto';
import { createLogger, errorMessage } from '../common/log';
import { BadCopies } from './bad-copies';
import { BorrowedChunk, ChunkCache } from './chunk-cache';
import { ClusterStatus, clusterStatus } from './cluster-status';
import { ChunkIO } from './chunk-io';
import { DelayedSync } from './delayed-sync';
import { DoomedCollector } from './doomed-collector';
import { RaidfsError } from './errors';
import { editedContent, editsByPart, FileEdit, plannedParts } from './file-edit';
import { DirOptions, FileOwnership, fileNames, FileTree, WriteTarget } from './file-tree';
import { forgetNode, ForgetReport } from './forget-node';
import { requireStorableSize } from './file-size';
import { InventoryCheck } from './inventory-check';
import { MemoryBudget, Reservation } from './memory-budget';
import { Entry, EntryAttributes, KeptPartsGoneError, MetadataStore, PartRecord } from './metadata/metadata-store';
import { ControllerMetrics } from './metrics';
import { NodeRegistry } from './node-registry';
import type { NodeStatus } from './node-status';
import { NodeTransport } from './node-transport';
import { PartReader } from './part-reader';
import { partsInRange } from './parts-in-range';
import { StreamMemory, streamRange } from './range-stream';
import { ReadAhead } from './read-ahead';
import { PinnedChunks, SnapshotPin } from './pinned-chunks';
import type { ContentSource } from './part-splitter';
import { BASE_STRIPES, Draft, PartRoom, PartWriter, ROOM_RESERVED } from './part-writer';
import { StripeBuffers } from './stripe-buffers';
import { Repairer, RepairReport } from './repairer';
import { Scrubber, ScrubReport } from './scrubber';
import { UncommittedChunks } from './uncommitted-chunks';
import { MAX_CHUNK_BYTES } from '../wire/messages';
import type { CurveServerConfig } from '../wire/transport-security';

export type { Entry, PartRecord } from './metadata/metadata-store';
export type { Draft } from './part-writer';
export type { FileEdit } from './file-edit';
export type { DirOptions } from './file-tree';
export type { SnapshotPin } from './pinned-chunks';
export type { NodeStatus } from './node-status';
export type { ClusterStatus } from './cluster-status';
export type { RepairReport } from './repairer';
export type { ScrubReport } from './scrubber';
export type { ForgetReport } from './forget-node';

/**
 * What `raidfs drain` answers: its repair pass's report, and what that pass left on
 * the node. Writes under way when the drain began may still commit copies there,
 * after the pass looked; background repair moves those while the node drains.
 */
export interface DrainReport extends RepairReport {
  /** Parts that still need a copy made elsewhere before the node can go (failed in the pass, or committed after it looked). */
  partsLeft: number;
  /** Copies on the node of writes not committed yet (a file still open for writing, say). */
  uncommittedCopiesLeft: number;
}

export interface ControllerOptions {
  /** SQLite metadata file (created if missing). */
  dbPath: string;
  /** ZeroMQ endpoint for storage nodes (default tcp://127.0.0.1:5557; port 0 picks one). */
  endpoint?: string;
  /** Part size for files over two stripes (default 4 MiB). */
  stripeSize?: number;
  /** Copies of every part, each on a distinct node (default 2). */
  replicas?: number;
  /** Parts being stored (or, for reads, fetched) at once per stream (default 4). */
  partsInFlight?: number;
  /** Deadline of every request to a node (default 5 s). */
  requestTimeoutMs?: number;
  /** A node silent this long counts as down (default 5 s). */
  nodeTimeoutMs?: number;
  /** Verified chunk bytes kept for re-reads (default 32 MiB). */
  cacheBytes?: number;
  /** File data held for the mount's uploads (storeDraft, storeEdit) and read-ahead, however many files are written or read at once (default 128 MiB). */
  dataMemoryBytes?: number;
  /** File data held for REST uploads (writeFile) and downloads (lendSnapshot), however many at once (default 128 MiB). */
  restMemoryBytes?: number;
  /** How long replaced, deleted or orphaned copies stay on nodes before deletion (default 10 s). */
  deleteDelayMs?: number;
  /** Longest a lazy commit (a file closed in the mount) waits to be fsynced (default 1 s; 0: none is lazy). */
  syncDelayMs?: number;
  /** A node down this long has its copies made again on other nodes (default 60 s). */
  repairGraceMs?: number;
  /** Bytes per second background repair may copy (default 64 MiB/s). */
  repairBytesPerSecond?: number;
  /** Time between background scrubs (default 24 h; 0: only on demand). */
  scrubIntervalMs?: number;
  /** Bytes per second scrub may read (default 32 MiB/s). */
  scrubBytesPerSecond?: number;
  /** CURVE keys for node traffic: only nodes with an authorized key connect; frames are encrypted. */
  curve?: CurveServerConfig;
  /** Allow unauthenticated node traffic on a non-loopback endpoint (default false: refused). */
  insecure?: boolean;
}

export const DEFAULTS = {
  endpoint: 'tcp://127.0.0.1:5557',
  stripeSize: 4 << 20,
  replicas: 2,
  partsInFlight: 4,
  requestTimeoutMs: 5_000,
  nodeTimeoutMs: 5_000,
  cacheBytes: 32 << 20,
  dataMemoryBytes: 128 << 20,
  restMemoryBytes: 128 << 20,
  deleteDelayMs: 10_000,
  syncDelayMs: 1_000,
  repairGraceMs: 60_000,
  repairBytesPerSecond: 64 << 20,
  scrubIntervalMs: 24 * 3600_000,
  scrubBytesPerSecond: 32 << 20,
  insecure: false,
} as const;

/** A write of a file's content: where it lands (file-tree.ts), the new file's mode and owner, and how it commits. */
export interface WriteOptions extends WriteTarget, FileOwnership {
  contentType?: string | null;
  modifiedMs?: number;
  /**
   * The status-change time (ctime) the commit records if not now: the mount's last
   * write, since closing a file changes none of its times on a local disk. The later
   * of it and the file's ctime is kept (an attribute change after that write set it).
   */
  changedMs?: number;
  /**
   * Commit without waiting for the disk, as close(2) does on a local file system: the
   * commit is visible at once and survives a crash of the controller process; it is
   * fsynced within syncDelayMs, or at once by syncMetadata(). A power loss of the
   * controller's machine before that loses it whole. Fsynced at once if syncDelayMs is 0.
   */
  lazy?: boolean;
}

/** A part's bytes, lent until release(), with where they sit in its file. */
export type LentPart = BorrowedChunk & { offset: number };

/** One committed version of a file: what a reader reads, whatever happens to the path after. */
export interface FileSnapshot {
  entry: Entry;
  parts: PartRecord[];
}

/** ControllerOptions with every default filled in. */
type Settings = Required<Omit<ControllerOptions, 'curve'>>;

const log = createLogger('controller');

/** Where an HTTP-style inclusive range [start, end] of a snapshot begins, and its length, clipped to the file. */
function inclusiveRange(snapshot: FileSnapshot, range: { start?: number; end?: number }): { start: number; length: number } {
  const start = range.start ?? 0;
  const end = Math.min(range.end ?? snapshot.entry.size - 1, snapshot.entry.size - 1);
  return { start, length: end - start + 1 };
}

export class Controller {
  readonly stripeSize: number;
  /** Stripe buffers reused by uploads that fill them (the mount's streamed files). */
  readonly stripeBuffers: StripeBuffers;
  readonly replicas: number;
  readonly metrics: ControllerMetrics;
  /** Parts fetched ahead of the one a stream is yielding (each within the data memory budget). */
  private readonly readAhead: number;
  /** The mount's file data in memory: every store reserves what it holds (part-writer.ts), every part read ahead its size until it is read. */
  private readonly dataMemory: MemoryBudget;
  /**
   * File data REST clients set the pace of: uploads (writeFile) and the parts
   * downloads hold (lendSnapshot). Apart from dataMemory, so that slow clients never
   * hold up the mount.
   */
  private readonly restMemory: MemoryBudget;
  /** The most a store holds: all its parts in flight, the part being cut and the source's next piece (part-writer.ts). */
  private readonly storeBytes: number;
  /** Files the mount spooled because the data memory had no room for a stream. */
  private streamsRefused = 0;
  private readonly writer: PartWriter;
  private readonly reader: PartReader;
  private readonly collector: DoomedCollector;
  private readonly repairer: Repairer;
  private readonly scrubber: Scrubber;
  private readonly delayedSync: DelayedSync;
  private readonly pinned = new PinnedChunks();
  private readonly uncommitted = new UncommittedChunks();

  private constructor(
    private readonly metadata: MetadataStore,
    private readonly tree: FileTree,
    private readonly transport: NodeTransport,
    readonly registry: NodeRegistry,
    settings: Settings,
  ) {
    this.stripeSize = settings.stripeSize;
    this.replicas = settings.replicas;
    this.readAhead = Math.max(1, settings.partsInFlight - 1);
    this.storeBytes = (settings.partsInFlight + 2) * settings.stripeSize;
    this.dataMemory = new MemoryBudget(Math.max(settings.dataMemoryBytes, this.storeBytes));
    this.restMemory = new MemoryBudget(Math.max(settings.restMemoryBytes, this.storeBytes));
    this.delayedSync = new DelayedSync(metadata, settings.syncDelayMs);
    const io = new ChunkIO(transport, registry, settings.requestTimeoutMs);
    this.stripeBuffers = new StripeBuffers(settings.stripeSize, settings.partsInFlight + 2);
    this.writer = new PartWriter(io, registry, settings, (copies) => metadata.doom(copies), this.uncommitted, this.stripeBuffers);
    // Copies no node takes back are made elsewhere by the repairer (built below).
    const badCopies = new BadCopies(metadata, () => this.repairer.runSoon());
    this.reader = new PartReader(io, registry, new ChunkCache(settings.cacheBytes), (chunkId) => metadata.part(chunkId)?.nodes,
      badCopies,
      (chunkId, nodeId, fault) => metadata.setCopyFault(chunkId, nodeId, fault));
    this.collector = new DoomedCollector(metadata, registry, io, this.pinned, settings.deleteDelayMs);
    this.collector.start(Math.max(250, Math.min(settings.deleteDelayMs, 5_000)));
    const cluster = { metadata, registry, io, reader: this.reader, uncommitted: this.uncommitted, pathOfFile: (fileId: number) => tree.pathOf(fileId) };
    this.repairer = new Repairer(cluster, {
      replicas: settings.replicas, graceMs: settings.repairGraceMs, bytesPerSecond: settings.repairBytesPerSecond,
    });
    this.repairer.start();
    this.scrubber = new Scrubber(cluster, { intervalMs: settings.scrubIntervalMs, bytesPerSecond: settings.scrubBytesPerSecond }, badCopies);
    this.scrubber.start();
    const inventoryCheck = new InventoryCheck(metadata, this.scrubber);
    registry.onRegistered = (nodeId, chunkCount) => inventoryCheck.noteRegistered(nodeId, chunkCount);
    this.metrics = new ControllerMetrics({
      status: () => this.status(), repair: this.repairer.passes, scrub: this.scrubber.passes, collector: this.collector.passes,
      unsyncedCommits: () => metadata.unsyncedCommits,
      dataMemory: () => ({
        budgetBytes: this.dataMemory.total, reservedBytes: this.dataMemory.inUse, waitingStores: this.dataMemory.queued, streamsRefused: this.streamsRefused,
      }),
      restMemory: () => ({
        budgetBytes: this.restMemory.total, reservedBytes: this.restMemory.inUse, waiting: this.restMemory.queued,
      }),
      readRepairs: () => this.reader.readRepairs,
    });
    transport.onRequestSettled = this.metrics.observeNodeRequest;
  }

  static async start(options: ControllerOptions): Promise<Controller> {
    const settings: Settings = { ...DEFAULTS, ...definedOnly(options), dbPath: options.dbPath };
    if (!(settings.replicas >= 1)) throw new Error('replicas must be at least 1');
    if (!(settings.stripeSize >= 1 && settings.stripeSize <= MAX_CHUNK_BYTES)) {
      throw new Error(`stripe size must be between 1 byte and ${MAX_CHUNK_BYTES >> 20} MiB`);
    }
    const metadata = new MetadataStore(options.dbPath);
    const tree = new FileTree(metadata);
    try {
      removeUnfinishedCreates(tree);
    } catch (err) {
      metadata.close();
      throw err;
    }
    let transport: NodeTransport;
    try {
      transport = await NodeTransport.bind({ endpoint: settings.endpoint, curve: options.curve, insecure: settings.insecure });
    } catch (err) {
      metadata.close();
      throw new Error(`cannot listen for storage nodes on ${settings.endpoint}: ${(err as Error).message}`);
    }
    const controllerId = `controller-${randomBytes(4).toString('hex')}`;
    const registry = new NodeRegistry(metadata, transport, controllerId, settings.nodeTimeoutMs);
    const controller = new Controller(metadata, tree, transport, registry, settings);
    log.info('listening for storage nodes', { endpoint: transport.endpoint, db: options.dbPath });
    return controller;
  }

  /** The endpoint storage nodes connect to (with the real port). */
  get endpoint(): string {
    return this.transport.endpoint;
  }

  async close(): Promise<void> {
    this.delayedSync.stop();
    this.collector.stop();
    this.repairer.stop();
    this.scrubber.stop();
    this.registry.stop();
    this.transport.close();
    this.metadata.close();
  }

  // ---- nodes -------------------------------------------------------------------

  nodes(): NodeStatus[] {
    return this.registry.statuses();
  }

  waitForNodes(count: number, timeoutMs: number): Promise<void> {
    return this.registry.waitForNodes(count, timeoutMs);
  }

  /** Deletes doomed copies that are due now; resolves with how many were deleted. */
  collectGarbage(): Promise<number> {
    return this.collector.collect();
  }

  /** Makes new copies of every part with copies on nodes that are down, now (`raidfs repair`). */
  repair(): Promise<RepairReport> {
    return this.repairer.runNow();
  }

  /** Verifies every copy on the nodes that are up and finds orphans, now (`raidfs scrub`). */
  scrub(): Promise<ScrubReport> {
    return this.scrubber.runNow();
  }

  /**
   * Starts draining node `id` (`raidfs drain`): it gets no new copies, and a repair pass
   * run now moves its copies to other nodes; resolves with that pass's report and
   * what is still on the node after it. A node being drained stays so (across
   * restarts) until stopDraining or forgetNode.
   */
  async drainNode(id: string): Promise<DrainReport> {
    this.setDraining(id, true);
    const report = await this.repairer.runSoon();
    return { ...report, partsLeft: this.metadata.partsNeedingCopyOn(id, this.replicas), uncommittedCopiesLeft: this.uncommitted.copiesOn(id) };
  }

  /** Node `id` takes new copies again; the copies already moved stay where they are. */
  stopDraining(id: string): void {
    this.setDraining(id, false);
  }

  private setDraining(id: string, draining: boolean): void {
    if (!this.registry.setDraining(id, draining)) throw new RaidfsError('ENOENT', `no storage node ${id} is known`);
    log.info(draining ? 'node draining' : 'node no longer draining', { node: id });
  }

  /** Forgets a node that is down for good, once no part needs its copies (`raidfs forget-node`, forget-node.ts). */
  forgetNode(id: string): Promise<ForgetReport> {
    return forgetNode({ metadata: this.metadata, registry: this.registry }, this.replicas, id);
  }

  /** Nodes, missing copies, repair and scrub progress (`raidfs status`). */
  status(): ClusterStatus {
    return clusterStatus(this.registry, this.metadata, this.tree, this.replicas, this.repairer.passes.progress, this.scrubber.passes.progress);
  }

  // ---- tree: the FileTree's calls, documented there (file-tree.ts) ------------

  stat(path: string): Entry {
    return this.tree.stat(path);
  }

  lookup(path: string): Entry | undefined {
    return this.tree.lookup(path);
  }

  statById(id: number): Entry {
    return this.tree.statById(id);
  }

  lookupById(id: number): Entry | undefined {
    return this.tree.lookupById(id);
  }

  pathOf(id: number): string {
    return this.tree.pathOf(id);
  }

  entryCount(): number {
    return this.tree.entryCount();
  }

  filesAfter(afterId: number, limit: number): Array<{ entry: Entry; path: string }> {
    return this.tree.filesAfter(afterId, limit);
  }

  /**
   * Calls `listener` after any entry changes, through any front end (see
   * MetadataStore.onEntriesChanged); returns a function that stops the calls.
   */
  onEntriesChanged(listener: () => void): () => void {
    return this.metadata.onEntriesChanged(listener);
  }

  list(path: string, after = '', limit = -1): Entry[] {
    return this.tree.list(path, after, limit);
  }

  directoryPage(path: string, afterId: number, limit: number): { dir: Entry; entries: Entry[] } {
    return this.tree.directoryPage(path, afterId, limit);
  }

  mkdir(path: string, options: DirOptions = {}): Entry {
    return this.tree.mkdir(path, options);
  }

  symlink(path: string, target: string, owner: Omit<FileOwnership, 'mode'> = {}): Entry {
    return this.tree.symlink(path, target, owner);
  }

  readlink(path: string): string {
    return this.tree.readlink(path);
  }

  setAttributes(path: string, attrs: EntryAttributes): Entry {
    return this.tree.setAttributes(path, attrs);
  }

  setAttributesOf(id: number, attrs: EntryAttributes): Entry {
    return this.tree.setAttributesOf(id, attrs);
  }

  remove(path: string, options: { recursive?: boolean; precondition?: WriteOptions['precondition'] } = {}): void {
    this.tree.remove(path, options);
  }

  removeFile(id: number, options: { precondition?: WriteOptions['precondition'] } = {}): void {
    this.tree.removeFile(id, options);
  }

  link(existing: string, path: string): Entry {
    return this.tree.link(existing, path);
  }

  rename(from: string, to: string): void {
    this.tree.rename(from, to);
  }

  // ---- data --------------------------------------------------------------------

  /**
   * Stores `source` as the content of the file at `path` (created or replaced) and
   * commits it once every copy of every part is acknowledged: storeUpload, then
   * commitDraft, with the target checked first so that a write bound to fail stores
   * nothing.
   */
  async writeFile(path: string, source: AsyncIterable<Uint8Array> | Uint8Array, options: WriteOptions = {}, roomSignal?: AbortSignal): Promise<Entry> {
    this.tree.checkWritable(fileNames(path), path, options);
    const draft = await this.storeUpload(source instanceof Uint8Array ? [source] : source, roomSignal);
    return this.commitDraft(path, draft, options);
  }

  /**
   * Stores what a client sends as a Draft (see storeDraft), for an upload that knows
   * its file only once its body has come (a JSON upload's filename may follow its
   * contents). The source's pieces are handed over: one may be kept and sent as a
   * part, so none may change once yielded. Its memory comes from the REST budget,
   * since its sender, a client, sets its pace; a wait for room there ends, with its
   * reason, if `roomSignal` aborts.
   */
  storeUpload(source: ContentSource, roomSignal?: AbortSignal): Promise<Draft> {
    return this.withStoreMemory((room) => this.writer.store(source, room), this.restMemory, roomSignal);
  }

  /**
   * Stores `source` on the nodes without making it any file's content yet: a Draft,
   * which must then be committed (commitDraft) or dropped (dropDraft). Until then its
   * copies are safe from the orphan collector and invisible in the tree. Pieces are
   * handed over, as with storeUpload. Its memory is the mount's (the data memory), or
   * the `reservation` given, which covers all it may hold.
   */
  storeDraft(source: ContentSource, reservation?: Reservation): Promise<Draft> {
    return this.withStoreMemory((room) => this.writer.store(source, room), reservation ?? this.dataMemory);
  }

  /**
   * The data memory for a file streamed in through the mount: storeDraft's, plus the
   * `ownBytes` its writer fills and queues (streaming-upload.ts), if there is room now
   * with two stores' worth left for the stores that wait; undefined if not, and the
   * file is spooled instead. A program that keeps a file open without writing holds
   * it, so the mount's streams never take the room other stores need.
   */
  reserveStream(ownBytes: number): Reservation | undefined {
    const reservation = this.dataMemory.tryReserve(this.storeBytes + ownBytes, 2 * this.storeBytes);
    if (!reservation) this.streamsRefused++;
    return reservation;
  }

  /** The REST memory budget's size (storeUpload, lendSnapshot). */
  get restMemoryBytes(): number {
    return this.restMemory.total;
  }

  /**
   * Runs a store within a memory budget: with the reservation given (which covers all
   * it may hold), or with BASE_STRIPES stripes of `budget`, once it has room for
   * them, and room for each part in flight past the first only while `budget` has
   * some to spare (part-writer.ts).
   */
  private async withStoreMemory(store: (room: PartRoom) => Promise<Draft>, memory: Reservation | MemoryBudget, roomSignal?: AbortSignal): Promise<Draft> {
    const held = memory instanceof MemoryBudget ? await memory.reserve(BASE_STRIPES * this.stripeSize, roomSignal) : memory;
    try {
      return await store(memory instanceof MemoryBudget ? () => memory.tryReserve(this.stripeSize) : ROOM_RESERVED);
    } finally {
      held.release();
    }
  }

  /** Makes a draft the content of the file at `path` (created or replaced), in one transaction; a failed commit drops the draft. */
  commitDraft(path: string, draft: Draft, options: WriteOptions = {}): Entry {
    const names = fileNames(path);
    return this.settleInto(draft, options, () => this.tree.fileForWrite(names, path, options).id);
  }

  /**
   * Makes a draft the content of the file with id `id`, wherever renames have moved
   * it: what a program writes through an open file goes to the file it opened. If
   * that file was removed meanwhile (over REST; the mount hides its own open files
   * instead), the draft is dropped and the answer is undefined: those writes go
   * nowhere, as a local file system's to a file unlinked while open.
   */
  commitDraftTo(id: number, draft: Draft, options: Pick<WriteOptions, 'modifiedMs' | 'changedMs' | 'lazy'> = {}): Entry | undefined {
    if (this.metadata.entry(id)?.kind !== 'file') {
      this.dropDraft(draft);
      return undefined;
    }
    return this.settleInto(draft, options, () => id);
  }

  /**
   * Commits a draft, in one transaction, as the content of the file whose id
   * `target` gives (called inside that transaction, so it may create the file); a
   * failed commit drops the draft. What commitDraft and commitDraftTo share.
   */
  private settleInto(draft: Draft, options: WriteOptions, target: () => number): Entry {
    let leftOut = 0;
    const entry = this.writer.settle(draft, ({ size, parts }) => this.commit(options.lazy === true, () => {
      const id = target();
      leftOut = this.metadata.replaceContent(id, size, parts, draft.kept, options);
      return this.metadata.entry(id)!;
    }));
    if (leftOut > 0) {
      // Their node was forgotten while the draft was stored: the parts have fewer copies.
      log.warn('copies on a forgotten node left out of a commit; repairing', { file: entry.id, copies: leftOut });
      void this.repairer.runSoon().catch(() => undefined);
    }
    return entry;
  }

  /**
   * Stores a new version of a file told as an edit of a committed one (file-edit.ts):
   * stripes that did not change keep their parts and zeros past what is left of the
   * base are holes, so only what changed is stored. A draft that keeps parts commits
   * only over a version that still has them; with `reuse` false, every stripe is
   * stored anew.
   */
  storeEdit(edit: FileEdit, reuse = true): Promise<Draft> {
    requireStorableSize(edit.size);
    const readBase = (offset: number, into: Buffer) => this.readExactly(edit.base, offset, into);
    return this.withStoreMemory((room) => editsByPart(edit, this.stripeSize)
      ? this.writer.storeEdit(plannedParts(edit, this.stripeSize, readBase, reuse), edit.size, room)
      : this.writer.store(editedContent(edit, this.stripeSize, readBase), room), this.dataMemory);
  }

  /**
   * Stores an edit and commits it to file `id` (commitDraftTo): the new version, or
   * undefined if the file was removed. If another write replaced the parts the edit
   * keeps meanwhile, every stripe is stored anew and that is committed (the last
   * write wins, as for whole files).
   */
  async writeEdit(id: number, edit: FileEdit, options: Pick<WriteOptions, 'modifiedMs' | 'changedMs' | 'lazy'> = {}): Promise<FileSnapshot | undefined> {
    let draft = await this.storeEdit(edit);
    let entry: Entry | undefined;
    try {
      entry = this.commitDraftTo(id, draft, options);
    } catch (err) {
      if (!(err instanceof KeptPartsGoneError)) throw err;
      log.info('file rewritten during an edit; storing the edit whole', { id });
      draft = await this.storeEdit(edit, false);
      entry = this.commitDraftTo(id, draft, options);
    }
    return entry && { entry, parts: draft.parts };
  }

  /**
   * Sets a file's size, as truncate(2): cut, or grown by a hole; only the stripe
   * where it ends is stored anew. Resolves with the new version (the same if the
   * size did not change).
   */
  async resize(path: string, size: number): Promise<FileSnapshot> {
    if (!Number.isSafeInteger(size) || size < 0) throw new RaidfsError('EINVAL', `invalid size ${size}`);
    const base = this.snapshot(path);
    if (size === base.entry.size) return base;
    const pin = this.hold(base); // the stripe it cuts is read from the base
    try {
      const resized = await this.writeEdit(base.entry.id, {
        base, size, baseLimit: Math.min(base.entry.size, size), changed: new Set(),
        readChanged: () => Promise.reject(new Error('a resize changes no stripe')),
      });
      if (!resized) throw new RaidfsError('ENOENT', `${path} was removed`);
      return resized;
    } finally {
      pin.release();
    }
  }

  /** Dooms the copies of a draft that will not be committed (nothing happens if it already was). */
  dropDraft(draft: Draft): void {
    this.writer.discard(draft);
  }

  /** The bytes of a draft, read back from the nodes like a file's. */
  readDraft(draft: Draft): AsyncGenerator<Buffer> {
    return this.streamRange(draft.parts, draft.size, 0, draft.size);
  }

  /**
   * Creates an empty file (EEXIST if the name is taken) that a writer is about to
   * fill, as open(O_CREAT | O_EXCL) does. The name is committed at once, lazily (see
   * WriteOptions.lazy): like a local file system's create, it becomes durable with
   * the next sync or durable commit (in the same WAL), so a power loss before that
   * can lose the empty file, never anything committed after it. It is an uncommitted
   * create until content is first committed to it (the writer's close, commitDraftTo,
   * or any other write): one the controller stopped before that is removed at the
   * next start. Fails fast, like writeFile, when too few nodes are alive to store any
   * content.
   */
  createFile(path: string, options: FileOwnership = {}): Entry {
    const names = fileNames(path);
    this.writer.requireEnoughNodes();
    return this.commit(true, () => this.tree.fileForWrite(names, path, { ...options, exclusive: true, uncommittedCreate: true }));
  }

  /** Makes every commit so far durable (fsync(2) on a file in the mount). */
  syncMetadata(): void {
    this.delayedSync.syncNow();
  }

  /** Lazy commits not fsynced yet (a metric). */
  get unsyncedCommits(): number {
    return this.metadata.unsyncedCommits;
  }

  /** The committed version of a file, for reading. */
  snapshot(path: string): FileSnapshot {
    return this.metadata.transaction(() => {
      const entry = this.stat(path);
      if (entry.kind === 'dir') throw new RaidfsError('EISDIR', `${path} is a directory`);
      if (entry.kind !== 'file') throw new RaidfsError('EINVAL', `${path} is not a regular file`);
      return { entry, parts: this.metadata.parts(entry.id) };
    });
  }

  /** The committed version of file `id` now, wherever it is; undefined once it was removed. */
  snapshotById(id: number): FileSnapshot | undefined {
    return this.metadata.transaction(() => {
      const entry = this.metadata.entry(id);
      return entry?.kind === 'file' ? { entry, parts: this.metadata.parts(id) } : undefined;
    });
  }

  /**
   * Records a read of file `fileId` (its first through a handle of the mount, or a
   * download) in its access time, as Linux's default `relatime` does: only when that
   * time is not after the file's last change, or is a day old, so rereading costs
   * nothing. A lazy commit, like a close. Never throws: a read does not fail for its
   * access time (a failed update is logged).
   */
  noteRead(fileId: number): void {
    const now = Date.now();
    try {
      if (this.metadata.accessDue(fileId, now)) this.commit(true, () => this.metadata.setAccessed(fileId, now));
    } catch (err) {
      log.warn('access time not recorded', { file: fileId, error: errorMessage(err) });
    }
  }

  /**
   * Keeps `snapshot`'s chunks on the nodes until the pin is released, even once a
   * write replaced or deleted that version (pinned-chunks.ts). Call it in the same
   * synchronous step that read the snapshot: after any wait, a write may have replaced
   * that version and the collector deleted its copies.
   */
  hold(snapshot: FileSnapshot): SnapshotPin {
    return this.pinned.hold(snapshot);
  }

  /** Bytes [offset, offset + length) of a snapshot, clipped to its size; fetches only the parts the range touches. */
  async readRange(snapshot: FileSnapshot, offset: number, length: number): Promise<Buffer> {
    const pieces: Buffer[] = [];
    for await (const piece of this.streamRange(snapshot.parts, snapshot.entry.size, offset, length)) pieces.push(piece);
    return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
  }

  /** readRange into `target` (as many bytes as it holds); resolves with the bytes copied. */
  async readInto(snapshot: FileSnapshot, offset: number, target: Buffer): Promise<number> {
    let copied = 0;
    for await (const piece of this.streamRange(snapshot.parts, snapshot.entry.size, offset, target.length, { lent: true })) {
      copied += piece.copy(target, copied);
    }
    return copied;
  }

  /** readInto that must fill all of `target` (EIO if the snapshot ends first). */
  async readExactly(snapshot: FileSnapshot, offset: number, target: Buffer): Promise<void> {
    const read = await this.readInto(snapshot, offset, target);
    if (read !== target.length) throw new RaidfsError('EIO', `read ${read} of ${target.length} bytes at ${offset} of file ${snapshot.entry.id}`);
  }

  /** Reads (part of) a file into memory. For large files use readStream. */
  readFile(path: string, offset = 0, length = Number.MAX_SAFE_INTEGER): Promise<Buffer> {
    return this.readRange(this.snapshot(path), offset, length);
  }

  /**
   * Streams bytes [start, end] (inclusive, like HTTP ranges) of a file, one part at a
   * time, fetching the next part while the caller consumes the current one.
   */
  readStream(path: string, range: { start?: number; end?: number } = {}): AsyncGenerator<Buffer> {
    return this.readSnapshot(this.snapshot(path), range);
  }

  /** readStream of one committed version, e.g. one whose size a caller already used (HTTP ranges). */
  readSnapshot(snapshot: FileSnapshot, range: { start?: number; end?: number } = {}): AsyncGenerator<Buffer> {
    const { start, length } = inclusiveRange(snapshot, range);
    return this.streamRange(snapshot.parts, snapshot.entry.size, start, length);
  }

  /**
   * readSnapshot for a sender whose client sets the pace (a REST download): each
   * piece is lent until the sender asks for the next one (or stops), and the parts
   * the stream holds, the one it is at included, are reserved in the REST memory
   * budget, so however many clients download at once, and however slowly, their data
   * stays within it (and never takes the room the mount needs). Waits for room for
   * the part it is at; rejects with `signal`'s reason if it aborts first.
   */
  lendSnapshot(snapshot: FileSnapshot, range: { start?: number; end?: number }, signal: AbortSignal): AsyncGenerator<Buffer> {
    const { start, length } = inclusiveRange(snapshot, range);
    // Read-ahead leaves half the budget for the parts other downloads are at.
    const memory = { budget: this.restMemory, holdsCurrent: true, keepFree: this.restMemory.total / 2, signal };
    return this.streamRange(snapshot.parts, snapshot.entry.size, start, length, { lent: true, memory });
  }

  /**
   * The part of a snapshot that holds byte `offset`, lent until release(), if its
   * verified bytes are in the chunk cache already (never fetches).
   */
  cachedPartAt(snapshot: FileSnapshot, offset: number): LentPart | undefined {
    const [part] = partsInRange(snapshot.parts, offset, 1);
    const lent = part && this.reader.borrowCached(part);
    return lent && { ...lent, offset: part.offset };
  }

  /**
   * Read-ahead for a sequential reader (read-ahead.ts), within the data memory: it
   * takes only what is free with two stores' worth left, so the stores that wait,
   * which hold nothing else, always get theirs.
   */
  startReadAhead(): ReadAhead {
    return new ReadAhead((part) => this.reader.borrow(part), (bytes) => this.dataMemory.tryReserve(bytes, 2 * this.storeBytes));
  }

  /**
   * Bytes [offset, offset + length) of the content made of `parts` (range-stream.ts):
   * by default with read-ahead in the data memory, pieces the caller's to keep.
   */
  private streamRange(parts: readonly PartRecord[], size: number, offset: number, length: number,
    { lent = false, memory = { budget: this.dataMemory, holdsCurrent: false, keepFree: 0 } }: { lent?: boolean; memory?: StreamMemory } = {},
  ): AsyncGenerator<Buffer> {
    return streamRange(parts, size, offset, length, { borrow: (part) => this.reader.borrow(part), memory, readAhead: this.readAhead, lent });
  }

  // ---- helpers -----------------------------------------------------------------

  /** Runs `fn` in one transaction: fsynced at commit, or lazily (see WriteOptions.lazy). */
  private commit<T>(lazy: boolean, fn: () => T): T {
    if (!lazy || !this.delayedSync.enabled) return this.metadata.transaction(fn);
    const result = this.metadata.lazyTransaction(fn);
    this.delayedSync.noteLazyCommit();
    return result;
  }
}

/** The most paths the warning of removeUnfinishedCreates names. */
const LOGGED_PATHS = 20;

/**
 * Removes the files the mount was creating, left empty by a crash of the controller
 * before their first close committed them (FileTree.removeUncommittedCreates), and
 * says so in one warning, naming the first LOGGED_PATHS of them.
 */
function removeUnfinishedCreates(tree: FileTree): void {
  const paths = tree.removeUncommittedCreates();
  if (paths.length === 0) return;
  log.warn('removed files created but never written before the controller stopped', {
    files: paths.length, paths: paths.slice(0, LOGGED_PATHS), notListed: Math.max(0, paths.length - LOGGED_PATHS) || undefined,
  });
}

/** `options` without its undefined fields (so they do not override defaults when spread). */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
