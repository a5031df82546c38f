/**
 * The controller's Prometheus metrics (prom-client), served by GET /metrics
 * (src/rest/metrics-routes.ts). Every metric and what it means:
 *
 * Front ends (recorded by src/fuse and src/rest through `fuse` and `rest`)
 *   raidfs_frontend_bytes_total{frontend="fuse"|"rest", direction="in"|"out"}    counter
 *       File content received from clients (in) and sent to them (out), counted where
 *       it flows: FUSE write and read replies; REST upload bodies as they stream into
 *       the core, download bodies as they stream out. Listings, JSON answers and
 *       HTTP headers are not counted.
 *   raidfs_frontend_operations_total{frontend, operation}                           counter
 *       Requests served. FUSE: by operation (getattr, readdir, create, open, read,
 *       write, flush, release, unlink, rename, mkdir, ...). REST: by method and route
 *       group ("PUT /fs", "GET /files", "POST /repair", ...; "GET other" for no route).
 *       FUSE reads and writes the binding answered itself (src/fuse/io-window.ts) are
 *       counted, with their bytes, when JS takes their buffer back: about once a part.
 *   raidfs_fuse_attr_cache_hits_total                                               counter
 *       getattr calls the FUSE binding answered itself from a readdir's attributes
 *       (native/readdir-attr-cache.c); they do not reach the operations count above.
 * Storage nodes
 *   raidfs_node_request_duration_seconds{kind, outcome}                             histogram
 *       Request to reply of every request to a node (node-transport.ts). kind:
 *       storeChunk, getChunk, deleteChunks, listChunks, verifyChunks. outcome: ok;
 *       error (the node answered an error); timeout (no reply by the deadline);
 *       unreachable (not deliverable, or the node was counted down while it waited).
 *       Buckets 1 ms .. 10 s.
 *   raidfs_node_up{node}                    gauge  1 while the node is up, 0 while it is down
 *   raidfs_node_draining{node}              gauge  1 while the node is being drained (`raidfs drain`)
 *   raidfs_nodes{state="up"|"down"}         gauge  nodes in each state
 *   raidfs_nodes_refused                    gauge  nodes whose last registration (within a minute) was
 *       refused: they belong to another cluster (cluster-membership.ts) and are never let in
 *   raidfs_node_capacity_bytes{node}        gauge  capacity the node last reported
 *   raidfs_node_free_bytes{node}            gauge  free space the node last reported
 * Parts (the same numbers as GET /status)
 *   raidfs_parts_total                      gauge  parts of committed files
 *   raidfs_parts_under_replicated           gauge  parts with fewer than `replicas` intact copies on nodes that are up
 *   raidfs_parts_unavailable                gauge  parts with no intact copy on a node that is up (unreadable; the
 *       damaged included)
 *   raidfs_parts_damaged                    gauge  parts with no intact copy anywhere: every copy recorded bad
 *   raidfs_parts_to_move_off_draining       gauge  parts still to copy off nodes being drained
 * Metadata
 *   raidfs_metadata_unsynced_commits        gauge  commits visible but not yet fsynced on the
 *       controller's disk (files closed in the mount, within the sync delay: delayed-sync.ts)
 * File data in the controller's memory (memory-budget.ts, --data-memory)
 *   raidfs_data_memory_budget_bytes         gauge  the budget for uploads and read-ahead
 *   raidfs_data_memory_reserved_bytes       gauge  reserved now by uploads and parts read ahead
 *   raidfs_data_memory_waiting_stores       gauge  uploads waiting for room now
 *   raidfs_streams_refused_total            counter  files the mount spooled instead of streaming, for want of room
 * File data REST clients set the pace of (memory-budget.ts, --rest-memory)
 *   raidfs_rest_memory_budget_bytes         gauge  the budget for REST uploads and downloads
 *   raidfs_rest_memory_reserved_bytes       gauge  reserved now by uploads and the parts downloads hold
 *   raidfs_rest_memory_waiting              gauge  uploads and downloads waiting for room now
 * Read repair (part-reader.ts)
 *   raidfs_read_repair_held_bytes           gauge  bytes the rewrites of bad copies found by reads hold now
 *   raidfs_read_repair_deferred_total       counter  bad copies reads found while read repairs held their most,
 *                                                    left to a repair pass
 * Maintenance (counters; a pass under way counts as far as it got)
 *   raidfs_repair_passes_total              repair passes finished (background checks included)
 *   raidfs_repair_copies_made_total         new copies made of parts that had too few
 *   raidfs_repair_bytes_copied_total        bytes of those copies
 *   raidfs_repair_failures_total            parts a pass left under-replicated (each pass counts its own)
 *   raidfs_scrub_passes_total               scrub passes finished
 *   raidfs_scrub_copies_verified_total      copies read back on their node and checked against their checksum
 *   raidfs_scrub_bytes_verified_total       bytes nodes read back for scrub
 *   raidfs_scrub_copies_missing_total       copies a node should hold and does not
 *   raidfs_scrub_copies_corrupt_total       copies that failed their checksum
 *   raidfs_scrub_copies_rewritten_total     missing or corrupt copies rewritten from a good one
 *   raidfs_scrub_copies_dropped_total       bad copies dropped for repair to place elsewhere
 *   raidfs_scrub_orphans_total              chunks no file refers to, doomed for deletion
 *   raidfs_doomed_copies_deleted_total      replaced, deleted and orphan copies deleted from nodes
 * Process
 *   raidfs_process_*, raidfs_nodejs_*       prom-client's default metrics (CPU, memory, event loop, GC, ...)
 *
 * Invariants:
 * - One registry per Controller, never prom-client's global one (one process may run
 *   several controllers, as the tests do). Only the default process metrics are
 *   shared: they describe the process, and are created once per process.
 * - Label values come from small fixed sets (operations, route groups, request kinds,
 *   outcomes, node ids): never a path, a file name or a chunk id.
 * - Hot paths (every FUSE call, every node request, every piece of a transfer) cost
 *   one counter or histogram update.
 * - Cluster state and maintenance counts are read when scraped: the cluster from
 *   `status()` (clusterStatus, what GET /status shows; a few rows of SQLite per
 *   scrape), the passes from PassTotals.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ClusterStatus } from './cluster-status';
import type { CollectReport } from './doomed-collector';
import type { RequestOutcome } from './node-transport';
import type { ReadRepairTotals } from './part-reader';
import { CountField, ObservedPass, PassTotals } from './pass-totals';
import type { RepairReport } from './repairer';
import type { ScrubReport } from './scrubber';

/** Where the scrape-time metrics come from. */
export interface MetricSources {
  /** The cluster as GET /status shows it. */
  status(): ClusterStatus;
  repair: ObservedPass<RepairReport>;
  scrub: ObservedPass<ScrubReport>;
  collector: ObservedPass<CollectReport>;
  /** Lazy metadata commits not fsynced yet. */
  unsyncedCommits(): number;
  /** The data memory budget now, and the streams it refused so far. */
  dataMemory(): { budgetBytes: number; reservedBytes: number; waitingStores: number; streamsRefused: number };
  /** The REST memory budget now. */
  restMemory(): { budgetBytes: number; reservedBytes: number; waiting: number };
  /** Read repairs so far. */
  readRepairs(): ReadRepairTotals;
}

