/**
 * Node failures against a real cluster: kill -9 and SIGSTOP (a hung node) of real
 * node processes. Reads and writes carry on without waiting out deadlines (a killed
 * node is counted down the moment its connection closes, a hung one once it misses
 * heartbeats), repair restores two copies of every part, and a node that comes back
 * with stale copies gets them deleted (a file deleted meanwhile stays deleted); one
 * that comes back with chunks lost (an empty disk under its identity) is scrubbed as
 * it registers, one back whole is not. The figures (time to repair, longest call,
 * time to rewrite lost copies) are printed as test diagnostics. Nodes driven by hand
 * (hand-driven-node.ts) hold their acks on cue, so that a copy is acknowledged by a
 * node forgotten before the part's other new copy is.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { bodyOf, Message } from '../src/wire/messages';
import { TestCluster } from './helpers/cluster';
import { testBytes, waitUntil } from './helpers/data';
import { HandDrivenNode } from './helpers/hand-driven-node';
import { PrometheusText } from './helpers/prometheus-text';

const STRIPE = 64 * 1024;

interface TestFile {
  path: string;
  data: Buffer;
}

async function writeFiles(cluster: TestCluster, count: number, prefix: string): Promise<TestFile[]> {
  const files = Array.from({ length: count }, (_, i) => ({ path: `/${prefix}${i}`, data: testBytes(3 * STRIPE + i * 40_000 + 11, `${prefix}${i}`) }));
  for (const f of files) await cluster.controller.writeFile(f.path, f.data);
  return files;
}

/** Reads every file back byte-exact; resolves with the longest single read in ms. */
async function readAll(cluster: TestCluster, files: readonly TestFile[]): Promise<number> {
  let longest = 0;
  for (const f of files) {
    const started = Date.now();
    assert.ok((await cluster.controller.readFile(f.path)).equals(f.data), `${f.path} reads back byte-exact`);
    longest = Math.max(longest, Date.now() - started);
  }
  return longest;
}

function partsOf(cluster: TestCluster, files: readonly TestFile[]) {
  return files.flatMap((f) => cluster.controller.snapshot(f.path).parts);
}

/** The copies of `files`' parts that node `nodeId` holds, each with the bytes it holds. */
function copiesOn(cluster: TestCluster, files: readonly TestFile[], nodeId: string): Array<{ chunkId: string; bytes: Buffer }> {
  return files.flatMap((f) => cluster.controller.snapshot(f.path).parts
    .filter((p) => p.nodes.includes(nodeId))
    .map((p) => ({ chunkId: p.chunkId, bytes: f.data.subarray(p.offset, p.offset + p.size) })));
}

/** Resolves once node `nodeId` holds every one of `copies` again (a node's scrub rewrote them); fails after 15 s. */
function untilHeldAgain(cluster: TestCluster, nodeId: string, copies: ReadonlyArray<{ chunkId: string; bytes: Buffer }>): Promise<void> {
  return waitUntil(async () => (await Promise.all(copies.map((copy) => cluster.holdsCopy(nodeId, copy.chunkId, copy.bytes)))).every(Boolean),
    `${nodeId} holds its ${copies.length} lost copies again`, 15_000);
}

/** The verify requests (scrub's) the controller has sent to nodes so far. */
async function verifyRequests(cluster: TestCluster): Promise<number> {
  const metrics = PrometheusText.parse(await cluster.controller.metrics.scrape());
  return metrics.samples('raidfs_node_request_duration_seconds_count', { kind: 'verifyChunks' }).reduce((sum, s) => sum + s.value, 0);
}

