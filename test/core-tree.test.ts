/**
 * The directory tree of the controller core: mkdir, list, rename, remove, symlinks,
 * attributes, and the errno of every misuse (which must change nothing).
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
});
