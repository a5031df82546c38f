/**
 * Fuzzing the wire protocol at both ends, with real processes: thousands of random
 * and mutated multipart messages (helpers/fuzz-frames.ts) thrown at a storage node
 * (from a ROUTER it connects to, under its own routing id) and at a controller (from
 * raw DEALER sockets with random routing ids). Afterwards every process must still
 * run and serve correct data: the node stores and returns a chunk byte-exact, the
 * controller writes and reads back a multi-part file byte-exact through its nodes.
 *
 * The PRNG seed is printed (test name and diagnostics); RAIDFS_FUZZ_SEED=N replays a run.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { Dealer } from 'zeromq';
import { newChunkId } from '../src/wire/chunk-id';
import { checksumOf } from '../src/wire/checksum';
import { bodyOf, encodeMessage, MAX_CHUNK_BYTES, MAX_ENVELOPE_BYTES } from '../src/wire/messages';
import { retry, testBytes } from './helpers/data';
import { FakeController } from './helpers/fake-controller';
import { fuzzSeed, junkMessage, Prng } from './helpers/fuzz-frames';
import { pidAlive } from './helpers/host';
import { MountedRaidfs } from './helpers/mounted-raidfs';

const MESSAGES = 6_000;
const STRIPE = 64 * 1024;
const seed = fuzzSeed();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe(`wire protocol fuzzing (seed ${seed}; replay with RAIDFS_FUZZ_SEED=${seed})`, () => {
  it(`a storage node survives ${MESSAGES} junk messages, then stores and returns a chunk byte-exact`, async (t) => {
    t.diagnostic(`seed ${seed}`);
    const rng = new Prng(seed);
    const ctl = await FakeController.start('fuzz-node');
    try {
      let replies = 0;
      let sendFailures = 0;
      let sending = true;
      const drain = (async () => {
        let lastReply = Date.now();
        while (sending || Date.now() - lastReply < 1_000) {
          try {
            const { from, message } = await ctl.receive();
            if (message.kind === 'heartbeat' || message.kind === 'register') await ctl.acknowledge(from);
            else { replies++; lastReply = Date.now(); }
          } catch { /* a quiet moment (receive timeout) */ }
        }
      })();
      for (let i = 0; i < MESSAGES; i++) {
        await ctl.sends.send([ctl.nodeId, ...junkMessage(rng, ctl.nodeId)]).catch(() => { sendFailures++; });
      }
      sending = false;
      await drain;
      t.diagnostic(`${MESSAGES} junk messages, ${replies} replies, ${sendFailures} sends failed`);
      assert.ok(ctl.node.running, `node process still running (seed ${seed})`);
      assert.ok(replies > MESSAGES / 10, `the node kept answering what it could decode (${replies} replies, seed ${seed})`);

      // Last, one message over the node's size limit: libzmq drops the session and the
      // node reconnects once the controller has been silent too long (5 s; the retries
      // allow 30 s, as a send to the dropped peer fails at once).
      await ctl.sends.send([ctl.nodeId, ...encodeMessage({ requestId: 1, storeChunk: { chunkId: newChunkId(), size: 0 } }), Buffer.alloc(MAX_CHUNK_BYTES + MAX_ENVELOPE_BYTES + 1)]);
      const id = newChunkId();
      const data = testBytes(300_000, `fuzz-${seed}`);
      const ack = await retry(() => ctl.request({ storeChunk: { chunkId: id, size: data.length, ...checksumOf(data) } }, data), 120);
      assert.equal(ack.kind, 'storeChunkAck', `store after fuzzing (seed ${seed})`);
      const got = await ctl.request({ getChunk: { chunkId: id } });
      assert.equal(got.kind, 'chunkData');
      assert.ok(got.payload!.equals(data), `chunk reads back byte-exact (seed ${seed})`);
      assert.equal(bodyOf(got.envelope, 'chunkData').chunkId, id);
      assert.ok(ctl.node.running, 'node process still running');
      assert.deepEqual(readdirSync(ctl.dir), ['data'], 'nothing written outside the data directory');
      // cluster-id is there if a junk registerAck named a cluster: the node records the first one it is told.
      assert.deepEqual(readdirSync(path.join(ctl.dir, 'data')).filter((name) => name !== 'cluster-id').sort(), ['LOCK', 'LOCK-wal', 'chunks', 'node-id', 'tmp']);
    } finally {
      await ctl.stop();
    }
  });

  it(`a controller survives ${MESSAGES} junk messages from 16 raw sockets, then writes and reads a multi-part file byte-exact`, async (t) => {
    t.diagnostic(`seed ${seed}`);
    const rng = new Prng(seed ^ 0x5eed);
    const cluster = await MountedRaidfs.start({ nodes: 2, args: ['--no-mount', '--stripe-size', `${STRIPE}`] });
    const dealers: Dealer[] = [];
    try {
      let answers = 0;
      let sendFailures = 0;
      for (let i = 0; i < 16; i++) {
        let routingId: string;
        do routingId = rng.text(40); while (/^node\d+$/.test(routingId)); // a live node's id would take over its connection
        const dealer = new Dealer({ routingId, linger: 0, sendTimeout: 2_000 });
        dealer.connect(cluster.controllerEndpoint);
        dealers.push(dealer);
        void (async () => {
          while (!dealer.closed) await dealer.receive().then(() => { answers++; }, () => undefined);
        })();
      }
      // Over the controller's message limit (stripe + envelope limit): that sender's session is dropped.
      const oversized = STRIPE + MAX_ENVELOPE_BYTES + 1;
      for (let i = 0; i < MESSAGES; i++) {
        const dealer = rng.pick(dealers);
        await dealer.send(junkMessage(rng, dealer.routingId!, oversized)).catch(() => { sendFailures++; });
      }
      await sleep(500);
      t.diagnostic(`${MESSAGES} junk messages, ${answers} answers, ${sendFailures} sends failed`);
      assert.ok(pidAlive(cluster.pid), `controller process still running (seed ${seed})`);
      assert.deepEqual(cluster.nodePids.filter((pid) => !pidAlive(pid)), [], 'storage nodes still running');
      assert.ok(answers > 0, 'the controller answered registrations and heartbeats');

      dealers.forEach((d) => d.close());
      await sleep(2_000); // fake nodes registered by junk count as down after --node-timeout (1.5 s)
      const data = testBytes(5 * STRIPE + 321, `fuzz-file-${seed}`);
      const put = await fetch(`${cluster.restUrl}/fs/after-fuzz.bin`, { method: 'PUT', body: data });
      assert.equal(put.status, 201, `${await put.text()} (seed ${seed})`);
      const got = await fetch(`${cluster.restUrl}/fs/after-fuzz.bin`);
      assert.equal(got.status, 200);
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(data), `file reads back byte-exact (seed ${seed})`);
      assert.ok(pidAlive(cluster.pid), 'controller process still running');
    } finally {
      dealers.forEach((d) => d.close());
      await cluster.stop();
    }
  });
});
