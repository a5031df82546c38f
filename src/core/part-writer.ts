/**
 * The upload pipeline of one file: cuts the source into parts, hashes each (unless
 * its source already did, see part-splitter.ts), stores every part on `replicas`
 * distinct live nodes, and hands the part records to the caller's metadata commit.
 *
 * An upload has two steps: store() puts the parts on the nodes and returns a Draft;
 * settle() runs the commit with it, or discard() drops it.
 *
 * Invariants:
 * - At most `partsInFlight` parts are being hashed or sent at once, and the source is
 *   not read further until one finishes: memory is bounded by
 *   (partsInFlight + 2) stripes whatever the file size.
 * - Each part in flight past the first holds a stripe of room (PartRoom) while it is
 *   in flight, taken only if granted at once: when refused, the upload waits for its
 *   own parts instead, never for room. So the caller's reservation need only cover
 *   3 stripes (one part in flight, the one being cut, the next piece), and an upload
 *   whose source is slow (a REST client) holds no more than that between its parts.
 * - A part counts as stored only when every copy was acknowledged by its node. A copy
 *   that fails (error, timeout, disk full) is retried on another live node that does
 *   not already hold the part; the two copies of a part are always on distinct nodes.
 * - On failure every copy already stored is handed to `doom` (to be deleted from its
 *   node) and the error is thrown: a failed upload leaves nothing visible.
 * - A source longer than MAX_FILE_SIZE fails with EFBIG (file-size.ts), as any
 *   failure: nothing of it stays stored.
 * - A part of zeros is not stored: it is a hole (holes.ts), which reads give back
 *   as zeros.
 * - From the moment a chunk id is drawn until its draft is settled (committed, or
 *   doomed) its id is in `uncommitted`, so the orphan collector never deletes a part
 *   of an upload under way or of a draft waiting for its commit. A draft is settled
 *   exactly once.
 */
import { createLogger, errorMessage } from '../common/log';
import { ChunkIO } from './chunk-io';
import { RaidfsError } from './errors';
import { requireStorableSize } from './file-size';
import { isAllZero } from './holes';
import { DoomedCopy, PartRecord } from './metadata/metadata-store';
import { NodeRegistry } from './node-registry';
import { NodeRequestError } from './node-transport';
import type { Reservation } from './memory-budget';
import { Bytes, ContentSource, splitIntoParts } from './part-splitter';
import { StripeBuffers } from './stripe-buffers';
import { UncommittedChunks } from './uncommitted-chunks';
import { newChunkId } from '../wire/chunk-id';
import { Checksum, checksumOf } from '../wire/checksum';
import { ErrorCode } from '../wire/messages';

export interface UploadSettings {
  stripeSize: number;
  replicas: number;
  partsInFlight: number;
}

export interface UploadResult {
  size: number;
  parts: PartRecord[];
}

/**
 * One part of a file's new version, at its place (`idx` and `offset`, which a hole
 * before it skips): new bytes to store, or a part of the version it edits, kept.
 */
export type PlannedPart = { idx: number; offset: number } & ({ bytes: Bytes } | { kept: PartRecord });

/**
 * Content stored on the nodes but committed nowhere yet (see the invariants above):
 * `parts` in order, of which those in `chunkIds` were stored for it and the others
 * are kept from the version it edits (it commits only over a version that still has
 * them, MetadataStore.replaceContent).
 */
export class Draft implements UploadResult {
  settled = false;

  constructor(
    readonly size: number,
    readonly parts: PartRecord[],
    readonly chunkIds: string[],
    /** The chunk ids of the parts kept from the version it edits. */
    readonly kept: readonly string[] = [],
  ) {}
}

/** Room for one more part in flight, if there is some now (the upload does without otherwise). */
export type PartRoom = () => Reservation | undefined;

/** Room an upload's own reservation already covers. */
const COVERED: Reservation = { bytes: 0, release: () => undefined };

