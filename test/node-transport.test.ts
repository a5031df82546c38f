/**
 * The controller's transport (NodeTransport on a real ROUTER socket) facing two peers
 * on loopback that speak the wire protocol by hand: one answers, the other stops
 * reading. Requests to the answering peer must still leave at once; those to the
 * other must wait for room in its queue, and fail once they waited 2 s for it.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { Dealer } from 'zeromq';
import { NodeRequestError, NodeTransport } from '../src/core/node-transport';
import { newChunkId } from '../src/wire/chunk-id';
import { checksumOf } from '../src/wire/checksum';
import { bodyOf, decodeMessage, encodeMessage, Envelope } from '../src/wire/messages';

/** How a store ended: stored, or its error and when, from the first store. */
type Outcome = 'stored' | { err: NodeRequestError; afterMs: number };

describe('the controller transport with a node that stops reading', () => {
  const sockets: Dealer[] = [];
  let transport: NodeTransport | undefined;
  after(() => {
    transport?.close();
    for (const socket of sockets) socket.close();
  });

  /** A peer connected under `id`, known to the ROUTER once its first message arrived. */
  async function peer(id: string, options: ConstructorParameters<typeof Dealer>[0] = {}): Promise<Dealer> {
    const socket = new Dealer({ routingId: id, linger: 0, ...options });
    sockets.push(socket);
    socket.connect(transport!.endpoint);
    const heard = new Promise<void>((resolve) => {
      const previous = transport!.onMessage;
      transport!.onMessage = (from, message) => {
        if (from === id) resolve();
        else previous(from, message);
      };
    });
    await socket.send(encodeMessage({ heartbeat: { nodeId: id } }));
    await heard;
    return socket;
  }

  /** Answers every request `socket` receives with `reply(envelope)`, from now on. */
  function answer(socket: Dealer, reply: (requestId: Envelope['requestId'], body: Envelope) => Envelope): void {
    void (async () => {
      for await (const frames of socket) {
        const { envelope } = decodeMessage(frames);
        await socket.send(encodeMessage(reply(envelope.requestId, envelope)));
      }
    })().catch(() => undefined);
  }

  /** `count` stores of 1 MiB to `nodeId`: far more than its queue in libzmq (64 messages) and loopback's socket buffers hold. */
  function storesTo(nodeId: string, count: number): Array<Promise<Outcome>> {
    const payload = Buffer.alloc(1 << 20, 7);
    const checksum = checksumOf(payload);
    const startedMs = performance.now();
    return Array.from({ length: count }, () => transport!
      .request(nodeId, { storeChunk: { chunkId: newChunkId(), size: payload.length, ...checksum } }, 30_000, payload)
      .then((): Outcome => 'stored', (err: unknown): Outcome => ({ err: err as NodeRequestError, afterMs: performance.now() - startedMs })));
  }

  it('keeps a node\'s requests until it reads again, and serves other nodes meanwhile', async () => {
    transport = await NodeTransport.bind({ endpoint: 'tcp://127.0.0.1:0' });
    const pausing = await peer('pausing', { receiveHighWaterMark: 1 });
    const answering = await peer('answering');
    answer(answering, (requestId) => ({ requestId, chunkList: { chunkIds: ['answered'] } }));

    const stores = storesTo('pausing', 160);
    await sleep(300); // the pausing peer's queue fills up
    const askedMs = performance.now();
    const reply = await transport.request('answering', { listChunks: { after: '', limit: 1 } }, 1_000);
    const answeredMs = performance.now() - askedMs;
    assert.deepEqual(bodyOf(reply.envelope, 'chunkList').chunkIds, ['answered']);
    assert.ok(answeredMs < 500, `the answering node's request took ${answeredMs.toFixed(0)} ms`);

    answer(pausing, (requestId, body) => ({ requestId, storeChunkAck: { chunkId: body.storeChunk!.chunkId } }));
    const outcomes = await Promise.all(stores);
    const failed = outcomes.flatMap((outcome) => (outcome === 'stored' ? [] : [outcome.err.message]));
    assert.equal(failed.length, 0, `${failed.length} stores failed, the first: ${failed[0]}`);
  });

  it('fails a request that finds no room in its node\'s queue for 2 s', async () => {
    transport?.close();
    transport = await NodeTransport.bind({ endpoint: 'tcp://127.0.0.1:0' });
    await peer('stalled', { receiveHighWaterMark: 1 });
    const stores = storesTo('stalled', 160);
    const notSent = await Promise.race([
      Promise.any(stores.map(async (store) => {
        const outcome = await store;
        if (outcome === 'stored' || !/not sent/.test(outcome.err.message)) throw new Error('not for want of room');
        return outcome;
      })),
      sleep(6_000, undefined, { ref: false }).then((): Outcome | undefined => undefined),
    ]);
    assert.ok(notSent && notSent !== 'stored', 'some store to the stalled node failed for want of room');
    assert.equal(notSent.err.code, 'TIMEOUT');
    assert.ok(notSent.afterMs >= 1_900 && notSent.afterMs < 4_000, `the first store that could not be sent failed after ${notSent.afterMs.toFixed(0)} ms`);
    transport.close();
    assert.ok((await Promise.all(stores)).every((outcome) => outcome !== 'stored'), 'the stalled peer acknowledged nothing');
  });
});
