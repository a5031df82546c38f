/**
 * A hand-driven controller for storage-node tests: the test binds its own ROUTER on a
 * free loopback port, starts a real node process (LocalNode) against it, and speaks
 * the wire protocol by hand (every send through one SendQueue, so a test may send
 * while it also answers). start() resolves once the node has registered; stop()
 * stops the node by PID, closes the socket and removes the temp directory, also
 * after failures.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Router } from 'zeromq';
import { LocalNode } from '../../src/cli/local-nodes';
import { bodyOf, decodeMessage, encodeMessage, Envelope, Message } from '../../src/wire/messages';
import { SendQueue } from '../../src/wire/send-queue';

export class FakeController {
  private nextId = 1;
  readonly sends: SendQueue;

  private constructor(readonly socket: Router, readonly node: LocalNode, readonly dir: string) {
    this.sends = new SendQueue(socket);
  }

  /** Binds the ROUTER, starts node `nodeId` on DIR/data and waits for its registration. */
  static async start(nodeId = 'n1'): Promise<FakeController> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-node-'));
    const socket = new Router({ receiveTimeout: 2_000, sendTimeout: 2_000, mandatory: true, linger: 0 });
    let node: LocalNode | undefined;
    try {
      await socket.bind('tcp://127.0.0.1:*');
      node = new LocalNode({ id: nodeId, dataDir: path.join(dir, 'data'), controller: socket.lastEndpoint! }, 'ignore');
      const ctl = new FakeController(socket, node, dir);
      const { from, message } = await ctl.receive();
      assert.equal(from, nodeId);
      assert.equal(message.kind, 'register');
      assert.equal(bodyOf(message.envelope, 'register').nodeId, nodeId);
      return ctl;
    } catch (err) {
      await node?.stop();
      socket.close();
      rmSync(dir, { recursive: true, force: true });
      throw err;
    }
  }

  get nodeId(): string {
    return this.node.spec.id;
  }

  async receive(): Promise<{ from: string; message: Message }> {
    const [from, ...frames] = await this.socket.receive();
    return { from: from.toString(), message: decodeMessage(frames) };
  }

  /** Sends a request and returns the reply with the same request id (skipping heartbeats). */
  async request(body: Envelope, payload?: Buffer): Promise<Message> {
    const requestId = this.nextId++;
    await this.sends.send([this.nodeId, ...encodeMessage({ ...body, requestId }, payload)]);
    return this.replyTo(requestId);
  }

  /** Waits for the reply to `requestId`, acknowledging heartbeats as the real controller does. */
  async replyTo(requestId: number): Promise<Message> {
    for (;;) {
      const { from, message } = await this.receive();
      if (message.kind === 'heartbeat' || message.kind === 'register') {
        await this.acknowledge(from);
      } else if (Number(message.envelope.requestId) === requestId) {
        return message;
      }
    }
  }

  /** Answers a register or heartbeat from `from` as the real controller does. */
  acknowledge(from: string): Promise<void> {
    return this.sends.send([from, ...encodeMessage({ registerAck: { controllerId: 'fake' } })]);
  }

  async stop(): Promise<void> {
    await this.node.stop();
    this.socket.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