/** For an upload whose reservation already covers all its parts in flight. */
export const ROOM_RESERVED: PartRoom = () => COVERED;

/** Stripes an upload holds with one part in flight: that part, the one being cut and the next piece of its source. */
export const BASE_STRIPES = 3;

const log = createLogger('upload');

export class PartWriter {
  constructor(
    private readonly io: ChunkIO,
    private readonly registry: NodeRegistry,
    private readonly settings: UploadSettings,
    private readonly doom: (copies: DoomedCopy[]) => void,
    private readonly uncommitted: UncommittedChunks,
    /** Where a part's buffer goes back once stored (if it came from there). */
    private readonly buffers: StripeBuffers,
  ) {}

  /** Fails fast, before any byte is read, when too few nodes are alive to hold the copies. */
  requireEnoughNodes(): void {
    const short = this.tooFewNodes();
    if (short) throw new RaidfsError('EUNAVAIL', `${short} to store ${this.settings.replicas} copies`);
  }

  /** Why the live nodes cannot take `replicas` copies ("1 storage node is alive; 2 are needed"), or undefined if they can. */
  private tooFewNodes(): string | undefined {
    const usable = this.registry.placeableIds().length;
    const wanted = this.settings.replicas;
    if (usable >= wanted) return undefined;
    const draining = this.registry.aliveIds().length - usable;
    return `${usable} storage node${usable === 1 ? ' is' : 's are'} alive${draining ? ` and not being drained (${draining} ${draining === 1 ? 'is' : 'are'})` : ''}; ${wanted} are needed`;
  }

  /**
   * Stores every part of `source` on the nodes and returns them as a Draft, which
   * the caller must settle or discard. If storing fails, every copy stored is doomed
   * and the error is thrown.
   */
  store(source: ContentSource, room: PartRoom = ROOM_RESERVED): Promise<Draft> {
    let size = 0;
    async function* numbered(parts: AsyncIterable<Bytes>): AsyncGenerator<PlannedPart> {
      let idx = 0;
      for await (const bytes of parts) {
        requireStorableSize(size + bytes.data.length);
        yield { idx: idx++, offset: size, bytes };
        size += bytes.data.length;
      }
    }
    return this.storePlanned(numbered(splitIntoParts(source, this.settings.stripeSize)), () => size, room);
  }

  /**
   * Stores a new version of a file laid out part by part (Controller.storeEdit): new
   * bytes are stored, a kept part of the edited version is taken as it is, and a
   * range no planned part covers is a hole.
   */
  storeEdit(plan: AsyncIterable<PlannedPart>, size: number, room: PartRoom = ROOM_RESERVED): Promise<Draft> {
    return this.storePlanned(plan, () => size, room);
  }

  private async storePlanned(plan: AsyncIterable<PlannedPart>, sizeOf: () => number, room: PartRoom): Promise<Draft> {
    this.requireEnoughNodes();
    const parts: PartRecord[] = [];
    const chunkIds: string[] = [];
    const kept: string[] = [];
    const inFlight = new Set<Promise<void>>();
    const roomHeld: Reservation[] = []; // one per part in flight past the first
    let failure: unknown;
    try {
      for await (const planned of plan) {
        if ('kept' in planned) {
          parts.push(planned.kept);
          kept.push(planned.kept.chunkId);
          continue;
        }
        const { data, checksum } = planned.bytes;
        if (isAllZero(data)) { // a hole: reads of a range no part covers give zeros
          this.buffers.give(data);
          continue;
        }
        const chunkId = newChunkId();
        chunkIds.push(chunkId);
        this.uncommitted.add(chunkId);
        const task = this.storePart(data, checksum ?? checksumOf(data), chunkId, planned.idx, planned.offset).then(
          (record) => {
            parts.push(record);
            this.uncommitted.storedOn(chunkId, record.nodes);
          },
          (err) => { failure ??= err; },
        );
        const tracked = task.finally(() => {
          inFlight.delete(tracked);
          if (roomHeld.length > Math.max(0, inFlight.size - 1)) roomHeld.pop()!.release();
        });
        inFlight.add(tracked);
        while (inFlight.size > 1 + roomHeld.length) {
          const more = room();
          if (more) roomHeld.push(more);
          else await Promise.race(inFlight);
        }
        while (inFlight.size >= this.settings.partsInFlight) await Promise.race(inFlight);
        if (failure) break;
      }
    } catch (err) {
      failure ??= err;
    }
    await Promise.all(inFlight);
    roomHeld.forEach((r) => r.release());
    // By index, not placed at it: a hole of 2^28 stripes must not make a sparse array that long.
    const draft = new Draft(sizeOf(), parts.sort((a, b) => a.idx - b.idx), chunkIds, kept);
    if (failure) {
      this.discard(draft);
      throw failure;
    }
    return draft;
  }