describe('node loss, hung nodes and repair', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => { await cluster?.stop(); cluster = undefined; });

  /** Starts 4 nodes and stores (not commits) an upload of 6 stripes to /late; `node` holds a copy of its first part. */
  async function storeLateUpload() {
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, cacheBytes: 1, repairGraceMs: 1_000 } });
    const data = testBytes(6 * STRIPE, 'late');
    const draft = await cluster.controller.storeDraft([data]);
    return { c: cluster, data, draft, node: draft.parts[0].nodes[0] };
  }

  it('repairs to two copies after kill -9 of a node, and the node coming back resurrects nothing', async (t) => {
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, cacheBytes: 1, repairGraceMs: 1_000 } });
    const c = cluster;
    const files = await writeFiles(c, 8, 'f');
    const [doomed] = await writeFiles(c, 1, 'deleted-while-down');
    const victim = c.nodeId(0);
    const lostParts = partsOf(c, files).filter((p) => p.nodes.includes(victim)).length;
    assert.ok(lostParts > 0, 'the victim holds copies');

    await c.killNode(0);
    const killedAt = Date.now();
    const longestRead = await readAll(c, files);
    c.controller.remove(doomed.path);
    await waitUntil(() => c.controller.status().parts.underReplicated === 0 && c.controller.status().nodesDown === 1, 'every part has two live copies');
    const repairMs = Date.now() - killedAt;
    t.diagnostic(`kill -9 of 1 of 4 nodes: ${lostParts} parts re-replicated ${repairMs} ms after the kill (grace 1 s); longest read ${longestRead} ms`);

    for (const part of partsOf(c, files)) {
      assert.equal(part.nodes.length, 2);
      assert.ok(!part.nodes.includes(victim), 'no copy is counted on the lost node');
      assert.ok(part.nodes.every((id) => c.controller.registry.isAlive(id)));
    }
    const repair = c.controller.status().repair;
    assert.ok(repair.passes > 0 && (repair.last?.copiesMade ?? 0) + (repair.current?.copiesMade ?? 0) >= 0);

    // The node comes back with its stale copies: all of them (moved parts, the deleted file) get deleted.
    c.startNode(0);
    await c.controller.waitForNodes(4, 15_000);
    await waitUntil(async () => { await c.controller.collectGarbage(); return (await c.chunkFiles(0)).length === 0; }, 'the returning node holds no stale copy');
    assert.throws(() => c.controller.stat(doomed.path), { code: 'ENOENT' });
    assert.equal(c.controller.list('/').length, files.length);
    await readAll(c, files);
  });

  it('kill -9 of a node counts it down the moment its connection closes: reads and writes waiting on it move on at once', async (t) => {
    // Deadlines far beyond what the test allows: only the lost connection can end the waits.
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, cacheBytes: 1, nodeTimeoutMs: 60_000, requestTimeoutMs: 60_000 } });
    const c = cluster;
    const files = await writeFiles(c, 6, 'k');
    // Stopped first, so that requests sent to it wait: reads of its copies (each part's
    // first replica is drawn at random) and the copies of a write placed on it.
    c.nodes[0].kill('SIGSTOP');
    const reads = Promise.all(files.map(async (f) => assert.ok((await c.controller.readFile(f.path)).equals(f.data), `${f.path} reads back byte-exact`)));
    const written = testBytes(5 * STRIPE + 3, 'written-meanwhile');
    const calls = Promise.all([reads, c.controller.writeFile('/written-meanwhile', written)]);
    calls.catch(() => undefined); // awaited below; should an assertion fail first, stopping the cluster ends them
    await new Promise((resolve) => setTimeout(resolve, 300));
    const killedAt = Date.now();
    await c.killNode(0);
    await c.waitUntilDown(0, 5_000);
    const downMs = Date.now() - killedAt;
    await calls;
    const doneMs = Date.now() - killedAt;
    t.diagnostic(`kill -9 of a stopped node: counted down ${downMs} ms after the kill, its waiting reads and writes done ${doneMs} ms after it (node timeout and request deadline 60 s)`);
    assert.ok(doneMs < 5_000, `the calls waiting on the killed node ended ${doneMs} ms after the kill`);
    assert.ok((await c.controller.readFile('/written-meanwhile')).equals(written));
    assert.ok(c.controller.snapshot('/written-meanwhile').parts.every((p) => !p.nodes.includes(c.nodeId(0))), 'no copy is counted on the killed node');
  });

  it('a hung node (SIGSTOP) holds no read or write longer than the node timeout', async (t) => {
    // Live nodes heartbeat every second: 2.5 s leaves the two that are not stopped room to be late on a loaded machine.
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1, nodeTimeoutMs: 2_500, requestTimeoutMs: 10_000 } });
    const c = cluster;
    const files = await writeFiles(c, 6, 'h');
    c.nodes[0].kill('SIGSTOP');
    try {
      const longestRead = await readAll(c, files);
      let longestWrite = 0;
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const data = testBytes(2 * STRIPE + i, `w${i}`);
        await c.controller.writeFile(`/w${i}`, data);
        longestWrite = Math.max(longestWrite, Date.now() - started);
        assert.ok((await c.controller.readFile(`/w${i}`)).equals(data));
      }
      t.diagnostic(`SIGSTOP of 1 of 3 nodes: longest read ${longestRead} ms, longest write ${longestWrite} ms (node timeout 2.5 s, request deadline 10 s)`);
      assert.ok(longestRead < 7_000 && longestWrite < 7_000, 'no call waited out the 10 s request deadline');
      assert.equal(c.controller.status().nodesDown, 1);
    } finally {
      c.nodes[0].kill('SIGCONT');
    }
    await waitUntil(() => c.controller.registry.isAlive(c.nodeId(0)), 'the node is up again after SIGCONT');
    await readAll(c, files);
  });

  it('repair now (raidfs repair) copies the parts of a down node without waiting for the grace period', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, repairGraceMs: 3_600_000 } });
    const c = cluster;
    const files = await writeFiles(c, 4, 'r');
    const onVictim = partsOf(c, files).filter((p) => p.nodes.includes(c.nodeId(2))).length;
    await c.killNode(2);
    await c.waitUntilDown(2);
    assert.equal(c.controller.status().parts.underReplicated, onVictim, 'status counts the parts missing a live copy');
    const report = await c.controller.repair();
    assert.deepEqual(report.lostNodes, [c.nodeId(2)]);
    assert.equal(report.underReplicated, onVictim);
    assert.equal(report.copiesMade, onVictim);
    assert.equal(report.failed, 0);
    assert.equal(c.controller.status().parts.underReplicated, 0);
    await readAll(c, files);
    // With 2 of 3 nodes left, a second loss leaves nowhere to copy to: the report says so.
    await c.killNode(1);
    await c.waitUntilDown(1);
    const stuck = await c.controller.repair();
    assert.ok(stuck.failed > 0 && /every live node that takes new copies \(not being drained\) holds one already/.test(stuck.errors[0]), JSON.stringify(stuck));
    await readAll(c, files);
  });

  it('moves copies that an upload under way when a drain began committed to the draining node', async () => {
    // The upload stores its parts, then the drain begins and finds nothing to move
    // (the parts are not committed yet), then the upload commits.
    const { c, data, draft, node: draining } = await storeLateUpload();
    const drain = await c.controller.drainNode(draining);
    assert.equal(drain.underReplicated, 0, JSON.stringify(drain));
    // The drain's answer counts them as left on the node, not yet committed.
    const onDraining = draft.parts.filter((p) => p.nodes.includes(draining)).length;
    assert.deepEqual([drain.partsLeft, drain.uncommittedCopiesLeft], [0, onDraining], JSON.stringify(drain));
    c.controller.commitDraft('/late', draft);
    assert.ok(c.controller.status().parts.toMoveOffDraining > 0);
    // The background pass (every 250 ms with this grace) moves them.
    await waitUntil(() => c.controller.status().parts.toMoveOffDraining === 0, 'the late copies are moved off the draining node');
    const { parts } = c.controller.snapshot('/late');
    assert.ok(parts.every((p) => p.nodes.length === 2 && !p.nodes.includes(draining)), JSON.stringify(parts.map((p) => p.nodes)));
    assert.ok((await c.controller.readFile('/late')).equals(data));
  });

  it('records no copy on a node forgotten while an upload stored one there, and makes it elsewhere', async () => {
    // The upload stores its parts; then one of its nodes dies and is forgotten (no
    // committed part needs it); then the upload commits.
    const { c, data, draft, node: gone } = await storeLateUpload();
    const index = [0, 1, 2, 3].find((i) => c.nodeId(i) === gone)!;
    await c.killNode(index);
    await c.waitUntilDown(index);
    assert.equal((await c.controller.forgetNode(gone)).copiesForgotten, 0);
    c.controller.commitDraft('/late', draft);
    assert.ok(c.controller.snapshot('/late').parts.every((p) => !p.nodes.includes(gone)), 'no copy recorded on the forgotten node');
    // The commit asked repair for the copies left out.
    await waitUntil(() => c.controller.snapshot('/late').parts.every((p) => p.nodes.length === 2), 'every part has two copies again');
    assert.equal(c.controller.status().parts.underReplicated, 0);
    assert.ok((await c.controller.readFile('/late')).equals(data));
  });

  it('drops no copy for a repair copy made on a node forgotten while it was being stored', async () => {
    // Both real nodes hold every part and both drain, so each part needs two new copies:
    // on the only other nodes, two driven by hand. `quick` acknowledges its copies at
    // once, goes quiet, is counted down and forgotten; only then does `slow` acknowledge
    // its copies, and the part's copies are recorded. (quick has no request waiting
    // when it is counted down, so no timing decides what the test sees.)
    cluster = await TestCluster.start({ nodes: 2, controller: { stripeSize: STRIPE, requestTimeoutMs: 30_000 } });
    const c = cluster;
    const files = await writeFiles(c, 2, 'd');
    const [first, second] = [c.nodeId(0), c.nodeId(1)];
    const copy = (m: Message) => ({ storeChunkAck: { chunkId: bodyOf(m.envelope, 'storeChunk').chunkId } });
    const held: Array<() => void> = [];
    const quick = await HandDrivenNode.start(c.controller.endpoint, 'quick', (m) => (m.kind === 'storeChunk' ? copy(m) : undefined));
    const slow = await HandDrivenNode.start(c.controller.endpoint, 'slow', (m) => {
      if (m.kind !== 'storeChunk') return undefined;
      if (held.length === 2) return copy(m); // the parts after the first two
      return new Promise((resolve) => held.push(() => resolve(copy(m))));
    });
    try {
      await c.controller.waitForNodes(4, 10_000);
      const onDraining = partsOf(c, files).length;
      c.controller.registry.setDraining(second, true);
      const drain = c.controller.drainNode(first);
      drain.catch(() => undefined); // awaited below
      // Repair copies 2 parts at a time: both wait for slow's acks.
      await waitUntil(() => held.length === 2 && quick.received.get('storeChunk') === 2, 'two parts are being copied to quick and slow');
      quick.stopHeartbeats();
      await waitUntil(() => !c.controller.registry.isAlive('quick'), 'quick is counted down');
      assert.equal((await c.controller.forgetNode('quick')).copiesForgotten, 0);
      held.forEach((ack) => ack());
      const report = await drain;
      // The two parts lost their copy on quick; the others found only slow to copy to.
      assert.equal(report.failed, onDraining, JSON.stringify(report));
      assert.equal(report.errors.filter((e) => /forgotten/.test(e)).length, 2, JSON.stringify(report.errors));
      for (const part of partsOf(c, files)) {
        assert.equal(part.nodes.length, 2, JSON.stringify(part.nodes));
        assert.ok(part.nodes.includes('slow') && !part.nodes.includes('quick'), JSON.stringify(part.nodes));
      }
    } finally {
      quick.stop();
      slow.stop();
    }
    // slow stored nothing: its copies are lost with it. Two real nodes join, and a
    // pass makes every part's two copies there from the draining nodes.
    c.startNode(2);
    c.startNode(3);
    await waitUntil(() => [2, 3].every((i) => c.controller.registry.isAlive(c.nodeId(i))) && !c.controller.registry.isAlive('slow'), 'the new nodes are up and slow is down');
    const again = await c.controller.repair();
    assert.equal(again.failed, 0, JSON.stringify(again));
    assert.equal(c.controller.status().parts.toMoveOffDraining, 0);
    for (const part of partsOf(c, files)) assert.deepEqual([...part.nodes].sort(), [c.nodeId(2), c.nodeId(3)]);
    await readAll(c, files);
  });

  it('a node back with an empty disk under its own identity is scrubbed as it registers: its copies are rewritten at once, not at the next scrub', async (t) => {
    // Repair waits a minute for a node that is down, scrub a day: neither brings the copies back in this test's time.
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const files = await writeFiles(c, 8, 'e');
    const wiped = c.nodeId(0);
    const lost = copiesOn(c, files, wiped);
    assert.ok(lost.length > 0, `${wiped} holds copies`);
    await c.killNode(0);
    await c.waitUntilDown(0);
    // A new disk: every chunk is gone; the node's identity and cluster id are kept.
    await fs.rm(path.join(c.nodeDir(0), 'chunks'), { recursive: true });

    const startedAt = Date.now();
    c.startNode(0);
    await c.controller.waitForNodes(3, 10_000);
    const registeredAt = Date.now();
    await untilHeldAgain(c, wiped, lost);
    const restoredAt = Date.now();
    t.diagnostic(`${lost.length} copies lost on ${wiped}: back ${restoredAt - startedAt} ms after its process started, `
      + `${restoredAt - registeredAt} ms after it registered (polled every 100 ms)`);
    assert.equal(c.controller.status().parts.underReplicated, 0);
    for (const part of partsOf(c, files)) assert.equal(part.nodes.length, 2);
    await readAll(c, files);
  });

  it('scrubs a node back with fewer chunks than it should hold even when doomed copies it kept make up the count, and not one back whole', async (t) => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const kept = await writeFiles(c, 8, 'kept');
    const removed = await writeFiles(c, 2, 'removed');
    const node = c.nodeId(0);
    const restart = async () => {
      c.startNode(0);
      await c.controller.waitForNodes(3, 10_000);
    };

    // Back with every chunk it had: no scrub of it.
    await c.killNode(0);
    await c.waitUntilDown(0);
    await restart();
    await sleep(1_000);
    assert.equal(await verifyRequests(c), 0, 'a node back whole is not scrubbed');

    // Down again, files are removed: their copies on it are doomed, to be deleted once it
    // is back. It loses as many of its other copies: it holds as many chunks as the
    // metadata records copies on it.
    await c.killNode(0);
    await c.waitUntilDown(0);
    const doomed = partsOf(c, removed).filter((p) => p.nodes.includes(node)).length;
    for (const f of removed) c.controller.remove(f.path);
    assert.ok(doomed > 0, `${node} held copies of the removed files`);
    const lost = copiesOn(c, kept, node).slice(0, doomed);
    assert.equal(lost.length, doomed, `${node} holds at least ${doomed} other copies`);
    for (const copy of lost) await fs.rm(c.chunkFile(node, copy.chunkId));

    const startedAt = Date.now();
    await restart();
    await untilHeldAgain(c, node, lost);
    t.diagnostic(`${lost.length} copies lost on ${node}, hidden in its count by ${doomed} doomed copies: back ${Date.now() - startedAt} ms after its process started`);
    assert.ok(await verifyRequests(c) > 0);
    assert.equal(c.controller.status().parts.underReplicated, 0);
    await readAll(c, kept);
  });
});
