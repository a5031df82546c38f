/**
 * Holes and edits in the controller core, against a real 4-node cluster: zeros are
 * stored nowhere and read back as zeros; an edit of a committed version stores only
 * the stripes it changed, keeps the others' chunks (which the collector then leaves
 * alone), and falls back to storing everything when another write replaced them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FileEdit, FileSnapshot } from '../src/core/controller';
import { MAX_FILE_SIZE } from '../src/core/file-size';
import { TestCluster } from './helpers/cluster';
import { collect, pieces, testBytes, waitUntil } from './helpers/data';

const STRIPE = 64 * 1024;

/** An edit of `base` whose stripes in `changes` read from `content` (the whole new version). */
function editOf(base: FileSnapshot, content: Buffer, changes: number[], baseLimit = base.entry.size): FileEdit {
  return {
    base, size: content.length, baseLimit, changed: new Set(changes),
    readChanged: async (offset, length) => Buffer.from(content.subarray(offset, offset + length)),
  };
}

describe('holes and edits (stripe 64 KiB, 4 nodes, doomed copies deleted at once)', () => {
  let cluster: TestCluster;
  before(async () => { cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE } }); });
  after(async () => { await cluster?.stop(); });

  const copiesOnNodes = () => cluster.controller.nodes().reduce((sum, node) => sum + node.chunkCount, 0);
  const partsOf = (path: string) => cluster.controller.snapshot(path).parts;
  const idsOf = (path: string) => partsOf(path).map((p) => `${p.idx}@${p.offset}:${p.chunkId}`);
  const readBack = async (path: string) => cluster.controller.readFile(path);

  it('stores no part for stripes of zeros, and reads them (and ranges across them) back as zeros', async () => {
    const data = Buffer.concat([testBytes(STRIPE, 'a'), Buffer.alloc(3 * STRIPE), testBytes(STRIPE + 99, 'b'), Buffer.alloc(STRIPE)]);
    await cluster.controller.writeFile('/holey.bin', pieces(data, 10_000));
    assert.deepEqual(partsOf('/holey.bin').map((p) => [p.idx, p.offset, p.size]), [[0, 0, STRIPE], [4, 4 * STRIPE, STRIPE], [5, 5 * STRIPE, STRIPE]]);
    assert.ok((await readBack('/holey.bin')).equals(data));
    assert.ok((await collect(cluster.controller.readStream('/holey.bin'))).equals(data));
    for (const [offset, length] of [[STRIPE - 5, 10], [2 * STRIPE, STRIPE], [4 * STRIPE - 3, 6], [6 * STRIPE - 50, 500]]) {
      assert.ok((await cluster.controller.readFile('/holey.bin', offset, length)).equals(data.subarray(offset, offset + length)), `range ${offset}+${length}`);
    }
    const zeros = Buffer.alloc(10_000);
    await cluster.controller.writeFile('/zeros.bin', zeros);
    assert.equal(partsOf('/zeros.bin').length, 0, 'a small file of zeros has no parts either');
    assert.equal(cluster.controller.stat('/zeros.bin').size, 10_000);
    assert.ok((await readBack('/zeros.bin')).equals(zeros));
  });

  it('resize keeps every whole stripe it does not cut, stores the one it cuts or grows, and grows by a hole', async () => {
    const data = testBytes(7 * STRIPE + 777, 'resize');
    await cluster.controller.writeFile('/resize.bin', data);
    const before = idsOf('/resize.bin');

    await cluster.controller.resize('/resize.bin', 1000 * STRIPE + 1);
    const grown = idsOf('/resize.bin');
    assert.deepEqual(grown.slice(0, 7), before.slice(0, 7), 'whole stripes keep their chunks');
    assert.notEqual(grown[7], before[7], 'the last stripe, grown with zeros, is stored anew');
    assert.equal(grown.length, 8, 'nothing is stored past the old end');
    assert.equal(partsOf('/resize.bin')[7].size, STRIPE);
    const expected = Buffer.concat([data, Buffer.alloc(1000 * STRIPE + 1 - data.length)]);
    assert.ok((await readBack('/resize.bin')).equals(expected));

    await cluster.controller.resize('/resize.bin', 3 * STRIPE + 5);
    const cut = idsOf('/resize.bin');
    assert.deepEqual(cut.slice(0, 3), before.slice(0, 3));
    assert.equal(cut.length, 4);
    assert.equal(partsOf('/resize.bin')[3].size, 5);
    assert.ok((await readBack('/resize.bin')).equals(data.subarray(0, 3 * STRIPE + 5)));

    await cluster.controller.resize('/resize.bin', 0);
    assert.equal(partsOf('/resize.bin').length, 0);
    await cluster.controller.writeFile('/small-resize.bin', testBytes(300, 'small'));
    await cluster.controller.resize('/small-resize.bin', 5 * STRIPE);
    assert.deepEqual(partsOf('/small-resize.bin').map((p) => [p.idx, p.size]), [[0, STRIPE]], 'a small file grown to stripes: its bytes in stripe 0, then a hole');
    assert.ok((await readBack('/small-resize.bin')).equals(Buffer.concat([testBytes(300, 'small'), Buffer.alloc(5 * STRIPE - 300)])));
    await assert.rejects(cluster.controller.resize('/small-resize.bin', -1), { code: 'EINVAL' });
    await assert.rejects(cluster.controller.resize('/no-such-file', 10), { code: 'ENOENT' });
  });

  // 2^28 stripes of 64 KiB: an edit that looked at every stripe blocked the event loop
  // for ~18 s (all nodes counted down), past this test's timeout.
  it('a file of 16 TiB (less 4 KiB): its last byte is one stripe, stored at once; a size past it is EFBIG and changes nothing', { timeout: 5_000 }, async () => {
    const data = testBytes(100, 'huge');
    await cluster.controller.writeFile('/huge.bin', data);
    const grown = await cluster.controller.resize('/huge.bin', MAX_FILE_SIZE);
    const last = Math.floor((MAX_FILE_SIZE - 1) / STRIPE);
    const lastLength = MAX_FILE_SIZE - last * STRIPE;
    const content = Buffer.alloc(lastLength);
    content.write('Z', lastLength - 1);
    const written = await cluster.controller.writeEdit(grown.entry.id, {
      base: grown, size: MAX_FILE_SIZE, baseLimit: MAX_FILE_SIZE, changed: new Set([last]),
      readChanged: async (offset, length) => {
        assert.deepEqual([offset, length], [last * STRIPE, lastLength]);
        return content;
      },
    });
    assert.deepEqual(written?.parts.map((p) => [p.idx, p.size]), [[0, STRIPE], [last, lastLength]]);
    assert.equal((await cluster.controller.readFile('/huge.bin', MAX_FILE_SIZE - 2, 10)).toString('latin1'), '\0Z');
    assert.ok((await cluster.controller.readFile('/huge.bin', 0, 100)).equals(data));

    await assert.rejects(cluster.controller.resize('/huge.bin', MAX_FILE_SIZE + 1), { code: 'EFBIG' });
    await assert.rejects(cluster.controller.writeEdit(grown.entry.id, { ...editOf(grown, content, []), size: MAX_FILE_SIZE + 1 }), { code: 'EFBIG' });
    assert.equal(cluster.controller.stat('/huge.bin').size, MAX_FILE_SIZE);
    assert.deepEqual(partsOf('/huge.bin').map((p) => p.chunkId), written?.parts.map((p) => p.chunkId));
    cluster.controller.remove('/huge.bin');
  });

  it('an edit stores only the stripes it changed; the kept chunks survive the collector', async () => {
    const data = testBytes(8 * STRIPE + 10, 'edit');
    await cluster.controller.writeFile('/edit.bin', data);
    const base = cluster.controller.snapshot('/edit.bin');
    const edited = Buffer.from(data);
    edited.write('CHANGED', 5 * STRIPE + 100);
    const written = await cluster.controller.writeEdit(base.entry.id, editOf(base, edited, [5]));
    assert.equal(written?.entry.version, base.entry.version + 1);
    const after = partsOf('/edit.bin');
    assert.deepEqual(after.map((p) => p.chunkId === base.parts[p.idx].chunkId), [true, true, true, true, true, false, true, true, true]);
    assert.ok((await readBack('/edit.bin')).equals(edited));
    await cluster.controller.collectGarbage();
    await waitUntil(() => copiesOnNodes() === 2 * after.length + 2 * (partsOf('/holey.bin').length + partsOf('/small-resize.bin').length),
      'the nodes hold two copies of every part left, the replaced one deleted', 10_000);
    assert.ok((await readBack('/edit.bin')).equals(edited), 'the kept chunks are still there');
  });

});

