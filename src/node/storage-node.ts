/**
 * A storage node process: one data directory, one DEALER socket to the controller.
 *
 * It registers (routing id = node id, and the cluster it belongs to: cluster-id.ts),
 * heartbeats with its capacity, free space and chunk count, and answers the
 * controller's chunk requests. A controller of another cluster refuses it; it keeps
 * trying, logging that once, as it does when its key is refused. Requests are served
 * concurrently up to a limit; beyond it the node stops reading its socket, so
 * ZeroMQ's queues (not the node's memory) hold the backlog.
 *
 * The controller acknowledges every heartbeat. A node that hears nothing from it for
 * `silenceLimitMs` closes its socket and connects a new one: libzmq does not
 * reconnect a session it dropped for a protocol error (an oversized message, say),
 * so without this a node could stay cut off forever while looking healthy.
 *
 * Invariants: every request gets exactly one reply with its request id (data or an
 * ErrorReply); a malformed message is logged and answered or dropped, never fatal;
 * a chunk is acknowledged only once durable (see chunk-store.ts); one node process
 * per data directory (data-dir-lock.ts).
 *
 * With `curve` the DEALER is a CURVE client: it proves the node's key and accepts
 * only the controller holding `serverPublicKey`. Without it, start() refuses a
 * non-loopback controller unless `insecure` is set (wire/transport-security.ts).
 */
import os from 'node:os';
import { Dealer } from 'zeromq';
import { makeDirectory } from '../common/directory-problems';
import { freeNow } from '../common/free-now';
import { createLogger, errorMessage } from '../common/log';
import { ChunkStore, ChunkStoreError, DEFAULT_CONCURRENCY } from './chunk-store';
import { readClusterId, recordClusterId } from './cluster-id';
import { DataDirLock } from './data-dir-lock';
import { resolveNodeId } from './node-identity';
import { isChunkId } from '../wire/chunk-id';
import { checksumOnWire } from '../wire/checksum';
import {
  bodyOf, decodeMessage, encodeMessage, Envelope, ErrorCode, MAX_CHUNK_BYTES, MAX_ENVELOPE_BYTES, Message, ProtocolError, wire,
} from '../wire/messages';
import { SendQueue } from '../wire/send-queue';
import {
  CurveClientConfig, curveClientSocketOptions, InsecureEndpointError, logHandshakeFailures, requireSecureEndpoint,
} from '../wire/transport-security';

export interface StorageNodeOptions {
  dataDir: string;
  /** Controller endpoint, e.g. tcp://127.0.0.1:5557. */
  controller: string;
  id?: string;
  /** Bytes this node may use at most (default: the whole file system). */
  capacity?: number;
  heartbeatMs?: number;
  /** Requests served at the same time. */
  concurrency?: number;
  /** CURVE keys: authenticate to the controller and encrypt all traffic. */
  curve?: CurveClientConfig;
  /** Allow unauthenticated traffic to a non-loopback controller. */
  insecure?: boolean;
}

export const SOFTWARE_VERSION = '0.1.0';
const LIST_LIMIT_MAX = 10_000;
const VERIFY_LIMIT_MAX = 256;

export class StorageNode {
  private readonly log;
  private socket!: Dealer;
  private sends!: SendQueue;
  private heartbeat?: NodeJS.Timeout;
  private lastHeardMs = Date.now();
  private controllerId = '';
  /** Why the controller refused our last registration ('' unless refused): we belong to another cluster. */
  private refusal = '';
  /** Requests being served; at most `concurrency`. */
  private readonly serving = new Set<Promise<void>>();
  /** Serve loops waiting for a slot (after a reconnect, the old socket's loop may still wait beside the new one's). */
  private readonly slotWaiters: Array<() => void> = [];
  private stopped = false;

  private constructor(
    readonly id: string,
    /** The cluster this node belongs to, recorded in its data directory ('' until it first registers). */
    private clusterId: string,
    private readonly options: StorageNodeOptions,
    private readonly store: ChunkStore,
    private readonly lock: DataDirLock,
    private readonly concurrency: number,
  ) {
    this.log = createLogger(`node[${id}]`);
  }

  static async start(options: StorageNodeOptions): Promise<StorageNode> {
    try {
      requireSecureEndpoint(options.controller, { curve: options.curve !== undefined, insecure: options.insecure ?? false, side: 'connect' });
    } catch (err) {
      throw new InsecureEndpointError(`cannot connect to the controller at ${options.controller}: ${errorMessage(err)}`);
    }
    makeDirectory(options.dataDir, 'data directory');
    const lock = DataDirLock.acquire(options.dataDir);
    let store: ChunkStore | undefined;
    try {
      const id = await resolveNodeId(options.dataDir, options.id);
      const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
      store = await ChunkStore.open(options.dataDir, options.capacity, concurrency);
      const node = new StorageNode(id, await readClusterId(options.dataDir), options, store, lock, concurrency);
      node.log.info('started', { data: options.dataDir, controller: options.controller, chunks: store.count, cluster: node.clusterId || undefined });
      await node.connect();
      const heartbeatMs = options.heartbeatMs ?? 1_000;
      node.heartbeat = setInterval(() => void node.onHeartbeatTick(heartbeatMs * 5), heartbeatMs);
      return node;
    } catch (err) {
      await store?.close();
      lock.release();
      throw err;
    }
  }