export type FrontendName = 'fuse' | 'rest';

const NODE_REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What one front end records: the operations it serves and the file bytes it moves. */
export class FrontendMetrics {
  private readonly bytesIn: Counter.Internal;
  private readonly bytesOut: Counter.Internal;
  private readonly byOperation = new Map<string, Counter.Internal>();

  constructor(
    private readonly frontend: FrontendName,
    bytes: Counter<'frontend' | 'direction'>,
    private readonly operations: Counter<'frontend' | 'operation'>,
  ) {
    this.bytesIn = bytes.labels(frontend, 'in');
    this.bytesOut = bytes.labels(frontend, 'out');
    this.bytesIn.inc(0); // both directions show from the first scrape on
    this.bytesOut.inc(0);
  }

  /** Counts `count` requests of `name` (a name from a fixed set, never a path). */
  operation(name: string, count = 1): void {
    let counter = this.byOperation.get(name);
    if (!counter) {
      counter = this.operations.labels(this.frontend, name);
      this.byOperation.set(name, counter);
    }
    counter.inc(count);
  }

  /** File bytes that came in from a client. */
  received(bytes: number): void {
    this.bytesIn.inc(bytes);
  }

  /** File bytes that went out to a client. */
  sent(bytes: number): void {
    this.bytesOut.inc(bytes);
  }

