/**
 * The upload pipeline of one file: cuts the source into parts, hashes each, stores
 * every part on `replicas` distinct live nodes, and returns the part records for the
 * metadata commit. Nothing is committed here.
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
 */
import { createLogger, errorMessage } from '../common/log';
import { ChunkIO } from './chunk-io';
import { RaidfsError } from './errors';
import { DoomedCopy, PartRecord } from './metadata/metadata-store';
import { NodeRegistry } from './node-registry';
import { NodeRequestError } from './node-transport';
import { splitIntoParts } from './part-splitter';
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
  ) {}

  /** Fails fast, before any byte is read, when too few nodes are alive to hold the copies. */
  requireEnoughNodes(): void {
    const alive = this.registry.aliveIds().length;
    if (alive < this.settings.replicas) {
      throw new RaidfsError('EUNAVAIL', `${alive} storage node${alive === 1 ? ' is' : 's are'} alive; ${this.settings.replicas} are needed to store ${this.settings.replicas} copies`);
    }
  }

  async upload(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<UploadResult> {
    this.requireEnoughNodes();
    const parts: PartRecord[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: unknown;
    let offset = 0;
    let count = 0;
    try {
      for await (const data of splitIntoParts(source, this.settings.stripeSize)) {
        const task = this.storePart(data, count++, offset).then(
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
    if (failure) {
      this.discard(parts.filter(Boolean).flatMap((p) => p.nodes.map((nodeId) => ({ chunkId: p.chunkId, nodeId }))));
      throw failure;
    }
    return { size: offset, parts };
  }

  private async storePart(data: Buffer, idx: number, offset: number): Promise<PartRecord> {
    const digest = await sha256(data);
    const chunkId = newChunkId();
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