describe('an edit racing another write (stripe 64 KiB, doomed copies kept 30 s)', () => {
  let cluster: TestCluster;
  before(async () => { cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, deleteDelayMs: 30_000 } }); });
  after(async () => { await cluster?.stop(); });

  it('is refused over a version that replaced its kept parts; writeEdit then stores everything, and the last write wins', async () => {
    const theirs = testBytes(6 * STRIPE, 'theirs');
    await cluster.controller.writeFile('/stale.bin', testBytes(6 * STRIPE, 'stale'));
    const base = cluster.controller.snapshot('/stale.bin');
    const mine = Buffer.from(testBytes(6 * STRIPE, 'stale'));
    mine.write('MINE', 2 * STRIPE);

    const draft = await cluster.controller.storeEdit(editOf(base, mine, [2]));
    assert.equal(draft.chunkIds.length, 1, 'the edit stored one stripe and keeps five');
    await cluster.controller.writeFile('/stale.bin', theirs);
    assert.throws(() => cluster.controller.commitDraftTo(base.entry.id, draft), /rewritten while being edited/);
    assert.ok((await cluster.controller.readFile('/stale.bin')).equals(theirs), 'a refused commit changes nothing');

    const again = cluster.controller.snapshot('/stale.bin');
    const edited = Buffer.from(theirs);
    edited.write('MINE', 2 * STRIPE);
    let replaced = false;
    const racing: FileEdit = {
      ...editOf(again, edited, [2]),
      readChanged: async (offset, length) => {
        if (!replaced) { // another writer replaces the file while the edit is being stored
          replaced = true;
          await cluster.controller.writeFile('/stale.bin', testBytes(6 * STRIPE, 'third'));
        }
        return Buffer.from(edited.subarray(offset, offset + length));
      },
    };
    const written = await cluster.controller.writeEdit(again.entry.id, racing);
    assert.ok(replaced && written);
    assert.ok((await cluster.controller.readFile('/stale.bin')).equals(edited), 'the edit, made over the version it started from, wins');
    const old = new Set(again.parts.map((p) => p.chunkId));
    assert.ok(cluster.controller.snapshot('/stale.bin').parts.every((p) => !old.has(p.chunkId)), 'every stripe was stored anew');
  });
});
