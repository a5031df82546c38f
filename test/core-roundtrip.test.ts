/**
 * The controller core against a real 4-node cluster: byte-exact round trips over the
 * whole range of part layouts, copies on distinct nodes, range reads and streaming.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestCluster } from './helpers/cluster';
import { collect, pieces, testBytes, waitUntil } from './helpers/data';

const STRIPE = 64 * 1024;

describe('core round trips (stripe 64 KiB, 4 nodes)', () => {
  let cluster: TestCluster;
  before(async () => { cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE } }); });
  after(async () => { await cluster?.stop(); });

  const cases: Array<[string, number, number[]]> = [
    ['empty', 0, []],
    ['1 byte', 1, [1]],
    ['odd small', 12_345, [6_173, 6_172]],
    ['exactly two stripes', 2 * STRIPE, [STRIPE, STRIPE]],
    ['two stripes + 1', 2 * STRIPE + 1, [STRIPE, STRIPE, 1]],
    ['several stripes, odd tail', 7 * STRIPE + 777, [...Array(7).fill(STRIPE), 777]],
  ];
  for (const [name, size, expectedParts] of cases) {
    it(`${name} (${size} bytes) reads back byte-exact with parts ${expectedParts.length}`, async () => {
      const data = testBytes(size, name);
      const path = `/rt-${size}.bin`;
      const entry = await cluster.controller.writeFile(path, pieces(data, 10_000));
      assert.equal(entry.size, size);
      assert.equal(cluster.controller.stat(path).size, size);
      const snapshot = cluster.controller.snapshot(path);
      assert.deepEqual(snapshot.parts.map((p) => p.size), expectedParts);
      assert.ok((await cluster.controller.readFile(path)).equals(data));
      assert.ok((await collect(cluster.controller.readStream(path))).equals(data));
    });
  }

  it('keeps a draft out of the tree until commitDraft; a dropped draft leaves no copies', async () => {
    const copies = () => cluster.controller.nodes().reduce((sum, node) => sum + node.chunkCount, 0);
    const before = copies();
    const data = testBytes(3 * STRIPE + 5, 'draft');
    const kept = await cluster.controller.storeDraft(pieces(data, 10_000));
    assert.throws(() => cluster.controller.stat('/draft.bin'), { code: 'ENOENT' });
    assert.ok((await collect(cluster.controller.readDraft(kept))).equals(data), 'a draft reads back before any commit');
    cluster.controller.commitDraft('/draft.bin', kept);
    assert.ok((await cluster.controller.readFile('/draft.bin')).equals(data));
    assert.throws(() => cluster.controller.commitDraft('/draft-again.bin', kept), /already committed or dropped/);
    const committed = before + 2 * 4;
    await waitUntil(() => copies() === committed, 'the nodes report the committed draft\'s copies (4 parts, 2 copies each)', 5_000);
    const dropped = await cluster.controller.storeDraft(pieces(data, 10_000));
    await waitUntil(() => copies() === committed + 2 * 4, 'the second draft is stored (4 parts, 2 copies each)', 5_000);
    cluster.controller.dropDraft(dropped);
    await waitUntil(() => copies() === committed, 'the dropped draft is deleted from the nodes', 10_000);
    assert.ok((await cluster.controller.readFile('/draft.bin')).equals(data), 'the committed draft is untouched');
  });

  it('puts the two copies of every part on two distinct nodes, spread over all nodes', async () => {
    const data = testBytes(40 * STRIPE, 'spread');
    await cluster.controller.writeFile('/spread.bin', data);
    const { parts } = cluster.controller.snapshot('/spread.bin');
    const pairs = new Set<string>();
    const used = new Set<string>();
    for (const part of parts) {
      assert.equal(part.nodes.length, 2);
      assert.notEqual(part.nodes[0], part.nodes[1]);
      pairs.add([...part.nodes].sort().join('+'));
      part.nodes.forEach((n) => used.add(n));
    }
    assert.equal(used.size, 4, 'every node holds some copies');
    assert.ok(pairs.size >= 4, `copies are spread over many node pairs, not fixed ones (saw ${[...pairs].join(', ')})`);
  });

  it('writes the two halves of a small file to four different nodes, in parallel', async () => {
    for (let i = 0; i < 20; i++) {
      await cluster.controller.writeFile(`/halves-${i}`, testBytes(4096, `halves ${i}`));
      const nodes = cluster.controller.snapshot(`/halves-${i}`).parts.flatMap((p) => p.nodes);
      assert.equal(new Set(nodes).size, 4, `file ${i}: copies on ${nodes.join(', ')}`);
    }
  });

  it('reads arbitrary ranges, fetching only the parts a range touches', async () => {
    const data = testBytes(5 * STRIPE + 99, 'ranges');
    await cluster.controller.writeFile('/ranges.bin', data);
    const snapshot = cluster.controller.snapshot('/ranges.bin');
    const ranges: Array<[number, number]> = [[0, 1], [STRIPE - 3, 7], [STRIPE, STRIPE], [2 * STRIPE + 5, 3 * STRIPE], [data.length - 10, 100], [data.length, 10], [0, data.length]];
    for (const [offset, length] of ranges) {
      const got = await cluster.controller.readRange(snapshot, offset, length);
      assert.ok(got.equals(data.subarray(offset, offset + length)), `range ${offset}+${length}`);
    }
    const tail = await collect(cluster.controller.readStream('/ranges.bin', { start: 100, end: 3 * STRIPE }));
    assert.ok(tail.equals(data.subarray(100, 3 * STRIPE + 1)));
    await assert.rejects(cluster.controller.readRange(snapshot, -1, 5), { code: 'EINVAL' });
  });

  it('streams a file of many stripes with default-size parts', async () => {
    const data = testBytes(3 * (4 << 20) + 12_345, 'big');
    const big = await TestCluster.start({ nodes: 3 });
    try {
      await big.controller.writeFile('/big.bin', pieces(data, 65_536));
      assert.deepEqual(big.controller.snapshot('/big.bin').parts.map((p) => p.size), [4 << 20, 4 << 20, 4 << 20, 12_345]);
      assert.ok((await collect(big.controller.readStream('/big.bin'))).equals(data));
    } finally {
      await big.stop();
    }
  });

  it('replacing a file swaps the whole content and later deletes the old copies from the nodes', async () => {
    const first = testBytes(3 * STRIPE, 'v1');
    const second = testBytes(STRIPE + 5, 'v2');
    const e1 = await cluster.controller.writeFile('/replace.bin', first, { mode: 0o600 });
    const oldParts = cluster.controller.snapshot('/replace.bin').parts;
    assert.equal(cluster.copiesOnDisk(oldParts).length, 2 * oldParts.length);
    const e2 = await cluster.controller.writeFile('/replace.bin', second);
    assert.equal(e2.id, e1.id, 'same inode');
    assert.equal(e2.mode, 0o600, 'mode kept');
    assert.ok(e2.version > e1.version);
    assert.ok((await cluster.controller.readFile('/replace.bin')).equals(second));
    const newParts = cluster.controller.snapshot('/replace.bin').parts;
    await cluster.controller.collectGarbage();
    assert.deepEqual(cluster.copiesOnDisk(oldParts), [], 'both copies of every old part deleted');
    assert.equal(cluster.copiesOnDisk(newParts).length, 2 * newParts.length, 'the new parts kept');
  });

  it('a held version outlives a replace: its copies stay until its last pin is released', async () => {
    const c = cluster.controller;
    await c.writeFile('/held.bin', testBytes(3 * STRIPE + 9, 'held-v1'));
    const old = c.snapshot('/held.bin');
    const pins = [c.hold(old), c.hold(old)];
    await c.writeFile('/held.bin', testBytes(STRIPE, 'held-v2'));
    await c.writeFile('/unheld.bin', testBytes(STRIPE, 'unheld'));
    const unheld = c.snapshot('/unheld.bin').parts;
    c.remove('/unheld.bin');
    await c.collectGarbage();
    assert.deepEqual(cluster.copiesOnDisk(unheld), [], 'copies nothing holds are deleted');
    assert.equal(cluster.copiesOnDisk(old.parts).length, 2 * old.parts.length, 'the held version\'s are kept');
    pins[0].release();
    pins[0].release(); // a second release does nothing
    await c.collectGarbage();
    assert.equal(cluster.copiesOnDisk(old.parts).length, 2 * old.parts.length, 'kept while one pin holds them');
    pins[1].release();
    await c.collectGarbage(); // postponed by the delete delay, 0 here
    assert.deepEqual(cluster.copiesOnDisk(old.parts), [], 'deleted once released');
  });
});
