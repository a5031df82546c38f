/**
 * The upload pipeline of one file: cuts the source into parts, hashes each, stores
 * every part on `replicas` distinct live nodes, and hands the part records to the
 * caller's metadata commit.
 *
 * Invariants:
 * - At most `partsInFlight` parts are being hashed or sent at once, and the source is
 *   not read further until one finishes: memory is bounded by
 *   (partsInFlight + 2) stripes whatever the file size.
 * - A part counts as stored only when every copy was acknowledged by its node. A copy
 *   that fails (error, timeout, disk full) is retried on another live node that does
 *   not already hold the part; the two copies of a part are always on distinct nodes.
 * - On failure every copy already stored is handed to `discard` (to be deleted from
 *   its node) and the error is thrown: a failed upload leaves nothing visible.
 * - From the moment a chunk id is drawn until the commit (or the discard) its id is in
 *   `uncommitted`, so the orphan collector never deletes a part of an upload under way.
 */
import { createLogger, errorMessage } from '../common/log';
import { ChunkIO } from './chunk-io';
import { RaidfsError } from './errors';
import { DoomedCopy, PartRecord } from './metadata/metadata-store';
import { NodeRegistry } from './node-registry';
import { NodeRequestError } from './node-transport';
import { splitIntoParts } from './part-splitter';
import { UncommittedChunks } from './uncommitted-chunks';
import { newChunkId } from '../wire/chunk-id';
import { sha256 } from '../wire/checksum';
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

const log = createLogger('upload');

export class PartWriter {
  constructor(
    private readonly io: ChunkIO,
    private readonly registry: NodeRegistry,
    private readonly settings: UploadSettings,
    private readonly discard: (copies: DoomedCopy[]) => void,
    private readonly uncommitted: UncommittedChunks,
  ) {}

  /** Fails fast, before any byte is read, when too few nodes are alive to hold the copies. */
  requireEnoughNodes(): void {
    const alive = this.registry.aliveIds().length;
    if (alive < this.settings.replicas) {
      throw new RaidfsError('EUNAVAIL', `${alive} storage node${alive === 1 ? ' is' : 's are'} alive; ${this.settings.replicas} are needed to store ${this.settings.replicas} copies`);
    }
  }

  /**
   * Uploads `source`, then calls `commit` with the parts, in the same synchronous step
   * that releases their chunk ids from `uncommitted`. If the upload or the commit
   * fails, every copy stored is doomed and the error is thrown.
   */
  async upload<T>(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, commit: (result: UploadResult) => T): Promise<T> {
    this.requireEnoughNodes();
    const parts: PartRecord[] = [];
    const chunkIds: string[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    let offset = 0;
    try {
      for await (const data of splitIntoParts(source, this.settings.stripeSize)) {
        const chunkId = newChunkId();
        chunkIds.push(chunkId);
        this.uncommitted.add(chunkId);
        const task = this.storePart(data, chunkId, chunkIds.length - 1, offset).then(
          (record) => { parts[record.idx] = record; },
          (err) => { failure ??= err; },
        );
        offset += data.length;
        const tracked = task.finally(() => inFlight.delete(tracked));
        inFlight.add(tracked);
        while (inFlight.size >= this.settings.partsInFlight) await Promise.race(inFlight);
        if (failure) break;
      }
    } catch (err) {
      failure ??= err;
    }
    await Promise.all(inFlight);
    try {
      if (failure) throw failure;
      return commit({ size: offset, parts });
    } catch (err) {
      this.discard(parts.filter(Boolean).flatMap((p) => p.nodes.map((nodeId) => ({ chunkId: p.chunkId, nodeId }))));
      throw err;
    } finally {
      this.uncommitted.delete(chunkIds);
    }
  }

  private async storePart(data: Buffer, chunkId: string, idx: number, offset: number): Promise<PartRecord> {
    const digest = sha256(data);
    const holders: string[] = [];
    const tried = new Set<string>();
    const errors: Error[] = [];
    while (holders.length < this.settings.replicas) {
      const targets = this.registry.choose(this.settings.replicas - holders.length, data.length, tried);
      if (targets.length === 0) break;
      targets.forEach((t) => tried.add(t));
      const results = await Promise.allSettled(targets.map((t) => this.io.store(t, chunkId, data, digest)));
      results.forEach((result, i) => {
        if (result.status === 'fulfilled') holders.push(targets[i]);
        else {
          errors.push(result.reason as Error);
          log.warn('copy not stored, trying another node', { chunk: chunkId, node: targets[i], error: errorMessage(result.reason) });
        }
      });
    }
    if (holders.length < this.settings.replicas) {
      this.discard(holders.map((nodeId) => ({ chunkId, nodeId })));
      throw this.placementFailure(holders.length, data.length, errors);
    }
    return { idx, offset, size: data.length, chunkId, sha256: digest, nodes: holders };
  }

  private placementFailure(stored: number, bytes: number, errors: Error[]): RaidfsError {
    const wanted = this.settings.replicas;
    const alive = this.registry.aliveIds().length;
    const detail = errors.map((e) => e.message).join('; ') || `no live node has ${bytes} bytes free`;
    if (alive < wanted) return new RaidfsError('EUNAVAIL', `only ${alive} storage nodes are alive; ${wanted} copies are needed (${detail})`);
    const full = errors.length === 0 || errors.every((e) => e instanceof NodeRequestError && e.code === ErrorCode.NO_SPACE);
    return new RaidfsError(full ? 'ENOSPC' : 'EIO', `stored ${stored} of ${wanted} copies of a part: ${detail}`);
  }
}