  /** `source`, counting each piece as received when it is passed on. */
  async *receiving<T extends Uint8Array>(source: AsyncIterable<T>): AsyncGenerator<T> {
    for await (const piece of source) {
      this.received(piece.length);
      yield piece;
    }
  }
}

export class ControllerMetrics {
  readonly fuse: FrontendMetrics;
  readonly rest: FrontendMetrics;
  private readonly own = new Registry();
  private readonly registry: Registry;
  private readonly nodeRequests: Histogram<'kind' | 'outcome'>;
  private readonly nodeUp: Gauge<'node'>;
  private readonly nodeDraining: Gauge<'node'>;
  private readonly nodesByState: Gauge<'state'>;
  private readonly nodesRefused: Gauge;
  private readonly nodeCapacity: Gauge<'node'>;
  private readonly nodeFree: Gauge<'node'>;
  private readonly partsTotal: Gauge;
  private readonly partsUnderReplicated: Gauge;
  private readonly partsUnavailable: Gauge;
  private readonly partsDamaged: Gauge;
  private readonly partsToMoveOffDraining: Gauge;
  private readonly unsyncedCommits: Gauge;
  private readonly readRepairHeld: Gauge;
  private readonly dataMemory: Record<'budgetBytes' | 'reservedBytes' | 'waitingStores', Gauge>;
  private readonly restMemory: Record<'budgetBytes' | 'reservedBytes' | 'waiting', Gauge>;
  private attrCacheHits: () => number = () => 0;

