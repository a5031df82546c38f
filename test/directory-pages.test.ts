/**
 * A directory listed to the kernel a page at a time (src/fuse/directory-pages.ts), on a
 * real controller and SQLite file: a small directory goes whole in one call; a large
 * one in pages whose cookies resume right after the entry they came with, even once
 * that entry is deleted, so every entry present throughout is listed exactly once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listingPage, PAGE_ENTRIES, WHOLE_LISTING_MAX } from '../src/fuse/directory-pages';
import { TestCluster } from './helpers/cluster';

describe('directory listing pages', () => {
  let cluster: TestCluster;
  before(async () => { cluster = await TestCluster.start({ nodes: 2 }); });
  after(async () => { await cluster?.stop(); });

  it('lists a small directory whole, in one call without cookies', () => {
    const c = cluster.controller;
    c.mkdir('/small');
    for (const name of ['b', 'a', 'c']) c.mkdir(`/small/${name}`);
    const page = listingPage(c, '/small', 0);
    assert.deepEqual(page.dots, ['.', '..']);
    assert.deepEqual(page.entries.map((e) => e.name), ['b', 'a', 'c'], 'in the order they were made');
    assert.deepEqual(page.cookies, [], 'no cookies: libfuse keeps the whole listing');
    assert.equal(page.dir.name, 'small');
  });

  it('lists a large directory in pages: every entry once, and a deleted entry\'s cookie still resumes after it', () => {
    const c = cluster.controller;
    const count = WHOLE_LISTING_MAX + PAGE_ENTRIES + 7;
    c.mkdir('/large');
    for (let i = 0; i < count; i++) c.mkdir(`/large/d${i}`);

    const seen: string[] = [];
    let offset = 0;
    let calls = 0;
    let deleted: string | undefined;
    for (;;) {
      const page = listingPage(c, '/large', offset);
      calls += 1;
      const names = [...page.dots, ...page.entries.map((e) => e.name)];
      assert.equal(page.cookies.length, names.length, 'one cookie per name');
      assert.ok(names.length <= PAGE_ENTRIES + 2);
      if (names.length === 0) break;
      seen.push(...names);
      offset = page.cookies.at(-1)!;
      if (calls === 2) {
        // As rm -r does: delete what was listed, including the entry the next page resumes after.
        deleted = names.at(-1)!;
        c.remove(`/large/${deleted}`);
        c.remove(`/large/${names[0]}`);
      }
    }
    assert.ok(deleted);
    assert.equal(calls, Math.ceil(count / PAGE_ENTRIES) + 1, 'pages of PAGE_ENTRIES, then an empty one');
    assert.deepEqual(seen.slice(0, 2), ['.', '..']);
    assert.equal(new Set(seen).size, seen.length, 'no name twice');
    assert.deepEqual(seen.slice(2).sort(), Array.from({ length: count }, (_, i) => `d${i}`).sort(), 'every name once');
  });

  it('resumes from the cookies of . and .., and answers ENOENT and ENOTDIR like the rest of the tree', async () => {
    const c = cluster.controller;
    const first = listingPage(c, '/large', 0);
    assert.deepEqual(first.cookies.slice(0, 2), [1, 2]);
    const afterDot = listingPage(c, '/large', 1);
    assert.deepEqual(afterDot.dots, ['..']);
    assert.equal(afterDot.entries[0].name, first.entries[0].name);
    const afterDots = listingPage(c, '/large', 2);
    assert.deepEqual(afterDots.dots, []);
    assert.equal(afterDots.entries[0].name, first.entries[0].name);
    assert.throws(() => listingPage(c, '/missing', 0), { code: 'ENOENT' });
    // The test before made thousands of directories in one synchronous loop, which kept this
    // process (the controller) from hearing the nodes for seconds on a busy machine: they may
    // count as down until their next heartbeats are read.
    await c.waitForNodes(2, 15_000);
    await c.writeFile('/file', Buffer.from('x'));
    assert.throws(() => listingPage(c, '/file', 0), { code: 'ENOTDIR' });
  });
});
