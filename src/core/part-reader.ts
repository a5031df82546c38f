/**
 * Reads parts: from the cache, or from one replica at a time, alive nodes first,
 * falling back to the next replica on error, deadline or checksum mismatch.
 *
 * Invariants:
 * - Bytes are returned only after their SHA-256 matched the part's recorded digest.
 * - Concurrent reads of the same part share one fetch.
 * - A copy that its node answered as missing or corrupt is rewritten in the
 *   background from the good bytes (read repair), under the same chunk id.
 */
import { createLogger, errorMessage } from '../common/log';
import { ChunkCache } from './chunk-cache';
import { ChunkIO } from './chunk-io';
import { RaidfsError } from './errors';
import { PartRecord } from './metadata/metadata-store';
import { NodeRegistry } from './node-registry';
import { NodeRequestError } from './node-transport';
import { ErrorCode } from '../wire/messages';

const log = createLogger('read');

export class PartReader {
  private readonly fetching = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly io: ChunkIO,
    private readonly registry: NodeRegistry,
    private readonly cache: ChunkCache,
  ) {}

  read(part: PartRecord): Promise<Buffer> {
    const cached = this.cache.get(part.chunkId);
    if (cached) return Promise.resolve(cached);
    let fetch = this.fetching.get(part.chunkId);
    if (!fetch) {
      fetch = this.fetchFromReplicas(part).finally(() => this.fetching.delete(part.chunkId));
      this.fetching.set(part.chunkId, fetch);
    }
    return fetch;
  }

  private async fetchFromReplicas(part: PartRecord): Promise<Buffer> {
    const failures: NodeRequestError[] = [];
    for (const nodeId of this.replicaOrder(part.nodes)) {
      try {
        const data = await this.io.fetch(nodeId, part.chunkId, part.size, part.sha256);
        this.cache.set(part.chunkId, data);
        this.repairBadCopies(part, data, failures);
        return data;
      } catch (err) {
        const failure = err instanceof NodeRequestError ? err : new NodeRequestError(nodeId, ErrorCode.IO_ERROR, errorMessage(err));
        failures.push(failure);
        log.warn('replica unreadable, trying the next', { chunk: part.chunkId, node: nodeId, error: failure.message });
      }
    }
    const anyAlive = part.nodes.some((id) => this.registry.isAlive(id));
    const why = failures.map((f) => f.message).join('; ') || 'the part has no replicas';
    throw new RaidfsError(anyAlive ? 'EIO' : 'EUNAVAIL', `no readable copy of part ${part.idx}: ${why}`);
  }

  /** Alive holders first, in random order to spread load; the others after them. */
  private replicaOrder(nodes: readonly string[]): string[] {
    const shuffled = [...nodes].sort(() => Math.random() - 0.5);
    return [...shuffled.filter((id) => this.registry.isAlive(id)), ...shuffled.filter((id) => !this.registry.isAlive(id))];
  }

  private repairBadCopies(part: PartRecord, data: Buffer, failures: readonly NodeRequestError[]): void {
    for (const failure of failures) {
      if (failure.code !== ErrorCode.NOT_FOUND && failure.code !== ErrorCode.CHECKSUM_MISMATCH) continue;
      this.io.store(failure.nodeId, part.chunkId, data, part.sha256).then(
        () => log.info('repaired copy', { chunk: part.chunkId, node: failure.nodeId }),
        (err) => log.warn('repair failed', { chunk: part.chunkId, node: failure.nodeId, error: errorMessage(err) }),
      );
    }
  }
}
