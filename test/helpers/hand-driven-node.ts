/**
 * A storage node driven by hand, for controller tests that need a node to misbehave
 * on cue in ways a real node process cannot be made to: a DEALER under a node id
 * that registers with a real controller, heartbeats every 500 ms (until
 * stopHeartbeats), and answers each request with what the test's `answer` returns or
 * resolves to for it, or not at all. stop() closes its socket and timer, also after
 * failures.
 */
import { Dealer } from 'zeromq';
import { decodeMessage, encodeMessage, Envelope, Message } from '../../src/wire/messages';

/** What a node that answers `message` says (its request id is added), at once or when it resolves; undefined for silence. */
export type Answer = (message: Message) => Envelope | undefined | Promise<Envelope | undefined>;

/** What it reports of its disk; `chunkCount` as given to start() (fewer than the controller expects there makes it scrub the node at once). */
const report = (chunkCount: number) => ({ capacityBytes: 1 << 30, freeBytes: 1 << 30, chunkCount, usedBytes: 0 });

export class HandDrivenNode {
  /** Requests received so far, by kind. */
  readonly received = new Map<string, number>();
  private readonly heartbeat: NodeJS.Timeout;

  private constructor(private readonly socket: Dealer, readonly nodeId: string, answer: Answer, chunkCount: number) {
    this.heartbeat = setInterval(() => void this.send({ heartbeat: { nodeId, report: report(chunkCount) } }), 500);
    void this.serve(answer);
  }

  /**
   * Connects to the controller at `endpoint` as `nodeId` and registers, saying it holds
   * `chunkCount` chunks; resolves once acknowledged.
   */
  static async start(endpoint: string, nodeId: string, answer: Answer, chunkCount = 0): Promise<HandDrivenNode> {
    const socket = new Dealer({ routingId: nodeId, linger: 0, receiveTimeout: 10_000 });
    try {
      socket.connect(endpoint);
      await socket.send(encodeMessage({ register: { nodeId, report: report(chunkCount), address: 'hand-driven' } }));
      const ack = decodeMessage(await socket.receive());
      if (ack.kind !== 'registerAck') throw new Error(`expected registerAck, got ${ack.kind}`);
    } catch (err) {
      socket.close();
      throw err;
    }
    return new HandDrivenNode(socket, nodeId, answer, chunkCount);
  }

  /** The node goes quiet (a hung node, as the controller sees it) but still answers requests. */
  stopHeartbeats(): void {
    clearInterval(this.heartbeat);
  }

  stop(): void {
    clearInterval(this.heartbeat);
    this.socket.close();
  }

  private async serve(answer: Answer): Promise<void> {
    try {
      for (;;) {
        let message: Message;
        try {
          message = decodeMessage(await this.socket.receive());
        } catch (err) {
          if ((err as { code?: string }).code === 'EAGAIN') continue; // no request for a while
          throw err;
        }
        if (message.kind === 'registerAck') continue; // the answer to each heartbeat
        this.received.set(message.kind, (this.received.get(message.kind) ?? 0) + 1);
        const { requestId } = message.envelope;
        void Promise.resolve(answer(message)).then((reply) => reply && this.send({ ...reply, requestId }));
      }
    } catch {
      // closed by stop()
    }
  }

  private send(envelope: Envelope): Promise<void> {
    return this.socket.send(encodeMessage(envelope)).catch(() => undefined);
  }
}
