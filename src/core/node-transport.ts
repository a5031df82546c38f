/**
 * The controller's end of the wire: one ROUTER socket that every storage node's
 * DEALER connects to. It sends requests to a named node and matches each reply to
 * its request by request id and sender.
 *
 * Invariants:
 * - Every request settles: with the node's reply, with a NodeRequestError (the node's
 *   ErrorReply, an unknown/unreachable node, the node counted down, or the deadline
 *   passing). Nothing waits forever.
 * - A reply is accepted only from the node the request went to; late replies (after
 *   the deadline) and replies to unknown ids are dropped.
 * - Sends go through PeerSendQueues, one queue per node: a node that stops reading
 *   holds up only its own requests, each for at most SEND_TIMEOUT_MS, never those to
 *   other nodes. ROUTER_MANDATORY makes a send to an unconnected node fail at once
 *   instead of vanishing.
 * - Messages that are not replies (register, heartbeat) go to the `onMessage` callback.
 * - A node id belongs to its first connection while that one lasts: a second
 *   connection under it is not heard from (libzmq keeps it aside) until the first
 *   closes or times out, so a stray node cannot knock a connected one out.
 * - A node whose connection is lost (its process died or closed the socket: the
 *   kernel ended the TCP connection, or ZeroMQ's heartbeat timed out) is reported to
 *   `onConnectionLost` the moment the ROUTER notices, through libzmq's draft option
 *   ZMQ_DISCONNECT_MSG: requests waiting on it need not wait for their deadline, nor
 *   the node for its heartbeats to be missed. A crashed host, whose connection just
 *   goes quiet, is still found by its missed heartbeats (node-registry.ts).
 * - Every request that was sent is timed from send to settling and reported once to
 *   `onRequestSettled` with its kind and outcome (the metrics' latency histogram).
 * - Garbage from a peer is logged and dropped; the receive loop keeps serving.
 * - With `curve`, the ROUTER is a CURVE server in a ZeroMQ context of its own, whose
 *   ZAP handler (zap-handler.ts) is bound before the ROUTER, so no node is ever
 *   admitted unless its key is authorized. Without it, bind() refuses a non-loopback
 *   endpoint unless `insecure` is set (transport-security.ts).
 */
import { randomInt } from 'node:crypto';
import { Context, Router } from 'zeromq';
import { createLogger, errorMessage } from '../common/log';
import {
  bodyOf, BodyKind, decodeMessage, encodeMessage, Envelope, ErrorCode, MAX_CHUNK_BYTES, MAX_ENVELOPE_BYTES, Message,
} from '../wire/messages';
import { PeerSendQueues } from '../wire/peer-send-queues';
import { CurveServerConfig, curveServerSocketOptions, requireSecureEndpoint } from '../wire/transport-security';
import { ZapHandler } from './zap-handler';

/** A request to a node that did not succeed. `code` is the node's ErrorCode, if it answered. */
export class NodeRequestError extends Error {
  constructor(readonly nodeId: string, readonly code: ErrorCode | 'TIMEOUT' | 'UNREACHABLE', message: string) {
    super(`node ${nodeId}: ${message}`);
  }
}

/** How a request settled: the node's reply, its ErrorReply, no reply by the deadline, or not deliverable. */
export type RequestOutcome = 'ok' | 'error' | 'timeout' | 'unreachable';

