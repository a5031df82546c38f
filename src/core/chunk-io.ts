/**
 * The requests the controller makes to one named node: store, fetch and delete chunk
 * copies (the data path), verify and list them (scrub, orphan collection), with
 * their deadlines, free-space bookkeeping and verification. Placement, fallback and
 * repair decisions live in part-writer.ts, part-reader.ts, repairer.ts and scrubber.ts.
 */
import type { ChunkRecord } from './metadata/metadata-store';
import { NodeRegistry } from './node-registry';
import { NodeRequestError, NodeTransport } from './node-transport';
import { Checksum, checksumOnWire, sameChecksum } from '../wire/checksum';
import { BodyKind, bodyOf, DecodedBody, Envelope, ErrorCode, Message } from '../wire/messages';

/** Whether a copy a node read (its size, and the checksum its bytes match) is the part's. */
function holdsPart(copy: { size: number; checksum: Checksum }, part: { size: number; checksum: Checksum }): boolean {
  return copy.size === part.size && sameChecksum(copy.checksum, part.checksum);
}

export class ChunkIO {
  constructor(
    private readonly transport: NodeTransport,
    private readonly registry: NodeRegistry,
    private readonly timeoutMs: number,
  ) {}

  /**
   * A request to one node whose reply must be `replyKind`: resolves with that body and
   * any payload. A node found unreachable is counted down at once.
   */
  private async ask<K extends BodyKind>(nodeId: string, body: Envelope, replyKind: K, payload?: Buffer): Promise<{ body: DecodedBody[K]; payload?: Buffer }> {
    let reply: Message;
    try {
      reply = await this.transport.request(nodeId, body, this.timeoutMs, payload);
    } catch (err) {
      if (err instanceof NodeRequestError && err.code === 'UNREACHABLE') this.registry.noteGone(nodeId, 'unreachable');
      throw err;
    }
    if (reply.kind !== replyKind) {
      throw new NodeRequestError(nodeId, ErrorCode.BAD_REQUEST, `answered ${reply.kind} to ${Object.keys(body).join(', ')}`);
    }
    return { body: bodyOf(reply.envelope, replyKind), payload: reply.payload };
  }

  /** Stores one copy on `nodeId`; resolves once the node has it durably. */
  async store(nodeId: string, chunkId: string, data: Buffer, checksum: Checksum): Promise<void> {
    this.registry.reserve(nodeId, data.length);
    try {
      const ack = await this.ask(nodeId, { storeChunk: { chunkId, size: data.length, ...checksum } }, 'storeChunkAck', data);
      if (ack.body.chunkId !== chunkId) throw new NodeRequestError(nodeId, ErrorCode.BAD_REQUEST, `acknowledged chunk ${ack.body.chunkId} for ${chunkId}`);
      this.registry.noteReport(nodeId, ack.body.report);
    } finally {
      this.registry.release(nodeId, data.length);
    }
  }

  /**
   * Fetches one copy from `nodeId`. The node has checked the bytes against the checksum
   * stored with them (chunk-store.ts); here that checksum must be the part's recorded
   * one, and the size the part's size. The bytes then crossed TCP (checksummed, and
   * authenticated when CURVE is on): hashing them again here would put a second pass
   * over every part on the controller's event loop, in front of every FUSE request.
   */
  async fetch(nodeId: string, chunkId: string, size: number, checksum: Checksum): Promise<Buffer> {
    const { body: chunk, payload: data } = await this.ask(nodeId, { getChunk: { chunkId } }, 'chunkData');
    if (!data) throw new NodeRequestError(nodeId, ErrorCode.BAD_REQUEST, 'answered a get without the chunk bytes');
    this.registry.noteReport(nodeId, undefined);
    if (!holdsPart({ size: data.length, checksum: checksumOnWire(chunk) }, { size, checksum })) {
      throw new NodeRequestError(nodeId, ErrorCode.CHECKSUM_MISMATCH, `chunk ${chunkId} came back with another size or checksum than its part's`);
    }
    return data;
  }

  /**
   * Asks a node to read and check copies (at most 256 per request); resolves with the
   * bad ones. The node checks each against the checksum stored with it, and reports
   * that checksum; as in fetch, it must be the part's, or the copy counts as corrupt
   * (a chunk file holding another chunk). An older node reports none: its verdict stands.
   */
  async verify(nodeId: string, copies: readonly ChunkRecord[]): Promise<{ missing: string[]; corrupt: string[]; bytesRead: number }> {
    const { body: result } = await this.ask(nodeId, { verifyChunks: { chunkIds: copies.map((c) => c.chunkId) } }, 'verifyResult');
    this.registry.noteReport(nodeId, undefined);
    const verified = new Map(result.verified.map((v) => [v.chunkId ?? '', { size: v.size ?? 0, checksum: checksumOnWire(v) }]));
    const holdingAnother = copies.filter((copy) => {
      const found = verified.get(copy.chunkId);
      return found !== undefined && !holdsPart(found, copy);
    });
    return { missing: result.missing, corrupt: [...result.corrupt, ...holdingAnother.map((c) => c.chunkId)], bytesRead: Number(result.bytesRead) };
  }

  /** One page of the chunk ids a node holds, in order after `after`. */
  async list(nodeId: string, after: string, limit: number): Promise<{ ids: string[]; more: boolean }> {
    const { body: page } = await this.ask(nodeId, { listChunks: { after, limit } }, 'chunkList');
    this.registry.noteReport(nodeId, undefined);
    return { ids: page.chunkIds, more: page.more };
  }

  /**
   * Deletes copies from one node; resolves with how many it deleted, and the ids it
   * could not delete (every other one is gone).
   */
  async delete(nodeId: string, chunkIds: string[]): Promise<{ deleted: number; failed: string[] }> {
    const { body: ack } = await this.ask(nodeId, { deleteChunks: { chunkIds } }, 'deleteChunksAck');
    this.registry.noteReport(nodeId, ack.report);
    return { deleted: ack.deleted, failed: ack.failed };
  }
}