  /** Stops serving; the chunk store closes once the requests under way are done with it. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    this.socket.close();
    await Promise.allSettled([...this.serving]);
    await this.store.close();
    this.lock.release();
  }

  /** Opens a fresh DEALER to the controller, starts serving it and registers. */
  private async connect(): Promise<void> {
    this.socket = new Dealer({
      routingId: this.id,
      linger: 0,
      sendTimeout: 5_000,
      sendHighWaterMark: 64,
      receiveHighWaterMark: 64,
      maxMessageSize: MAX_CHUNK_BYTES + MAX_ENVELOPE_BYTES,
      reconnectInterval: 100,
      reconnectMaxInterval: 2_000,
      heartbeatInterval: 1_000,
      heartbeatTimeout: 5_000,
      ...curveClientSocketOptions(this.options.curve),
    });
    logHandshakeFailures(this.socket, this.log);
    this.sends = new SendQueue(this.socket);
    this.socket.connect(this.options.controller);
    this.lastHeardMs = Date.now();
    void this.serve(this.socket);
    // A register that cannot be sent (no handshake yet: a refused key, a controller
    // not up) is not fatal: the node keeps going, and the heartbeat's silence check
    // reconnects and registers again.
    await this.register().catch((err) => this.log.warn('registration not sent; retrying', { error: errorMessage(err) }));
  }

  /**
   * A heartbeat, or a new connection once the controller has been silent too long. A
   * node refused as another cluster's sends none: the controller ignores them, and the
   * silence makes the node connect and register again every few seconds (quietly: the
   * refusal was logged).
   */
  private async onHeartbeatTick(silenceLimitMs: number): Promise<void> {
    if (Date.now() - this.lastHeardMs > silenceLimitMs) {
      this.log[this.refusal ? 'debug' : 'warn']('controller silent; reconnecting', { silentMs: Date.now() - this.lastHeardMs });
      this.socket.close();
      await this.connect().catch((err) => this.log.warn('reconnect failed', { error: errorMessage(err) }));
      return;
    }
    if (!this.refusal) await this.sendHeartbeat();
  }

  private async register(): Promise<void> {
    this.controllerId = '';
    await this.send({ register: {
      nodeId: this.id, report: await this.store.report(), softwareVersion: SOFTWARE_VERSION, address: nodeAddress(), clusterId: this.clusterId,
    } });
  }

  private async sendHeartbeat(): Promise<void> {
    try {
      await this.send({ heartbeat: { nodeId: this.id, report: await this.store.report() } });
    } catch (err) {
      this.log.warn('heartbeat not sent', { error: errorMessage(err) });
    }
  }

