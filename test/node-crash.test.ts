/**
 * A storage node's own failures: kill -9 in the middle of storing chunks leaves no
 * torn chunk (every chunk file verifies, the interrupted temp files are cleared on
 * restart), and a node whose data directory is a tiny tmpfs runs out of real disk
 * space (but for what every node leaves free): its parts go elsewhere, and with
 * every node full the writer gets ENOSPC.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ChunkStore } from '../src/node/chunk-store';
import { TestCluster } from './helpers/cluster';
import { testBytes, waitUntil } from './helpers/data';

const STRIPE = 1 << 20;

/** Mounts a tmpfs of `size` at `dir`; false where this is not allowed (not root, no tmpfs). */
function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('storage node crashes and full disks', () => {
  let cluster: TestCluster | undefined;
  const tmpfsMounts: string[] = [];
  afterEach(async () => {
    await Promise.all(cluster?.nodes.map((n) => n?.stop(2_000)) ?? []);
    for (const dir of tmpfsMounts.splice(0)) execFileSync('umount', ['-l', dir]);
    await cluster?.stop();
    cluster = undefined;
  });

  it('kill -9 of a node mid-store leaves no torn chunk', async (t) => {
    const data = testBytes(48 * STRIPE, 'torn'); // before the cluster: making it blocks this process for seconds
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, cacheBytes: 1 } });
    const c = cluster;
    const write = c.controller.writeFile('/big', data);
    await waitUntil(async () => (await c.chunkFiles(0)).length >= 2, 'node1 has stored some parts', 30_000);
    // Kill it while a chunk is being written (a temp file exists), or at the latest after 5 s.
    const tmp = path.join(c.nodeDir(0), 'tmp');
    for (const deadline = Date.now() + 5_000; Date.now() < deadline && (await fs.readdir(tmp)).length === 0;);
    await c.killNode(0);
    const leftovers = await fs.readdir(path.join(c.nodeDir(0), 'tmp'));
    await write;
    assert.ok((await c.controller.readFile('/big')).equals(data), 'the write finished on the other nodes');

    // Every chunk under a real name on the killed node is whole and verifies.
    const store = await ChunkStore.open(c.nodeDir(0));
    const { ids } = await store.list('', 100_000);
    const states = await Promise.all(ids.map(async (id) => (await store.verify(id)).state));
    t.diagnostic(`kill -9 mid-store: ${leftovers.length} temp files left behind, ${ids.length} chunk files, all ${states.every((s) => s === 'ok') ? 'verified' : 'NOT verified'}`);
    assert.ok(states.every((s) => s === 'ok'), `torn chunks: ${ids.filter((_, i) => states[i] !== 'ok')}`);
    assert.deepEqual(await fs.readdir(path.join(c.nodeDir(0), 'tmp')), [], 'opening the store cleared interrupted writes');

    await c.waitUntilDown(0);
    c.startNode(0);
    await c.controller.waitForNodes(4, 10_000);
    const scrub = await c.controller.scrub();
    assert.deepEqual([scrub.corrupt, scrub.missing], [0, 0]);
    assert.ok((await c.controller.readFile('/big')).equals(data));
  });

  it('a node on a full tmpfs answers ENOSPC: the writer gets ENOSPC, and with room elsewhere parts go there', async (t) => {
    cluster = await TestCluster.start({ nodes: 1, controller: { stripeSize: 128 << 10, cacheBytes: 1 } });
    const c = cluster;
    const tiny = c.nodeDir(1);
    if (!mountTmpfs(tiny, '10m')) return t.skip('cannot mount a tmpfs here (needs root)');
    tmpfsMounts.push(tiny);
    c.startNode(1);
    await c.controller.waitForNodes(2, 10_000);

    // Two nodes, two copies: every part lands on the 10 MiB tmpfs until it is full
    // (but for the 8 MiB every node leaves free).
    const stored: Array<{ path: string; data: Buffer }> = [];
    /** Writes up to `count` files of about `size` bytes until one fails; returns its error. */
    const fill = async (name: string, count: number, size: number) => {
      for (let i = 0; i < count; i++) {
        const file = { path: `/${name}${i}`, data: testBytes(size + i, `${name}${i}`) };
        const failure = await c.controller.writeFile(file.path, file.data).then(() => { stored.push(file); }, (err: unknown) => err);
        if (failure) return failure as { code?: string };
      }
      return undefined;
    };
    const failure = await fill('f', 20, 200_000);
    t.diagnostic(`tmpfs of 10 MiB (8 kept free): ${stored.length} files of 200 kB stored before the disk was full`);
    assert.ok(stored.length >= 2, 'the tiny node took files until it was full');
    assert.equal(failure?.code, 'ENOSPC', `the writer gets ENOSPC: ${String(failure)}`);
    // Once the copies of the failed file are deleted, what is left (less than 200 kB)
    // goes to small files, down to less than a part of /more below, and the copies of
    // the small file that failed are deleted too.
    const settled = () => waitUntil(async () => (await c.chunkFiles(1)).length === 2 * stored.length, 'only the stored files\' copies are left on the full node', 10_000);
    await settled();
    assert.equal((await fill('small', 50, 10_000))?.code, 'ENOSPC');
    await settled();
    const names = (files: Array<{ name: string }>) => files.map((f) => f.name).sort();
    assert.deepEqual(names(c.controller.list('/')), names(stored.map((f) => ({ name: f.path.slice(1) }))), 'the failed files left nothing');

    // A node with room joins: new parts go to the two nodes with room.
    c.startNode(2);
    await c.controller.waitForNodes(3, 10_000);
    const more = testBytes(600_000, 'more');
    await c.controller.writeFile('/more', more);
    for (const part of c.controller.snapshot('/more').parts) assert.deepEqual([...part.nodes].sort(), [c.nodeId(0), c.nodeId(2)]);
    for (const f of [...stored, { path: '/more', data: more }]) assert.ok((await c.controller.readFile(f.path)).equals(f.data), f.path);
  });
});