interface Pending {
  nodeId: string;
  /** The request's body kind (storeChunk, getChunk, ...). */
  kind: string;
  startedMs: number;
  resolve(message: Message): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

export interface TransportOptions {
  /** ZeroMQ endpoint to bind, e.g. tcp://127.0.0.1:5557 (port 0 or * picks a free port). */
  endpoint: string;
  /** CURVE keys: nodes must authenticate with an authorized key; traffic is encrypted. */
  curve?: CurveServerConfig;
  /** Allow unauthenticated traffic on a non-loopback endpoint. */
  insecure?: boolean;
}

/**
 * What the ROUTER hands us, under a node's routing id, when that node's connection is
 * lost (ZMQ_DISCONNECT_MSG; libzmq 4.3.5 as zeromq.js builds it, with the draft API).
 * A node never sends it: every message of the protocol starts with a Protobuf envelope
 * and this is a lone frame of text; a peer that sent it anyway would only count itself down.
 * A node that reconnects takes its id over (ROUTER_HANDOVER): the old connection's
 * message, if not read by then, comes under the temporary id libzmq gives it, which
 * names no node; read before, it counts the node down until its next heartbeat.
 */
const CONNECTION_LOST = Buffer.from('raidfs: connection lost');
const ZMQ_DISCONNECT_MSG = 111;

/** zeromq.js's Router, plus the draft option it has no setter for. */
class NodeRouter extends Router {
  /** Delivers `message` from a peer whose connection ends (see CONNECTION_LOST). */
  deliverOnDisconnect(message: Buffer): void {
    this.setStringOption(ZMQ_DISCONNECT_MSG, message);
  }
}

/** How long a message may wait for room in a node's queue before its send fails. */
const SEND_TIMEOUT_MS = 2_000;

const REPLY_KINDS: ReadonlySet<BodyKind> = new Set<BodyKind>(['storeChunkAck', 'chunkData', 'deleteChunksAck', 'chunkList', 'verifyResult', 'error']);
const REQUEST_KINDS: readonly BodyKind[] = ['storeChunk', 'getChunk', 'deleteChunks', 'listChunks', 'verifyChunks'];

export class NodeTransport {
  private readonly log = createLogger('transport');
  private readonly socket: NodeRouter;
  private readonly sends: PeerSendQueues;
  private readonly pending = new Map<number, Pending>();
  /**
   * Starts anywhere below 2^47 (ids stay exact in a JS number): a node's reply to a
   * controller that has restarted since finds no request of the new one to answer.
   */
  private nextRequestId = randomInt(1, 2 ** 47);
  private closed = false;
  onMessage: (nodeId: string, message: Message) => void = () => undefined;
  onConnectionLost: (nodeId: string) => void = () => undefined;
  onRequestSettled: (kind: string, outcome: RequestOutcome, seconds: number) => void = () => undefined;

  private constructor(options: TransportOptions, private readonly zap?: ZapHandler, context?: Context) {
    this.socket = new NodeRouter({
      ...(context ? { context } : {}),
      ...curveServerSocketOptions(options.curve),
      mandatory: true,
      // A second connection under a connected node's id (another cluster's node of that
      // id, a second process given the same --id) waits unheard until the first closes
      // (or misses ZeroMQ's heartbeats below), instead of taking the id from it.
      handover: false,
      linger: 0,
      // Never wait inside zeromq.js: PeerSendQueues waits, per node.
      sendTimeout: 0,
      sendHighWaterMark: 64,
      receiveHighWaterMark: 256,
      // Any chunk a node may hold, not just one of the current stripe size: parts
      // stored under an earlier, larger --stripe-size must still come back (a frame
      // over the limit makes libzmq drop the node's connection).
      maxMessageSize: MAX_CHUNK_BYTES + MAX_ENVELOPE_BYTES,
      heartbeatInterval: 1_000,
      heartbeatTimeout: 5_000,
    });
    this.socket.deliverOnDisconnect(CONNECTION_LOST);
    this.sends = new PeerSendQueues(this.socket, SEND_TIMEOUT_MS);
  }

  static async bind(options: TransportOptions): Promise<NodeTransport> {
    requireSecureEndpoint(options.endpoint, { curve: options.curve !== undefined, insecure: options.insecure ?? false, side: 'listen' });
    const context = options.curve ? new Context() : undefined;
    const zap = context ? await ZapHandler.start(context, options.curve!.authorizedKeys) : undefined;
    const transport = new NodeTransport(options, zap, context);
    try {
      await transport.socket.bind(options.endpoint.replace(/:0$/, ':*'));
    } catch (err) {
      transport.close();
      throw err;
    }
    void transport.receiveLoop();
    return transport;
  }

  /** The endpoint nodes connect to, with the real port. */
  get endpoint(): string {
    return this.socket.lastEndpoint ?? '';
  }

