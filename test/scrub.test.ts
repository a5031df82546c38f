/**
 * Scrub and orphan collection on a real cluster: bit-flipped, truncated and deleted
 * chunk files, and one holding another chunk, are found and rewritten from the good
 * copy; a chunk file that cannot be read does not stop the scrub of its node; a bad
 * copy that cannot be rewritten (its node's disk is full, or its file is no file) is
 * re-replicated elsewhere, and one with no good copy to rewrite it from is kept and
 * recorded bad (missing, corrupt; a read records one it cannot read as unreadable), so
 * that status counts its part damaged or unavailable, the error saying each copy's
 * reason, until a copy is rewritten or checks good again; chunks no file
 * refers to are deleted, and never the parts of an upload still under way, nor the
 * copies a repair is making; one collector pass deletes every copy that is due.
 */
import assert from 'node:assert/strict';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, it } from 'node:test';
import { TestCluster } from './helpers/cluster';
import { testBytes, waitUntil } from './helpers/data';
import { newChunkId } from '../src/wire/chunk-id';

const STRIPE = 64 * 1024;
const HEADER = 48;

describe('scrub and orphan collection', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => { await cluster?.stop(); cluster = undefined; });

  it('rewrites bit-flipped, truncated and deleted copies and deletes orphans', async (t) => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const data = testBytes(5 * STRIPE + 99, 'scrub');
    await c.controller.writeFile('/a', data);
    const { parts } = c.controller.snapshot('/a');
    const flipped = c.chunkFile(parts[0].nodes[0], parts[0].chunkId);
    const bytes = await fs.readFile(flipped);
    bytes[HEADER + 1234] ^= 0x01;
    await fs.writeFile(flipped, bytes);
    await fs.truncate(c.chunkFile(parts[1].nodes[0], parts[1].chunkId), HEADER + 10);
    await fs.rm(c.chunkFile(parts[2].nodes[1], parts[2].chunkId));
    // A leftover of a crash mid-write: a complete, valid chunk that no file refers to.
    const orphan = c.chunkFile(parts[3].nodes[0], newChunkId());
    await fs.mkdir(orphan.slice(0, orphan.lastIndexOf('/')), { recursive: true });
    await fs.copyFile(c.chunkFile(parts[3].nodes[0], parts[3].chunkId), orphan);

    const report = await c.controller.scrub();
    t.diagnostic(`scrub: ${JSON.stringify(report)}`);
    assert.equal(report.nodesScrubbed, 3);
    assert.equal(report.corrupt, 2);
    assert.equal(report.missing, 1);
    assert.equal(report.rewritten, 3);
    assert.equal(report.orphans, 1);
    assert.equal(report.chunksVerified, parts.length * 2 - 1);
    for (const [i, nodeId] of [[0, parts[0].nodes[0]], [1, parts[1].nodes[0]], [2, parts[2].nodes[1]]] as const) {
      const restored = await fs.readFile(c.chunkFile(nodeId, parts[i].chunkId));
      assert.ok(restored.subarray(HEADER).equals(data.subarray(parts[i].offset, parts[i].offset + parts[i].size)), `part ${i} rewritten`);
    }
    await c.controller.collectGarbage();
    await assert.rejects(fs.stat(orphan), { code: 'ENOENT' });
    const again = await c.controller.scrub();
    assert.deepEqual([again.corrupt, again.missing, again.orphans], [0, 0, 0]);
    assert.ok((await c.controller.readFile('/a')).equals(data));
  });

  it('goes on past a copy it cannot read: finds the bad copies after it and the orphans, and moves that copy elsewhere', async (t) => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const data = testBytes(12 * STRIPE, 'unreadable');
    await c.controller.writeFile('/u', data);
    const sick = c.nodeId(0);
    const parts = c.controller.snapshot('/u').parts;
    const onSick = parts.filter((p) => p.nodes.includes(sick)).sort((a, b) => a.chunkId.localeCompare(b.chunkId));
    assert.ok(onSick.length >= 3, `${sick} holds ${onSick.length} parts`);
    const [unreadable, truncated] = [onSick[0], onSick.at(-1)!];
    // The first copy scrub reads on the node is a directory: reading it fails (EISDIR)
    // as a bad sector's EIO would, and writing its rewrite there fails too.
    await fs.rm(c.chunkFile(sick, unreadable.chunkId));
    await fs.mkdir(c.chunkFile(sick, unreadable.chunkId));
    await fs.truncate(c.chunkFile(sick, truncated.chunkId), HEADER + 10);
    const orphan = c.chunkFile(sick, newChunkId());
    await fs.mkdir(path.dirname(orphan), { recursive: true });
    await fs.copyFile(c.chunkFile(truncated.nodes.find((n) => n !== sick)!, truncated.chunkId), orphan);

    const report = await c.controller.scrub();
    t.diagnostic(`scrub: ${JSON.stringify(report)}`);
    assert.deepEqual(report.errors, []);
    assert.equal(report.nodesScrubbed, 3);
    assert.deepEqual([report.corrupt, report.missing, report.rewritten, report.dropped, report.orphans], [2, 0, 1, 1, 1]);
    const rewritten = await fs.readFile(c.chunkFile(sick, truncated.chunkId));
    assert.ok(rewritten.subarray(HEADER).equals(data.subarray(truncated.offset, truncated.offset + truncated.size)), 'the copy after it is rewritten');
    await waitUntil(() => c.controller.status().parts.underReplicated === 0, 're-replication makes the unreadable copy elsewhere');
    const moved = c.controller.snapshot('/u').parts.find((p) => p.chunkId === unreadable.chunkId)!;
    assert.equal(moved.nodes.length, 2);
    assert.ok(!moved.nodes.includes(sick), 'the copy moved off the node that could not read it');
    // The node cannot delete the dropped copy (it is no file) either, and that keeps no other delete.
    await c.controller.collectGarbage();
    await assert.rejects(fs.stat(orphan), { code: 'ENOENT' });
    assert.ok((await c.controller.readFile('/u')).equals(data));
  });

  it('finds a copy that holds another chunk (a chunk file copied over another) and rewrites it', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const data = testBytes(6 * STRIPE, 'swapped');
    await c.controller.writeFile('/w', data);
    const nodeId = c.nodeId(0);
    const [source, target] = c.controller.snapshot('/w').parts.filter((p) => p.nodes.includes(nodeId));
    assert.ok(target, `${nodeId} holds two parts`);
    // A valid chunk file, header and bytes, under another chunk's name.
    await fs.copyFile(c.chunkFile(nodeId, source.chunkId), c.chunkFile(nodeId, target.chunkId));

    const report = await c.controller.scrub();
    assert.deepEqual([report.corrupt, report.missing, report.rewritten, report.dropped], [1, 0, 1, 0]);
    const rewritten = await fs.readFile(c.chunkFile(nodeId, target.chunkId));
    assert.ok(rewritten.subarray(HEADER).equals(data.subarray(target.offset, target.offset + target.size)), 'its own bytes are back');
    const again = await c.controller.scrub();
    assert.deepEqual([again.corrupt, again.missing], [0, 0]);
    assert.ok((await c.controller.readFile('/w')).equals(data));
  });

  it('keeps both copies of a part whose every copy is corrupt, and says so, instead of dropping one', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    await c.controller.writeFile('/both', testBytes(3 * STRIPE, 'both-bad'));
    const [part] = c.controller.snapshot('/both').parts;
    // A different byte flipped in each copy: together they still hold every byte.
    for (const [i, nodeId] of part.nodes.entries()) {
      const file = c.chunkFile(nodeId, part.chunkId);
      const bytes = await fs.readFile(file);
      bytes[HEADER + 10 + i] ^= 0x40;
      await fs.writeFile(file, bytes);
    }
    const report = await c.controller.scrub();
    assert.deepEqual([report.corrupt, report.rewritten, report.dropped], [2, 0, 0]);
    assert.ok(report.errors.some((e) => e.includes(part.chunkId)), `the part is reported: ${report.errors.join('; ')}`);
    assert.deepEqual(c.controller.snapshot('/both').parts[0].nodes, part.nodes, 'the part keeps both copies');
    for (const nodeId of part.nodes) assert.ok(existsSync(c.chunkFile(nodeId, part.chunkId)), `the copy on ${nodeId} is still there`);
  });

  it('records copies that are bad with no good copy to rewrite them from: missing by scrub, unreadable by a read', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    await c.controller.writeFile('/gone', testBytes(3 * STRIPE, 'faults'));
    const [unreadable, missing] = c.controller.snapshot('/gone').parts;
    for (const nodeId of unreadable.nodes) {
      // A name its node cannot open (a symlink to itself: ELOOP), answered as an I/O error.
      const file = c.chunkFile(nodeId, unreadable.chunkId);
      await fs.rm(file);
      await fs.symlink(path.basename(file), file);
    }
    await assert.rejects(c.controller.readFile('/gone'), { code: 'EIO' });
    const faultsOf = (idx: number) => c.controller.snapshot('/gone').parts[idx].faults;
    assert.deepEqual(faultsOf(0), Object.fromEntries(unreadable.nodes.map((id) => [id, 'unreadable'])));
    assert.deepEqual(c.controller.status().parts.damaged, 1);

    for (const nodeId of missing.nodes) await fs.rm(c.chunkFile(nodeId, missing.chunkId));
    const report = await c.controller.scrub();
    assert.deepEqual(faultsOf(1), Object.fromEntries(missing.nodes.map((id) => [id, 'missing'])));
    // The node's check reports a file it cannot open as corrupt: what the read found more precisely stays.
    assert.deepEqual(faultsOf(0), Object.fromEntries(unreadable.nodes.map((id) => [id, 'unreadable'])));
    const { parts, damagedFiles } = c.controller.status();
    assert.deepEqual([parts.underReplicated, parts.unavailable, parts.damaged], [2, 2, 2]);
    assert.deepEqual(damagedFiles, [{ id: c.controller.stat('/gone').id, path: '/gone' }]);
    const reasons = missing.nodes.map((id) => `node ${id}: its copy is missing`);
    assert.ok(report.errors.some((e) => e.startsWith('/gone: part 1 ') && reasons.some((r) => e.includes(r))), report.errors.join('\n'));
  });

  it('says each copy\'s own reason when none serves (one corrupt, one on a node that is down), and repair rewrites the bad one once that node is back', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const data = testBytes(3 * STRIPE, 'one-down');
    await c.controller.writeFile('/half', data);
    const [part] = c.controller.snapshot('/half').parts;
    const [corrupt, down] = part.nodes;
    await c.killNode(c.indexOf(down));
    await c.waitUntilDown(c.indexOf(down));
    const file = c.chunkFile(corrupt, part.chunkId);
    const bytes = await fs.readFile(file);
    bytes[HEADER + 7] ^= 0x10;
    await fs.writeFile(file, bytes);

    const report = await c.controller.scrub();
    const error = report.errors.find((e) => e.includes(part.chunkId));
    assert.ok(error, report.errors.join('\n'));
    assert.match(error, new RegExp(`^/half: part 0 .*node ${corrupt}: its copy is corrupt; node ${down}: down$`));
    assert.deepEqual(c.controller.snapshot('/half').parts[0].faults, { [corrupt]: 'corrupt' });
    // Not damaged: the copy on the node that is down may be intact.
    const whileDown = c.controller.status().parts;
    assert.deepEqual([whileDown.unavailable, whileDown.damaged], [1, 0]);

    c.startNode(c.indexOf(down));
    await c.controller.waitForNodes(3, 10_000);
    const back = c.controller.status().parts;
    assert.deepEqual([back.unavailable, back.damaged], [0, 0]);
    assert.equal(back.underReplicated, 1, 'the part has one intact copy');
    const repair = await c.controller.repair();
    assert.deepEqual([repair.underReplicated, repair.rewritten, repair.copiesMade, repair.failed], [1, 1, 0, 0]);
    assert.ok(await c.holdsCopy(corrupt, part.chunkId, data.subarray(0, part.size)), 'rewritten in place');
    assert.deepEqual(c.controller.snapshot('/half').parts[0], { ...part, faults: {} });
    assert.equal(c.controller.status().parts.underReplicated, 0);
    assert.ok((await c.controller.readFile('/half')).equals(data));
  });

  it('re-replicates a bad copy elsewhere when its node has no room to rewrite it', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const data = testBytes(6 * STRIPE, 'full');
    await c.controller.writeFile('/f', data);
    const full = c.nodeId(0);
    const victim = c.controller.snapshot('/f').parts.find((p) => p.nodes.includes(full));
    assert.ok(victim, 'node1 holds a copy');
    // Restart node1 with a capacity of exactly what it uses: its disk is full.
    const used = (await Promise.all((await c.chunkFiles(0)).map((f) => fs.stat(f)))).reduce((sum, st) => sum + st.size, 0);
    await c.killNode(0);
    await c.waitUntilDown(0);
    c.startNode(0, used);
    await c.controller.waitForNodes(3, 10_000);
    await fs.truncate(c.chunkFile(full, victim.chunkId), 5);

    const report = await c.controller.scrub();
    assert.equal(report.corrupt, 1);
    assert.equal(report.rewritten, 0);
    assert.equal(report.dropped, 1);
    await waitUntil(() => c.controller.status().parts.underReplicated === 0, 're-replication restores two copies');
    const moved = c.controller.snapshot('/f').parts.find((p) => p.chunkId === victim.chunkId)!;
    assert.equal(moved.nodes.length, 2);
    assert.ok(!moved.nodes.includes(full), 'the copy moved off the full node');
    assert.ok((await c.controller.readFile('/f')).equals(data));
  });

  it('never takes the parts of an upload under way for orphans', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const data = testBytes(8 * STRIPE, 'slow');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    async function* slowSource(): AsyncGenerator<Buffer> {
      yield data.subarray(0, 4 * STRIPE);
      await gate;
      yield data.subarray(4 * STRIPE);
    }
    const upload = c.controller.writeFile('/slow', slowSource());
    const chunkCount = async () => (await Promise.all([0, 1, 2].map((i) => c.chunkFiles(i)))).flat().length;
    await waitUntil(async () => (await chunkCount()) >= 6, 'the first parts of the upload are stored');
    const report = await c.controller.scrub();
    assert.equal(report.orphans, 0, 'stored parts of the upload are not orphans');
    await c.controller.collectGarbage();
    release();
    await upload;
    assert.ok((await c.controller.readFile('/slow')).equals(data));
    assert.equal(await chunkCount(), 16, '8 parts x 2 copies, nothing deleted');
  });

  it('never dooms a copy that repair is making on a node left with a stray copy of it', async (t) => {
    // Repair copies at 128 KiB/s: each 64 KiB part waits half a second for its turn.
    // Doomed copies are deleted a second after they were doomed: after the copy
    // repair made in the meantime, not before it.
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE, cacheBytes: 1, deleteDelayMs: 1_000, repairBytesPerSecond: 2 * STRIPE } });
    const c = cluster;
    const data = testBytes(8 * STRIPE, 'stray');
    await c.controller.writeFile('/s', data);
    const lost = c.nodeId(0);
    const parts = c.controller.snapshot('/s').parts.filter((p) => p.nodes.includes(lost));
    assert.ok(parts.length >= 3, `${lost} holds ${parts.length} parts`);
    // Leftovers of an earlier try: each part's chunk already on the one node repair
    // can copy it to, where no file accounts for it (an orphan to scrub).
    for (const part of parts) {
      const keeper = part.nodes.find((n) => n !== lost)!;
      const target = [c.nodeId(1), c.nodeId(2)].find((n) => !part.nodes.includes(n))!;
      const stray = c.chunkFile(target, part.chunkId);
      await fs.mkdir(path.dirname(stray), { recursive: true });
      await fs.copyFile(c.chunkFile(keeper, part.chunkId), stray);
    }
    await c.killNode(0);
    await c.waitUntilDown(0);

    const repair = c.controller.repair();
    const scrub = await c.controller.scrub(); // while repair waits for its turns
    const first = await repair;
    t.diagnostic(`scrub: ${JSON.stringify(scrub)}; repair: ${JSON.stringify(first)}`);
    await sleep(1_000);
    await c.controller.collectGarbage();
    const holdersWithoutTheirCopy = () => c.controller.snapshot('/s').parts
      .flatMap((part) => part.nodes.filter((n) => n !== lost && !existsSync(c.chunkFile(n, part.chunkId))).map((n) => `${part.chunkId} on ${n}`));
    assert.deepEqual(holdersWithoutTheirCopy(), [], 'every copy the metadata records is on its node');

    // Parts whose stray copy scrub doomed first are copied once it is deleted.
    await sleep(1_000);
    await c.controller.collectGarbage();
    const second = await c.controller.repair();
    t.diagnostic(`repair again: ${JSON.stringify(second)}`);
    assert.equal(c.controller.status().parts.underReplicated, 0);
    assert.deepEqual(holdersWithoutTheirCopy(), []);
    assert.ok((await c.controller.readFile('/s')).equals(data));
  });

  it('deletes every due copy in one collector pass, however many: 3200 after a recursive delete', async () => {
    // Copies are due 2 s after their delete; the background pass runs every 2 s.
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, deleteDelayMs: 2_000 } });
    const c = cluster;
    c.controller.mkdir('/tree');
    for (let i = 0; i < 800; i++) await c.controller.writeFile(`/tree/f${i}`, testBytes(100, `tree${i}`));
    const parts = Array.from({ length: 800 }, (_, i) => c.controller.snapshot(`/tree/f${i}`).parts).flat();
    assert.equal(c.copiesOnDisk(parts).length, 3200, 'two halves of two copies per file');
    c.controller.remove('/tree', { recursive: true });
    await sleep(2_100);
    await c.controller.collectGarbage();
    assert.equal(c.copiesOnDisk(parts).length, 0, 'every copy due is deleted');
  });
});
