/**
 * Access times follow Linux's default `relatime` (MetadataStore.accessDue,
 * Controller.noteRead): a read moves a file's atime only when it is not after the
 * file's last change of content or attributes, or is a day old; recording it changes
 * neither mtime nor ctime. Reads through the mount and over REST are tested in
 * fuse-mount.test.ts; here the rule itself, with the clock given.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MetadataStore, ROOT_ID } from '../src/core/metadata/metadata-store';

const DAY_MS = 24 * 3600_000;
const dir = mkdtempSync(path.join(tmpdir(), 'raidfs-atime-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('access times (relatime)', () => {
  it('a read is due when the atime is not after the last change, or a day old, and recording it keeps mtime and ctime', () => {
    const store = new MetadataStore(path.join(dir, 'atime.sqlite'));
    try {
      const { id } = store.insertEntry(ROOT_ID, 'f', { kind: 'file', mode: 0o644 });
      const made = store.entry(id)!;
      assert.ok(store.accessDue(id, made.changedMs), 'a new file: its atime is its ctime');

      const readAt = made.changedMs + 10;
      store.setAccessed(id, readAt);
      const read = store.entry(id)!;
      assert.deepEqual([read.accessedMs, read.modifiedMs, read.changedMs], [readAt, made.modifiedMs, made.changedMs]);
      assert.equal(store.accessDue(id, readAt + 1000), false, 'read since the last change');
      assert.equal(store.accessDue(id, readAt + DAY_MS - 1), false, 'not yet a day old');
      assert.ok(store.accessDue(id, readAt + DAY_MS), 'a day old');

      // A change of content (an mtime after the atime; the ctime, the real clock's, is before it here).
      store.setAccessed(id, Date.now() + 10_000);
      store.setAttributes(id, { modifiedMs: Date.now() + 20_000 });
      const changed = store.entry(id)!;
      assert.ok(changed.changedMs < changed.accessedMs && changed.modifiedMs > changed.accessedMs);
      assert.ok(store.accessDue(id, changed.accessedMs + 1), 'the content changed since the last read');

      // A change of attributes (a ctime after the atime).
      store.setAccessed(id, changed.changedMs - 1);
      store.setAttributes(id, { modifiedMs: changed.changedMs - 5 });
      assert.ok(store.accessDue(id, Date.now()), 'the attributes changed since the last read');
      assert.equal(store.accessDue(id + 1000, Date.now()), false, 'no such file: nothing is due');
    } finally {
      store.close();
    }
  });
});