  /** Sends a request and resolves with the node's reply, or rejects with NodeRequestError. */
  request(nodeId: string, body: Envelope, timeoutMs: number, payload?: Buffer): Promise<Message> {
    if (this.closed) return Promise.reject(new NodeRequestError(nodeId, 'UNREACHABLE', 'controller is shutting down'));
    const requestId = this.nextRequestId++;
    const kind = REQUEST_KINDS.find((k) => body[k] != null) ?? 'other';
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(requestId, new NodeRequestError(nodeId, 'TIMEOUT', `no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(requestId, { nodeId, kind, startedMs: performance.now(), resolve, reject, timer });
      this.send(nodeId, { ...body, requestId }, payload).catch((err) => {
        // EHOSTUNREACH: the ROUTER has no connection to the node. Anything else (EAGAIN:
        // its queue stayed full for SEND_TIMEOUT_MS) is a slow node, not a gone one: the
        // request fails like one without a reply, and the node is not counted down.
        const unreachable = (err as { code?: string }).code === 'EHOSTUNREACH';
        this.settle(requestId, new NodeRequestError(nodeId, unreachable ? 'UNREACHABLE' : 'TIMEOUT', `not sent: ${errorMessage(err)}`));
      });
    });
  }

  /** Sends a message that expects no reply (acks to register, errors to heartbeats). */
  send(nodeId: string, envelope: Envelope, payload?: Buffer): Promise<void> {
    return this.sends.send(nodeId, encodeMessage(envelope, payload));
  }

  /** Fails every request waiting on `nodeId` at once (the node was counted down). */
  failPending(nodeId: string, reason: string): void {
    for (const [id, p] of this.pending) {
      if (p.nodeId === nodeId) this.settle(id, new NodeRequestError(nodeId, 'UNREACHABLE', reason));
    }
  }

  close(): void {
    this.closed = true;
    for (const [id, p] of this.pending) this.settle(id, new NodeRequestError(p.nodeId, 'UNREACHABLE', 'controller is shutting down'));
    this.sends.close();
    this.socket.close();
    this.zap?.close();
  }

  private async receiveLoop(): Promise<void> {
    while (!this.closed) {
      let frames: Buffer[];
      try {
        frames = await this.socket.receive();
      } catch (err) {
        if (this.closed) return;
        this.log.warn('receive failed', { error: errorMessage(err) });
        continue;
      }
      const nodeId = frames[0].toString('utf8');
      if (frames.length === 2 && frames[1].equals(CONNECTION_LOST)) {
        this.onConnectionLost(nodeId);
        continue;
      }
      let message: Message;
      try {
        message = decodeMessage(frames.slice(1));
      } catch (err) {
        this.log.warn('dropped malformed message', { from: nodeId, error: errorMessage(err) });
        continue;
      }
      const requestId = Number(message.envelope.requestId);
      if (REPLY_KINDS.has(message.kind) && this.pending.has(requestId)) {
        this.settleReply(nodeId, requestId, message);
      } else if (REPLY_KINDS.has(message.kind) && message.kind !== 'error') {
        this.log.debug('dropped late or unknown reply', { from: nodeId, kind: message.kind, requestId });
      } else {
        try {
          this.onMessage(nodeId, message);
        } catch (err) {
          this.log.warn('message handler failed', { from: nodeId, kind: message.kind, error: errorMessage(err) });
        }
      }
    }
  }

  private settleReply(nodeId: string, requestId: number, message: Message): void {
    const pending = this.pending.get(requestId)!;
    if (pending.nodeId !== nodeId) {
      this.log.warn('dropped reply from the wrong node', { from: nodeId, expected: pending.nodeId, requestId });
      return;
    }
    if (message.kind === 'error') {
      const err = bodyOf(message.envelope, 'error');
      this.settle(requestId, new NodeRequestError(nodeId, err.code, err.reason || ErrorCode[err.code]));
    } else {
      this.settle(requestId, message);
    }
  }

  private settle(requestId: number, outcome: Message | Error): void {
    const pending = this.pending.get(requestId);
    if (!pending) return;
    this.pending.delete(requestId);
    clearTimeout(pending.timer);
    this.onRequestSettled(pending.kind, outcomeOf(outcome), (performance.now() - pending.startedMs) / 1000);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }
}

function outcomeOf(outcome: Message | Error): RequestOutcome {
  if (!(outcome instanceof Error)) return 'ok';
  if (outcome instanceof NodeRequestError && outcome.code === 'TIMEOUT') return 'timeout';
  if (outcome instanceof NodeRequestError && outcome.code === 'UNREACHABLE') return 'unreachable';
  return 'error';
}