  private async serve(socket: Dealer): Promise<void> {
    while (!this.stopped && !socket.closed) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (err) {
        if (this.stopped || socket.closed) return;
        this.log.warn('receive failed', { error: errorMessage(err) });
        continue;
      }
      this.lastHeardMs = Date.now();
      let message: Message;
      try {
        message = decodeMessage(frames);
      } catch (err) {
        this.log.warn('dropped malformed message', { error: errorMessage(err) });
        continue;
      }
      await this.acquireSlot();
      const request: Promise<void> = this.handle(message).finally(() => {
        this.serving.delete(request);
        this.releaseSlot();
      });
      this.serving.add(request);
    }
  }

  private async handle({ envelope, kind, payload }: Message): Promise<void> {
    const requestId = Number(envelope.requestId);
    try {
      switch (kind) {
        case 'storeChunk': {
          const req = bodyOf(envelope, 'storeChunk');
          if (payload!.length !== req.size) {
            throw new ChunkStoreError(ErrorCode.BAD_REQUEST, `chunk ${req.chunkId}: ${payload!.length} bytes, header says ${req.size}`);
          }
          try {
            await this.store.put(req.chunkId, payload!, checksumOnWire(req));
          } finally {
            freeNow(payload!); // stored or refused, the node is done with it
          }
          await this.reply(requestId, { storeChunkAck: { chunkId: req.chunkId, report: await this.store.report() } });
          return;
        }
        case 'getChunk': {
          const req = bodyOf(envelope, 'getChunk');
          const chunk = await this.store.get(req.chunkId);
          await this.reply(requestId, { chunkData: { chunkId: req.chunkId, size: chunk.data.length, ...chunk.checksum } }, chunk.data);
          return;
        }
        case 'deleteChunks': {
          const req = bodyOf(envelope, 'deleteChunks');
          const { deleted, failed } = await this.store.delete(req.chunkIds);
          if (failed.length) this.log.warn('chunk files not deleted', { count: failed.length, first: `${failed[0].id}: ${failed[0].reason}` });
          await this.reply(requestId, { deleteChunksAck: { deleted, failed: failed.map((f) => f.id), report: await this.store.report() } });
          return;
        }
        case 'listChunks': {
          const req = bodyOf(envelope, 'listChunks');
          if (req.after !== '' && !isChunkId(req.after)) throw new ChunkStoreError(ErrorCode.BAD_REQUEST, 'invalid list cursor');
          const limit = Math.min(Math.max(req.limit || 1000, 1), LIST_LIMIT_MAX);
          const page = await this.store.list(req.after, limit);
          await this.reply(requestId, { chunkList: { chunkIds: page.ids, more: page.more } });
          return;
        }
        case 'verifyChunks': {
          const ids = bodyOf(envelope, 'verifyChunks').chunkIds;
          if (ids.length > VERIFY_LIMIT_MAX) throw new ChunkStoreError(ErrorCode.BAD_REQUEST, `at most ${VERIFY_LIMIT_MAX} chunks per verify`);
          await this.reply(requestId, { verifyResult: await this.verifyChunks(ids) });
          return;
        }
        case 'registerAck': {
          const { controllerId, clusterId } = bodyOf(envelope, 'registerAck');
          if (controllerId !== this.controllerId) this.log.info('registered', { controller: controllerId, cluster: clusterId || undefined });
          this.controllerId = controllerId;
          this.refusal = '';
          if (!this.clusterId && clusterId) this.joinCluster(clusterId);
          return;
        }
        case 'error': {
          const err = bodyOf(envelope, 'error');
          if (err.code === ErrorCode.NOT_REGISTERED) {
            this.log.info('controller asks to register again');
            await this.register();
          } else if (err.code === ErrorCode.WRONG_CLUSTER) {
            // Logged loudly once; it registers again every few seconds (onHeartbeatTick).
            if (err.reason !== this.refusal) this.log.error('the controller refused this node: it belongs to another cluster', { reason: err.reason });
            this.refusal = err.reason;
          } else {
            this.log.warn('controller reported an error', { code: ErrorCode[err.code], reason: err.reason });
          }
          return;
        }
        default:
          throw new ChunkStoreError(ErrorCode.BAD_REQUEST, `a node does not serve ${kind}`);
      }
    } catch (err) {
      const failure = err instanceof ChunkStoreError ? err
        : err instanceof ProtocolError ? new ChunkStoreError(ErrorCode.BAD_REQUEST, err.message)
        : new ChunkStoreError(ErrorCode.IO_ERROR, errorMessage(err));
      this.log.warn('request failed', { kind, code: ErrorCode[failure.code], reason: failure.message });
      await this.reply(requestId, { error: { code: failure.code, reason: failure.message } }).catch((sendErr) =>
        this.log.warn('error reply not sent', { error: errorMessage(sendErr) }));
    }
  }

  /**
   * Records the cluster of the controller that accepted this node, which had none: a
   * new node, or one older than cluster ids. If that fails, the next ack tries again.
   */
  private joinCluster(clusterId: string): void {
    try {
      recordClusterId(this.options.dataDir, clusterId);
      this.clusterId = clusterId;
      this.log.info('joined cluster', { cluster: clusterId });
    } catch (err) {
      this.log.warn('cluster id not recorded; retrying at the next ack', { cluster: clusterId, error: errorMessage(err) });
    }
  }

  /**
   * Scrub's check of `ids`. A chunk file that cannot be read is reported corrupt, so
   * the controller rewrites it from its other copy (a new file: a bad sector is left
   * behind), or, if this disk refuses that too, makes the copy on another node.
   */
  private async verifyChunks(ids: string[]): Promise<wire.IVerifyResult> {
    const result = { missing: [] as string[], corrupt: [] as string[], bytesRead: 0, verified: [] as wire.IVerifiedChunk[] };
    const unreadable: string[] = [];
    for (const chunkId of ids) {
      const check = await this.store.verify(chunkId);
      if (check.state === 'ok') {
        result.verified.push({ chunkId, size: check.size, ...check.checksum });
        result.bytesRead += check.size;
      } else if (check.state === 'missing') {
        result.missing.push(chunkId);
      } else {
        result.corrupt.push(chunkId);
        if (check.state === 'unreadable') unreadable.push(check.reason);
      }
    }
    if (unreadable.length) this.log.warn('chunk files unreadable; reported corrupt', { count: unreadable.length, first: unreadable[0] });
    return result;
  }

  private reply(requestId: number, body: Envelope, payload?: Buffer): Promise<void> {
    return this.send({ ...body, requestId }, payload);
  }

  private send(envelope: Envelope, payload?: Buffer): Promise<void> {
    return this.sends.send(encodeMessage(envelope, payload));
  }

  private async acquireSlot(): Promise<void> {
    while (this.serving.size >= this.concurrency) {
      await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
  }

  private releaseSlot(): void {
    this.slotWaiters.shift()?.();
  }
}

/** "host (ip)": the host name and the first non-loopback IPv4 address, for status displays. */
function nodeAddress(): string {
  const ipv4 = Object.values(os.networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal);
  return ipv4 ? `${os.hostname()} (${ipv4.address})` : os.hostname();
}
