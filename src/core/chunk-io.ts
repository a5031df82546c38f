/**
 * The requests the controller makes to one named node: store, fetch and delete chunk
 * copies (the data path), verify and list them (scrub, orphan collection), with
 * their deadlines, free-space bookkeeping and verification. Placement, fallback and
 * repair decisions live in part-writer.ts, part-reader.ts, repairer.ts and scrubber.ts.
 */
import { NodeRegistry } from './node-registry';
import { NodeRequestError, NodeTransport } from './node-transport';
import { sameDigest, sha256 } from '../wire/checksum';
import { bodyOf, Envelope, ErrorCode, Message } from '../wire/messages';

export class ChunkIO {
  constructor(
    private readonly transport: NodeTransport,
    private readonly registry: NodeRegistry,
    private readonly timeoutMs: number,
  ) {}

  /** A request to one node; a node found unreachable is counted down at once. */
  private async request(nodeId: string, body: Envelope, payload?: Buffer): Promise<Message> {
    try {
      return await this.transport.request(nodeId, body, this.timeoutMs, payload);
    } catch (err) {
      if (err instanceof NodeRequestError && err.code === 'UNREACHABLE') this.registry.noteUnreachable(nodeId);
      throw err;
    }
  }

  /** Stores one copy on `nodeId`; resolves once the node has it durably. */
  async store(nodeId: string, chunkId: string, data: Buffer, digest: Buffer): Promise<void> {
    this.registry.reserve(nodeId, data.length);
    try {
      const reply = await this.request(nodeId, { storeChunk: { chunkId, size: data.length, sha256: digest } }, data);
      if (reply.kind !== 'storeChunkAck') throw new NodeRequestError(nodeId, ErrorCode.BAD_REQUEST, `answered ${reply.kind} to a store`);
      this.registry.noteReport(nodeId, bodyOf(reply.envelope, 'storeChunkAck').report);
    } finally {
      this.registry.release(nodeId, data.length);
    }
  }

  /** Fetches one copy from `nodeId` and checks it against the part's size and SHA-256. */
  async fetch(nodeId: string, chunkId: string, size: number, digest: Buffer): Promise<Buffer> {
    const reply = await this.request(nodeId, { getChunk: { chunkId } });
    if (reply.kind !== 'chunkData' || !reply.payload) throw new NodeRequestError(nodeId, ErrorCode.BAD_REQUEST, `answered ${reply.kind} to a get`);
    this.registry.noteReport(nodeId, undefined);
    const data = reply.payload;
    if (data.length !== size || !sameDigest(sha256(data), digest)) {
      throw new NodeRequestError(nodeId, ErrorCode.CHECKSUM_MISMATCH, `chunk ${chunkId} arrived corrupted`);
    }
    return data;
  }

  /** Asks a node to read and check copies (at most 256); resolves with the bad ones. */
  async verify(nodeId: string, chunkIds: string[]): Promise<{ missing: string[]; corrupt: string[]; bytesRead: number }> {
    const reply = await this.request(nodeId, { verifyChunks: { chunkIds } });
    if (reply.kind !== 'verifyResult') throw new NodeRequestError(nodeId, ErrorCode.BAD_REQUEST, `answered ${reply.kind} to a verify`);
    const result = bodyOf(reply.envelope, 'verifyResult');
    this.registry.noteReport(nodeId, undefined);
    return { missing: result.missing, corrupt: result.corrupt, bytesRead: Number(result.bytesRead) };
  }

  /** One page of the chunk ids a node holds, in order after `after`. */
  async list(nodeId: string, after: string, limit: number): Promise<{ ids: string[]; more: boolean }> {
    const reply = await this.request(nodeId, { listChunks: { after, limit } });
    if (reply.kind !== 'chunkList') throw new NodeRequestError(nodeId, ErrorCode.BAD_REQUEST, `answered ${reply.kind} to a list`);
    const page = bodyOf(reply.envelope, 'chunkList');
    this.registry.noteReport(nodeId, undefined);
    return { ids: page.chunkIds, more: page.more };
  }

  /** Deletes copies from one node; resolves with how many it deleted. */
  async delete(nodeId: string, chunkIds: string[]): Promise<number> {
    const reply = await this.request(nodeId, { deleteChunks: { chunkIds } });
    if (reply.kind !== 'deleteChunksAck') throw new NodeRequestError(nodeId, ErrorCode.BAD_REQUEST, `answered ${reply.kind} to a delete`);
    const ack = bodyOf(reply.envelope, 'deleteChunksAck');
    this.registry.noteReport(nodeId, ack.report);
    return ack.deleted;
  }
}
