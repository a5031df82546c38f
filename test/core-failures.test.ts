/**
 * Real faults against a real cluster: kill -9 of a node, too few live nodes for a
 * write, a chunk file corrupted on disk, swapped for another or unreadable, a node
 * restarted on its data, a full disk. After each, data is checked byte-exact.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { READ_REPAIR_MAX_BYTES } from '../src/core/part-reader';
import { bodyOf, ErrorCode } from '../src/wire/messages';
import { TestCluster } from './helpers/cluster';
import { collect, testBytes, waitUntil } from './helpers/data';
import { HandDrivenNode } from './helpers/hand-driven-node';
import { PrometheusText } from './helpers/prometheus-text';

const STRIPE = 64 * 1024;
/** A chunk file's header (chunk-store.ts); the chunk's bytes follow it. */
const HEADER_BYTES = 48;

/** Whether the chunk file at `file` holds `expected` (read repair has rewritten it). */
const holds = async (file: string, expected: Buffer) => (await fs.readFile(file)).subarray(HEADER_BYTES).equals(expected);

/**
 * Reads part `index` of file `name` until `done` holds, at most 30 times, each read
 * byte-exact: a read tries the part's copies in random order, so a bad copy is come
 * across within a few reads.
 */
async function readPartUntil(cluster: TestCluster, name: string, index: number, expected: Buffer, done: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 30 && !(await done()); i++) {
    const snapshot = cluster.controller.snapshot(name);
    const part = snapshot.parts[index];
    assert.ok((await cluster.controller.readRange(snapshot, part.offset, part.size)).equals(expected), `read ${i} is byte-exact`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('core under failures', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => { await cluster?.stop(); cluster = undefined; });

  it('keeps reading every file byte-exact after kill -9 of a node', async () => {
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const files = [1, 5_000, 3 * STRIPE + 7, 10 * STRIPE].map((size, i) => ({ path: `/f${i}`, data: testBytes(size, `k${i}`) }));
    for (const f of files) await cluster.controller.writeFile(f.path, f.data);
    await cluster.killNode(1);
    const started = Date.now();
    for (const f of files) assert.ok((await collect(cluster.controller.readStream(f.path))).equals(f.data), f.path);
    assert.ok(Date.now() - started < 5_000, 'reads did not wait out timeouts on the dead node');
    await cluster.waitUntilDown(1);
    for (const f of files) assert.ok((await cluster.controller.readFile(f.path)).equals(f.data), `${f.path} after down`);
  });

  it('writes fail cleanly and leave nothing when too few nodes are alive', async () => {
    cluster = await TestCluster.start({ nodes: 2, controller: { stripeSize: STRIPE } });
    await cluster.controller.writeFile('/keep', Buffer.from('old content'));
    await cluster.killNode(0);
    // Not yet detected as down: the copy to the dead node fails and there is no other node.
    await assert.rejects(cluster.controller.writeFile('/new-early', testBytes(3 * STRIPE)), (err: { code: string }) => ['EUNAVAIL', 'EIO'].includes(err.code));
    await cluster.waitUntilDown(0);
    await assert.rejects(cluster.controller.writeFile('/new', testBytes(3 * STRIPE)), { code: 'EUNAVAIL', message: /1 storage node is alive; 2 are needed/ });
    await assert.rejects(cluster.controller.writeFile('/keep', Buffer.from('replacement')), { code: 'EUNAVAIL' });
    assert.throws(() => cluster!.controller.stat('/new'), { code: 'ENOENT' });
    assert.throws(() => cluster!.controller.stat('/new-early'), { code: 'ENOENT' });
    assert.deepEqual(cluster.controller.list('/').map((e) => e.name), ['keep']);
    assert.equal((await cluster.controller.readFile('/keep')).toString(), 'old content');
  });

  it('detects a corrupted chunk file, reads the other copy and repairs the bad one', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const data = testBytes(3 * STRIPE, 'rot');
    await cluster.controller.writeFile('/rot', data);
    const { parts } = cluster.controller.snapshot('/rot');
    for (const part of parts) {
      const file = cluster.chunkFile(part.nodes[0], part.chunkId);
      const bytes = await fs.readFile(file);
      bytes[HEADER_BYTES + 100] ^= 0xff; // one bit-flipped byte after the header
      await fs.writeFile(file, bytes);
    }
    // Part 1 loses its other copy too (truncated to nothing): no good copy is left.
    await fs.truncate(cluster.chunkFile(parts[1].nodes[1], parts[1].chunkId), 0);
    await assert.rejects(cluster.controller.readFile('/rot'), { code: 'EIO' });
    // Part 0 is readable from its good copy; once a read has tried the corrupt copy (the
    // copy a read tries first is chosen at random), that copy is rewritten.
    const repaired = () => holds(cluster!.chunkFile(parts[0].nodes[0], parts[0].chunkId), data.subarray(0, STRIPE));
    for (let i = 0; i < 30 && !(await repaired()); i++) {
      const first = await cluster.controller.readRange(cluster.controller.snapshot('/rot'), 0, STRIPE);
      assert.ok(first.equals(data.subarray(0, STRIPE)));
      await new Promise((r) => setTimeout(r, 20));
    }
    await waitUntil(() => repaired().catch(() => false), 'the corrupt copy is rewritten', 5_000);
  });

  it('refuses a sound chunk file under another part\'s name, reads the other copy and repairs it', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const data = testBytes(3 * STRIPE, 'swap');
    await cluster.controller.writeFile('/swap', data);
    const { parts } = cluster.controller.snapshot('/swap');
    // Part 1's chunk file (header and bytes consistent, so its node finds nothing wrong)
    // replaces one copy of part 0: only the controller's digest check can catch it.
    const victim = cluster.chunkFile(parts[0].nodes[0], parts[0].chunkId);
    await fs.copyFile(cluster.chunkFile(parts[1].nodes[0], parts[1].chunkId), victim);
    const repaired = () => holds(victim, data.subarray(0, STRIPE));
    for (let i = 0; i < 30 && !(await repaired()); i++) {
      assert.ok((await cluster.controller.readFile('/swap')).equals(data), `read ${i} is byte-exact`);
    }
    await waitUntil(() => repaired().catch(() => false), 'the swapped copy is rewritten', 5_000);
  });

  it('rewrites a copy its node cannot read (an I/O error) from the other copy when a read comes across it', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const data = testBytes(3 * STRIPE, 'eio');
    await c.controller.writeFile('/eio', data);
    const [part] = c.controller.snapshot('/eio').parts;
    const sick = part.nodes[0];
    const file = c.chunkFile(sick, part.chunkId);
    const chunkCount = () => c.controller.nodes().find((n) => n.id === sick)?.chunkCount;
    const countBefore = chunkCount();
    // A name the node cannot open (a symlink to itself: ELOOP), answered as an I/O
    // error, as EIO from a bad sector would be; a rewrite can replace it.
    await fs.rm(file);
    await fs.symlink(path.basename(file), file);
    const expected = data.subarray(0, part.size);
    await readPartUntil(c, '/eio', 0, expected, () => c.holdsCopy(sick, part.chunkId, expected));
    await waitUntil(() => c.holdsCopy(sick, part.chunkId, expected), 'the unreadable copy is rewritten', 5_000);
    assert.deepEqual(c.controller.snapshot('/eio').parts[0].nodes, part.nodes, 'rewritten in place: the part keeps its copies');
    assert.equal(chunkCount(), countBefore, 'the node counts the rewritten chunk once');
  });

  it('has a copy its node can neither read nor rewrite (a directory under its name) made on another node when a read comes across it', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const data = testBytes(3 * STRIPE, 'isdir');
    await c.controller.writeFile('/isdir', data);
    const [part] = c.controller.snapshot('/isdir').parts;
    const sick = part.nodes[0];
    // Reading it fails (EISDIR), and so does renaming a rewritten file over it.
    await fs.rm(c.chunkFile(sick, part.chunkId));
    await fs.mkdir(c.chunkFile(sick, part.chunkId));
    const movedOff = () => !c.controller.snapshot('/isdir').parts[0].nodes.includes(sick);
    const expected = data.subarray(0, part.size);
    await readPartUntil(c, '/isdir', 0, expected, movedOff);
    // Repair waits a minute for a node that is down, scrub a day: only the read can have asked for this.
    await waitUntil(() => movedOff() && c.controller.status().parts.underReplicated === 0, 'the copy is made on another node', 5_000);
    const moved = c.controller.snapshot('/isdir').parts[0];
    assert.equal(moved.nodes.length, 2);
    const made = moved.nodes.find((id) => !part.nodes.includes(id));
    assert.ok(made && await c.holdsCopy(made, part.chunkId, expected), `the new copy on ${made} holds the part`);
    assert.ok((await c.controller.readFile('/isdir')).equals(data));
  });

  it('holds at most 16 MiB for read repairs when a node answers every read with a bad copy, and has a repair pass rewrite those it left', async (t) => {
    const part = 1 << 20;
    const data = testBytes(96 * part, 'bad-node'); // before the cluster: making it holds the event loop for seconds
    cluster = await TestCluster.start({ nodes: 2, controller: { stripeSize: part, cacheBytes: 1, requestTimeoutMs: 60_000 } });
    const c = cluster;
    await c.controller.writeFile('/big', data);
    await c.killNode(0);
    await c.waitUntilDown(0);
    // Every copy it holds reads as corrupt; it acknowledges no rewrite until the gate
    // opens. It reports as many chunks as it should hold, so no scrub starts.
    let gate: Array<() => void> | undefined = [];
    const bad = await HandDrivenNode.start(c.controller.endpoint, c.nodeId(0), (m) => {
      if (m.kind === 'getChunk') return { error: { code: ErrorCode.CHECKSUM_MISMATCH, reason: 'corrupt, says the hand-driven node' } };
      if (m.kind !== 'storeChunk') return undefined;
      const ack = { storeChunkAck: { chunkId: bodyOf(m.envelope, 'storeChunk').chunkId } };
      return gate ? new Promise((resolve) => gate!.push(() => resolve(ack))) : ack;
    }, c.controller.snapshot('/big').parts.length);
    try {
      await c.controller.waitForNodes(2, 10_000);
      // Repair looks for parts once at its first tick after start-up (10 s), then only
      // when nodes are lost or drained: past that look, only the reads can ask for a pass.
      await waitUntil(() => c.controller.status().repair.passes > 0, 'the repair check after start-up is done', 20_000);
      assert.ok((await c.controller.readFile('/big')).equals(data), 'read from the good copies');
      const metrics = PrometheusText.parse(await c.controller.metrics.scrape());
      const held = metrics.value('raidfs_read_repair_held_bytes');
      const left = metrics.value('raidfs_read_repair_deferred_total');
      const badReads = bad.received.get('getChunk') ?? 0;
      t.diagnostic(`${badReads} bad copies read; rewrites hold ${held} bytes; ${left} left to a repair pass`);
      assert.ok(badReads > 2 * READ_REPAIR_MAX_BYTES / part, `reads tried the bad node first ${badReads} times`);
      assert.ok(held <= READ_REPAIR_MAX_BYTES, `read repairs hold ${held} bytes`);
      assert.equal(held / part + left, badReads, 'each bad copy read is being rewritten or left to a repair pass');
      assert.ok(c.controller.status().parts.underReplicated > 0, 'the copies read bad are recorded bad');
      // The node takes rewrites again; scrub runs once a day.
      const waiting = gate;
      gate = undefined;
      waiting.forEach((ack) => ack());
      await waitUntil(() => c.controller.status().parts.underReplicated === 0, 'every copy the reads found bad is rewritten', 20_000);
      assert.ok(c.controller.snapshot('/big').parts.every((p) => Object.keys(p.faults).length === 0 && p.nodes.includes(c.nodeId(0))),
        'rewritten in place: every part keeps its copy on the node');
    } finally {
      bad.stop();
    }
  });

  it('a reader holding a version for long reads the copies repair made after both of its part\'s holders died', async () => {
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const data = testBytes(4 * STRIPE, 'long-held');
    await cluster.controller.writeFile('/long', data);
    // A program opens the file (the mount holds this snapshot until it closes it).
    const snapshot = cluster.controller.snapshot('/long');
    const pin = cluster.controller.hold(snapshot);
    const [first, second] = snapshot.parts[0].nodes.map((id) => cluster!.indexOf(id));
    await cluster.killNode(first);
    await cluster.waitUntilDown(first);
    const repair = await cluster.controller.repair();
    assert.deepEqual([repair.failed, repair.copiesMade > 0], [0, true], JSON.stringify(repair));
    await cluster.killNode(second);
    await cluster.waitUntilDown(second);
    // Both nodes the snapshot lists for part 0 are down; the copies repair made are not.
    assert.ok(snapshot.parts[0].nodes.every((id) => !cluster!.controller.registry.isAlive(id)));
    assert.ok((await cluster.controller.readRange(snapshot, 0, data.length)).equals(data));
    pin.release();
  });

  it('serves its chunks again after a node restarts on the same data directory', async () => {
    cluster = await TestCluster.start({ nodes: 2, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const data = testBytes(4 * STRIPE + 3, 'restart');
    await cluster.controller.writeFile('/r', data);
    await cluster.killNode(0);
    await cluster.killNode(1);
    await assert.rejects(cluster.controller.readFile('/r'), (err: { code: string }) => ['EUNAVAIL', 'EIO'].includes(err.code));
    assert.deepEqual(cluster.controller.registry.aliveIds(), [], 'unreachable nodes are counted down at once');
    cluster.startNode(0);
    cluster.startNode(1);
    await cluster.controller.waitForNodes(2, 10_000);
    assert.ok((await cluster.controller.readFile('/r')).equals(data));
    assert.equal(cluster.controller.nodes().find((n) => n.id === 'node1')?.chunkCount, 5, 'node re-counted its 5 chunks');
  });

  it('reads parts stored under a larger stripe size after a restart with a smaller one', async () => {
    const bigStripe = 4 * 1024 * 1024;
    cluster = await TestCluster.start({ nodes: 2, controller: { stripeSize: bigStripe, cacheBytes: 1 } });
    const data = testBytes(2 * bigStripe + 5, 'stripes');
    await cluster.controller.writeFile('/s', data);
    await cluster.restartController({ stripeSize: STRIPE, cacheBytes: 1 });
    assert.ok((await cluster.controller.readFile('/s')).equals(data));
    assert.deepEqual(cluster.controller.registry.aliveIds(), ['node1', 'node2'], 'no node was dropped for sending a large part');
  });

  it('places copies on nodes with room when one node is full, and fails with ENOSPC when none has room', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE }, capacities: [10 * STRIPE, 10 * STRIPE, 100 * 1024] });
    const small = testBytes(2 * STRIPE, 'fits');
    await cluster.controller.writeFile('/fits', small);
    assert.ok((await cluster.controller.readFile('/fits')).equals(small));
    await assert.rejects(cluster.controller.writeFile('/huge', testBytes(30 * STRIPE, 'huge')), { code: 'ENOSPC' });
    assert.throws(() => cluster!.controller.stat('/huge'), { code: 'ENOENT' });
    await cluster.controller.collectGarbage();
    const counts = cluster.controller.nodes().map((n) => n.chunkCount);
    assert.equal(counts.reduce((a, b) => a + b, 0), 4, `only the 2 parts x 2 copies of /fits remain (${counts})`);
  });
});