  /**
   * Calls `commit` with the draft's parts, in the same synchronous step that releases
   * their chunk ids from `uncommitted`. If the commit throws, the draft is discarded
   * and the error rethrown.
   */
  settle<T>(draft: Draft, commit: (result: UploadResult) => T): T {
    if (draft.settled) throw new RaidfsError('EINVAL', 'this upload was already committed or dropped');
    try {
      const result = commit(draft);
      draft.settled = true;
      this.uncommitted.delete(draft.chunkIds);
      return result;
    } catch (err) {
      this.discard(draft);
      throw err;
    }
  }

  /** Dooms every copy of the draft (deleted from its node later); does nothing if already settled. */
  discard(draft: Draft): void {
    if (draft.settled) return;
    draft.settled = true;
    const kept = new Set(draft.kept);
    try {
      this.doom(draft.parts.filter((p) => !kept.has(p.chunkId)).flatMap((p) => p.nodes.map((nodeId) => ({ chunkId: p.chunkId, nodeId }))));
    } finally {
      // Even if dooming them failed (the metadata disk full): scrub then finds them as orphans.
      this.uncommitted.delete(draft.chunkIds);
    }
  }

  private async storePart(data: Buffer, checksum: Checksum, chunkId: string, idx: number, offset: number): Promise<PartRecord> {
    const holders: string[] = [];
    const tried = new Set<string>();
    const errors: Error[] = [];
    while (holders.length < this.settings.replicas) {
      const targets = this.registry.choose(this.settings.replicas - holders.length, data.length, tried);
      if (targets.length === 0) break;
      targets.forEach((t) => tried.add(t));
      const results = await Promise.allSettled(targets.map((t) => this.io.store(t, chunkId, data, checksum)));
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') holders.push(targets[i]);
        else {
          errors.push(result.reason as Error);
          log.warn('copy not stored, trying another node', { chunk: chunkId, node: targets[i], error: errorMessage(result.reason) });
        }
      });
    }
    if (holders.length < this.settings.replicas) {
      this.doom(holders.map((nodeId) => ({ chunkId, nodeId })));
      throw this.placementFailure(holders.length, data.length, errors);
    }
    // A copy that failed may still sit in a queue towards its node: then the bytes are not reused.
    if (errors.length === 0) this.buffers.give(data);
    return { idx, offset, size: data.length, chunkId, checksum, nodes: holders, faults: {} };
  }

  private placementFailure(stored: number, bytes: number, errors: Error[]): RaidfsError {
    const wanted = this.settings.replicas;
    const detail = errors.map((e) => e.message).join('; ') || `no live node has ${bytes} bytes free`;
    const short = this.tooFewNodes();
    if (short) return new RaidfsError('EUNAVAIL', `${short} (${detail})`);
    const full = errors.length === 0 || errors.every((e) => e instanceof NodeRequestError && e.code === ErrorCode.NO_SPACE);
    return new RaidfsError(full ? 'ENOSPC' : 'EIO', `stored ${stored} of ${wanted} copies of a part: ${detail}`);
  }
}
