/**
 * The directory tree of the controller core: mkdir, list, rename, remove, symlinks,
 * hard links, attributes, and the errno of every misuse (which must change nothing);
 * and which files a restart removes as creates no content commit ever filled (what
 * a crash leaves of the files the mount was creating): those and no other.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestCluster } from './helpers/cluster';
import { testBytes } from './helpers/data';

describe('core directory tree', () => {
  let cluster: TestCluster;
  before(async () => { cluster = await TestCluster.start({ nodes: 2 }); });
  after(async () => { await cluster?.stop(); });
  const names = (path: string) => cluster.controller.list(path).map((e) => e.name);

  it('creates nested directories and lists them sorted', async () => {
    const c = cluster.controller;
    c.mkdir('/a');
    c.mkdir('/a/b/c', { parents: true });
    await c.writeFile('/a/z.txt', Buffer.from('zz'));
    await c.writeFile('/a/b/c/deep.txt', Buffer.from('deep'));
    assert.deepEqual(names('/a'), ['b', 'z.txt']);
    assert.equal(c.stat('/a/b').kind, 'dir');
    assert.equal((await c.readFile('/a/b/c/deep.txt')).toString(), 'deep');
    assert.throws(() => c.mkdir('/a'), { code: 'EEXIST' });
    assert.throws(() => c.mkdir('/nope/x'), { code: 'ENOENT' });
    assert.throws(() => c.mkdir('/a/z.txt/x'), { code: 'ENOTDIR' });
    assert.throws(() => c.list('/a/z.txt'), { code: 'ENOTDIR' });
    assert.throws(() => c.stat('/missing'), { code: 'ENOENT' });
  });

  it('rejects bad paths before touching anything', async () => {
    const c = cluster.controller;
    for (const bad of ['relative', '/a/../etc', '/a/./b', '/a//b', '/nul\0byte', `/${'x'.repeat(300)}`]) {
      assert.throws(() => c.stat(bad), (err: { code: string }) => ['EINVAL', 'ENAMETOOLONG'].includes(err.code), bad);
      await assert.rejects(c.writeFile(bad, Buffer.from('x')), (err: { code: string }) => ['EINVAL', 'ENAMETOOLONG'].includes(err.code), bad);
    }
    await assert.rejects(c.writeFile('/a', Buffer.from('x')), { code: 'EISDIR' });
    await assert.rejects(c.writeFile('/no/such/dir/f', Buffer.from('x')), { code: 'ENOENT' });
    await assert.rejects(c.writeFile('/a/z.txt', Buffer.from('x'), { exclusive: true }), { code: 'EEXIST' });
    assert.equal((await c.readFile('/a/z.txt')).toString(), 'zz', 'unchanged');
  });

  it('renames files and directories like rename(2)', async () => {
    const c = cluster.controller;
    c.mkdir('/r');
    await c.writeFile('/r/one', Buffer.from('1'));
    await c.writeFile('/r/two', Buffer.from('2'));
    c.rename('/r/one', '/r/two');
    assert.deepEqual(names('/r'), ['two']);
    assert.equal((await c.readFile('/r/two')).toString(), '1', 'target replaced');
    c.mkdir('/r/d1');
    await c.writeFile('/r/d1/inner', Buffer.from('in'));
    c.mkdir('/r/d2');
    c.rename('/r/d1', '/r/d2');
    assert.equal((await c.readFile('/r/d2/inner')).toString(), 'in', 'directory moved over an empty one');
    c.mkdir('/r/full');
    await c.writeFile('/r/full/f', Buffer.from('f'));
    assert.throws(() => c.rename('/r/d2', '/r/full'), { code: 'ENOTEMPTY' });
    assert.throws(() => c.rename('/r/d2', '/r/d2/sub'), { code: 'EINVAL' });
    assert.throws(() => c.rename('/r/two', '/r/full'), { code: 'EISDIR' });
    assert.throws(() => c.rename('/r/full', '/r/two'), { code: 'ENOTDIR' });
    assert.throws(() => c.rename('/r/ghost', '/r/x'), { code: 'ENOENT' });
    c.rename('/r/d2', '/a/moved');
    assert.deepEqual(names('/a/moved'), ['inner']);
  });

  it('removes files, empty directories, and whole trees only when asked', async () => {
    const c = cluster.controller;
    c.mkdir('/t/u/v', { parents: true });
    await c.writeFile('/t/u/v/file', testBytes(1000));
    await c.writeFile('/t/top', Buffer.from('top'));
    assert.throws(() => c.remove('/t'), { code: 'ENOTEMPTY' });
    c.remove('/t/top');
    assert.throws(() => c.stat('/t/top'), { code: 'ENOENT' });
    c.remove('/t', { recursive: true });
    assert.throws(() => c.stat('/t'), { code: 'ENOENT' });
    assert.throws(() => c.remove('/'), { code: 'EINVAL' });
    assert.ok(await c.collectGarbage() >= 2, 'copies of removed files deleted from nodes');
  });

  it('keeps symlinks, modes, owners and times', async () => {
    const c = cluster.controller;
    c.symlink('/link', 'a/z.txt', { uid: 1000, gid: 1000 });
    assert.equal(c.readlink('/link'), 'a/z.txt');
    assert.equal(c.stat('/link').kind, 'symlink');
    assert.throws(() => c.readlink('/a/z.txt'), { code: 'EINVAL' });
    const mtime = Date.UTC(2020, 0, 2, 3, 4, 5, 678);
    const e = c.setAttributes('/a/z.txt', { mode: 0o640, uid: 1234, gid: 5678, modifiedMs: mtime });
    assert.deepEqual([e.mode, e.uid, e.gid, e.modifiedMs], [0o640, 1234, 5678, mtime]);
    const w = await c.writeFile('/dated', Buffer.from('d'), { modifiedMs: mtime, mode: 0o700, uid: 7, gid: 8, contentType: 'text/plain' });
    assert.deepEqual([w.modifiedMs, w.mode, w.uid, w.gid, w.contentType], [mtime, 0o700, 7, 8, 'text/plain']);
  });

  it('gives files and symlinks further names (hard links): one entry under each, kept until its last name goes', async () => {
    const c = cluster.controller;
    c.mkdir('/h');
    c.mkdir('/h2');
    const first = testBytes(3000, 'linked-1');
    const a = await c.writeFile('/h/a', first);
    const b = c.link('/h/a', '/h/b');
    assert.equal(b.id, a.id, 'one inode number under both names');
    assert.notEqual(b.nameId, c.stat('/h/a').nameId);
    assert.deepEqual([c.stat('/h/a').links, c.stat('/h/b').links], [2, 2]);
    assert.deepEqual(c.list('/h').map((e) => [e.name, e.id, e.links]), [['a', a.id, 2], ['b', a.id, 2]]);
    const entriesBefore = c.entryCount();

    // Content and attributes are the entry's, whichever name changes them.
    const second = testBytes(5000, 'linked-2');
    await c.writeFile('/h/b', second);
    assert.ok((await c.readFile('/h/a')).equals(second));
    c.setAttributes('/h/a', { mode: 0o600 });
    assert.equal(c.stat('/h/b').mode, 0o600);
    assert.deepEqual(c.filesAfter(a.id - 1, 1000).filter((f) => f.entry.id === a.id).map((f) => f.path), ['/h/a'], 'listed once');

    // Misuse changes nothing.
    assert.throws(() => c.link('/h', '/h/dir-link'), { code: 'EPERM' });
    assert.throws(() => c.link('/h/a', '/h/b'), { code: 'EEXIST' });
    assert.throws(() => c.link('/h/ghost', '/h/c'), { code: 'ENOENT' });
    assert.throws(() => c.link('/h/a', '/nowhere/c'), { code: 'ENOENT' });
    assert.throws(() => c.link('/h/a', '/h/a/c'), { code: 'ENOTDIR' });
    assert.deepEqual(names('/h'), ['a', 'b']);
    assert.equal(c.entryCount(), entriesBefore);

    // Renaming one name over another of the same file leaves both (rename(2)).
    c.rename('/h/a', '/h/b');
    assert.deepEqual(names('/h'), ['a', 'b']);

    // The file's own name removed: the other keeps the entry, its id and its copies.
    c.remove('/h/a');
    assert.deepEqual(names('/h'), ['b']);
    assert.deepEqual([c.stat('/h/b').id, c.stat('/h/b').links], [a.id, 1]);
    assert.equal(c.pathOf(a.id), '/h/b');
    await c.collectGarbage();
    assert.ok((await c.readFile('/h/b')).equals(second), 'copies kept while a name is left');

    // A further name moves, and a file renamed over it takes only that name.
    c.link('/h/b', '/h/c');
    c.rename('/h/c', '/h2/c');
    assert.deepEqual([c.stat('/h2/c').id, c.stat('/h/b').links], [a.id, 2]);
    await c.writeFile('/h/x', Buffer.from('x'));
    c.rename('/h/x', '/h2/c');
    assert.equal((await c.readFile('/h2/c')).toString(), 'x');
    assert.deepEqual([c.stat('/h/b').links, (await c.readFile('/h/b')).equals(second)], [1, true]);

    // A tree removed with some of a file's names: the file lives on under the rest.
    c.mkdir('/t2');
    await c.writeFile('/t2/f', first);
    c.link('/t2/f', '/t2/g');
    const outside = c.link('/t2/f', '/h/outside');
    c.remove('/t2', { recursive: true });
    assert.deepEqual([c.stat('/h/outside').id, c.stat('/h/outside').links], [outside.id, 1]);
    await c.collectGarbage();
    assert.ok((await c.readFile('/h/outside')).equals(first));

    // The last name removed: the entry goes, its copies with it.
    c.remove('/h/outside');
    assert.equal(c.lookupById(outside.id), undefined);
    assert.ok(await c.collectGarbage() >= 2, 'copies deleted with the last name');

    // A file removed by id (REST's DELETE /files/ID) goes under every name.
    const byId = await c.writeFile('/h/by-id', first);
    c.link('/h/by-id', '/h2/by-id');
    assert.throws(() => c.removeFile(c.stat('/h').id), { code: 'EISDIR' });
    c.removeFile(byId.id);
    assert.deepEqual([c.lookup('/h/by-id'), c.lookup('/h2/by-id'), c.lookupById(byId.id)], [undefined, undefined, undefined]);
    assert.ok(await c.collectGarbage() >= 2, 'its copies deleted');

    // A symlink's further name reads the same target.
    c.symlink('/h/sym', 'b');
    c.link('/h/sym', '/h/sym2');
    assert.deepEqual([c.readlink('/h/sym2'), c.stat('/h/sym2').kind, c.stat('/h/sym2').id], ['b', 'symlink', c.stat('/h/sym').id]);
  });

  it('removes at start the files created and never written, under all their names, and no file that ever had content committed', async () => {
    let c = cluster.controller;
    c.mkdir('/u');
    // Created (the mount's create) and never written: whatever else was done to them.
    c.createFile('/u/never');
    const linked = c.createFile('/u/never-linked');
    c.link('/u/never-linked', '/u/never-link');
    c.createFile('/u/never-renamed');
    c.rename('/u/never-renamed', '/u/never-moved');
    c.setAttributes('/u/never-moved', { mode: 0o600, modifiedMs: Date.UTC(2020, 0, 1) });
    // Created and then committed, however empty: finished files.
    const touched = c.createFile('/u/touched', { mode: 0o640 });
    c.commitDraftTo(touched.id, await c.storeDraft([])); // what the mount's first close (or fsync) of it commits
    c.createFile('/u/truncated');
    await c.resize('/u/truncated', 10); // truncate(2) before the first close commits
    c.createFile('/u/overwritten');
    await c.writeFile('/u/overwritten', Buffer.from('over REST'));
    // Never created by createFile: written with their content, empty ones too.
    await c.writeFile('/u/rest-empty', new Uint8Array(0));
    const written = testBytes(3000, 'written');
    await c.writeFile('/u/written', written);
    c.link('/u/written', '/u/written-link');
    c.mkdir('/u/dir');
    c.symlink('/u/sym', 'written');
    const kept = ['dir', 'overwritten', 'rest-empty', 'sym', 'touched', 'truncated', 'written', 'written-link'];
    const entriesBefore = c.entryCount();

    await cluster.restartController();
    c = cluster.controller;
    assert.deepEqual(names('/u'), kept);
    assert.equal(c.entryCount(), entriesBefore - 3, 'three files went, with the further name of one');
    assert.equal(c.lookupById(linked.id), undefined);
    assert.deepEqual([c.stat('/u/touched').size, c.stat('/u/touched').mode], [0, 0o640]);
    assert.ok((await c.readFile('/u/truncated')).equals(Buffer.alloc(10)));
    assert.equal((await c.readFile('/u/overwritten')).toString(), 'over REST');
    assert.equal(c.stat('/u/rest-empty').size, 0);
    assert.ok((await c.readFile('/u/written-link')).equals(written));
    assert.deepEqual([c.stat('/u/written').links, c.stat('/u').subdirs], [2, 1]);

    // Once removed, they stay removed: the next start finds nothing to remove.
    await cluster.restartController();
    assert.deepEqual(names('/u'), kept);
    assert.equal(cluster.controller.entryCount(), entriesBefore - 3);
  });
});