  constructor(private readonly sources: MetricSources) {
    const registers = [this.own];
    const frontendBytes = new Counter({
      name: 'raidfs_frontend_bytes_total', help: 'File content bytes received from (in) and sent to (out) clients, per front end.',
      labelNames: ['frontend', 'direction'] as const, registers,
    });
    const frontendOperations = new Counter({
      name: 'raidfs_frontend_operations_total', help: 'Requests served per front end: FUSE operation, or REST method and route group.',
      labelNames: ['frontend', 'operation'] as const, registers,
    });
    this.fuse = new FrontendMetrics('fuse', frontendBytes, frontendOperations);
    this.rest = new FrontendMetrics('rest', frontendBytes, frontendOperations);
    this.scrapedCounter('raidfs_fuse_attr_cache_hits_total', 'getattr calls the FUSE binding answered without JS: from readdir attributes, or with the attributes of a file just created.',
      () => this.attrCacheHits());

    this.nodeRequests = new Histogram({
      name: 'raidfs_node_request_duration_seconds', help: 'Time from request to reply of requests to storage nodes, by request kind and outcome.',
      labelNames: ['kind', 'outcome'] as const, buckets: NODE_REQUEST_BUCKETS, registers,
    });

    const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
      new Gauge<L>({ name, help, labelNames, registers });
    this.nodeUp = gauge('raidfs_node_up', '1 while the storage node is up, 0 while it is down.', ['node']);
    this.nodeDraining = gauge('raidfs_node_draining', '1 while the storage node is being drained (raidfs drain), else 0.', ['node']);
    this.nodesByState = gauge('raidfs_nodes', 'Storage nodes known, by state.', ['state']);
    this.nodesRefused = gauge('raidfs_nodes_refused', 'Storage nodes whose last registration, within the last minute, was refused: they belong to another cluster.');
    this.nodeCapacity = gauge('raidfs_node_capacity_bytes', 'Capacity the storage node last reported.', ['node']);
    this.nodeFree = gauge('raidfs_node_free_bytes', 'Free space the storage node last reported.', ['node']);
    this.partsTotal = gauge('raidfs_parts_total', 'Parts of committed files.');
    this.partsUnderReplicated = gauge('raidfs_parts_under_replicated', 'Parts with fewer intact copies than replicas on nodes that are up.');
    this.partsUnavailable = gauge('raidfs_parts_unavailable', 'Parts with no intact copy on a node that is up (unreadable), the damaged included.');
    this.partsDamaged = gauge('raidfs_parts_damaged', 'Parts with no intact copy anywhere: every copy was found corrupt, missing or unreadable.');
    this.partsToMoveOffDraining = gauge('raidfs_parts_to_move_off_draining', 'Parts that still need a copy made before the nodes being drained can go.');
    this.unsyncedCommits = gauge('raidfs_metadata_unsynced_commits',
      'Metadata commits visible but not yet fsynced on the controller disk (files closed in the mount, within the sync delay).');
    this.dataMemory = {
      budgetBytes: gauge('raidfs_data_memory_budget_bytes', 'File data the controller may hold for uploads and read-ahead (--data-memory).'),
      reservedBytes: gauge('raidfs_data_memory_reserved_bytes', 'File data memory reserved now by uploads and parts read ahead.'),
      waitingStores: gauge('raidfs_data_memory_waiting_stores', 'Uploads waiting for room in the data memory now.'),
    };
    this.restMemory = {
      budgetBytes: gauge('raidfs_rest_memory_budget_bytes', 'File data the controller may hold for REST uploads and downloads (--rest-memory).'),
      reservedBytes: gauge('raidfs_rest_memory_reserved_bytes', 'REST memory reserved now by uploads and by the parts downloads are at and have read ahead.'),
      waiting: gauge('raidfs_rest_memory_waiting', 'REST uploads and downloads waiting for room in the REST memory now.'),
    };
    this.readRepairHeld = gauge('raidfs_read_repair_held_bytes', 'Bytes the rewrites of bad copies that reads found hold now.');
    this.scrapedCounter('raidfs_read_repair_deferred_total', 'Bad copies that reads found while read repairs already held their most, left to a repair pass.',
      () => sources.readRepairs().leftForRepair);
    this.scrapedCounter('raidfs_streams_refused_total', 'Files the mount spooled instead of streaming them to the nodes, for want of room in the data memory.',
      () => sources.dataMemory().streamsRefused);

    this.passCounters(sources.repair, {
      raidfs_repair_copies_made_total: ['New copies made of parts that had too few.', 'copiesMade'],
      raidfs_repair_bytes_copied_total: ['Bytes of the copies repair made.', 'bytesCopied'],
      raidfs_repair_failures_total: ['Parts a repair pass left under-replicated (each pass counts its own).', 'failed'],
    }, ['raidfs_repair_passes_total', 'Repair passes finished (background checks included).']);
    this.passCounters(sources.scrub, {
      raidfs_scrub_copies_verified_total: ['Copies read back on their node and checked against their checksum.', 'chunksVerified'],
      raidfs_scrub_bytes_verified_total: ['Bytes storage nodes read back for scrub.', 'bytesVerified'],
      raidfs_scrub_copies_missing_total: ['Copies a node should hold and does not.', 'missing'],
      raidfs_scrub_copies_corrupt_total: ['Copies that failed their checksum.', 'corrupt'],
      raidfs_scrub_copies_rewritten_total: ['Missing or corrupt copies rewritten from a good copy.', 'rewritten'],
      raidfs_scrub_copies_dropped_total: ['Bad copies dropped for repair to place elsewhere.', 'dropped'],
      raidfs_scrub_orphans_total: ['Chunks no file refers to, doomed for deletion.', 'orphans'],
    }, ['raidfs_scrub_passes_total', 'Scrub passes finished.']);
    this.passCounters(sources.collector, {
      raidfs_doomed_copies_deleted_total: ['Replaced, deleted and orphan copies deleted from storage nodes.', 'deleted'],
    });

    this.registry = Registry.merge([processMetrics(), this.own]);
  }

  /** Where raidfs_fuse_attr_cache_hits_total is read from: set by the mount. */
  readAttrCacheHitsFrom(read: () => number): void {
    this.attrCacheHits = read;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Records one request to a storage node (node-transport.ts calls this for every request). */
  readonly observeNodeRequest = (kind: string, outcome: RequestOutcome, seconds: number): void => {
    this.nodeRequests.observe({ kind, outcome }, seconds);
  };

  /** Every metric in the Prometheus text format, scrape-time values read now. */
  async scrape(): Promise<string> {
    this.showCluster(this.sources.status());
    this.unsyncedCommits.set(this.sources.unsyncedCommits());
    this.readRepairHeld.set(this.sources.readRepairs().heldBytes);
    const memory = this.sources.dataMemory();
    for (const key of ['budgetBytes', 'reservedBytes', 'waitingStores'] as const) this.dataMemory[key].set(memory[key]);
    const rest = this.sources.restMemory();
    for (const key of ['budgetBytes', 'reservedBytes', 'waiting'] as const) this.restMemory[key].set(rest[key]);
    return this.registry.metrics();
  }

  private showCluster(status: ClusterStatus): void {
    for (const byNode of [this.nodeUp, this.nodeDraining, this.nodeCapacity, this.nodeFree]) byNode.reset();
    for (const node of status.nodes) {
      this.nodeUp.set({ node: node.id }, node.alive ? 1 : 0);
      this.nodeDraining.set({ node: node.id }, node.draining ? 1 : 0);
      this.nodeCapacity.set({ node: node.id }, node.capacityBytes);
      this.nodeFree.set({ node: node.id }, node.freeBytes);
    }
    this.nodesByState.set({ state: 'up' }, status.nodesUp);
    this.nodesByState.set({ state: 'down' }, status.nodesDown);
    this.nodesRefused.set(status.refusedNodes.length);
    this.partsTotal.set(status.parts.total);
    this.partsUnderReplicated.set(status.parts.underReplicated);
    this.partsUnavailable.set(status.parts.unavailable);
    this.partsDamaged.set(status.parts.damaged);
    this.partsToMoveOffDraining.set(status.parts.toMoveOffDraining);
  }

  /**
   * Counters of one maintenance pass, read at scrape time: each entry of `counts`
   * (name -> [help, report field]) is the sum of that field over every pass; the
   * `passes` counter, if given, counts the passes.
   */
  private passCounters<R>(pass: ObservedPass<R>, counts: Record<string, [help: string, field: CountField<R>]>,
    passes?: [name: string, help: string]): void {
    const totals = new PassTotals(pass, Object.values(counts).map(([, field]) => field));
    for (const [name, [help, field]] of Object.entries(counts)) this.scrapedCounter(name, help, () => totals.total(field));
    if (passes) this.scrapedCounter(...passes, () => totals.passes());
  }

  /** A counter whose value is read from `read` (a total that never decreases) at every scrape. */
  private scrapedCounter(name: string, help: string, read: () => number): void {
    new Counter({
      name, help, registers: [this.own],
      collect() {
        this.reset();
        this.inc(read());
      },
    });
  }
}

let sharedProcessMetrics: Registry | undefined;

/** prom-client's default process metrics, prefixed raidfs_, created once per process. */
function processMetrics(): Registry {
  if (!sharedProcessMetrics) {
    sharedProcessMetrics = new Registry();
    collectDefaultMetrics({ register: sharedProcessMetrics, prefix: 'raidfs_' });
  }
  return sharedProcessMetrics;
}
