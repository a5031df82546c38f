/**
 * The metadata schema's migrations (src/core/metadata/schema.ts) on a real SQLite
 * file: a database whose parts were stored before checksums named their algorithm
 * opens with those parts as SHA-256, their digests intact, next to new BLAKE3 parts;
 * entry ids are never reused, in a new database and in one from before that rule;
 * a file's stored bytes (its size less its holes) are counted for files from before;
 * so are each directory's subdirectories, then kept by triggers through inserts,
 * moves and deletes; a directory's entries are listed in id order by index, the
 * doomed copies due on the nodes that are up are found by index, entries from
 * before hard links have one name each, a file's further names found by index, and
 * every database has a cluster id of its own, one from before cluster ids too; the
 * files a create made and no content commit filled are found by index, and no file
 * from before the mark is taken for one; copies from before faults were recorded
 * are intact, and the parts with a copy recorded bad are found by index.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { backToSchema } from './helpers/older-schema';
import { MetadataStore, ROOT_ID } from '../src/core/metadata/metadata-store';
import { ChecksumAlgorithm, checksumOf } from '../src/wire/checksum';

const dir = mkdtempSync(path.join(tmpdir(), 'raidfs-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('metadata schema', () => {
  it('reads parts stored before checksums named their algorithm as SHA-256', () => {
    const file = path.join(dir, 'old.sqlite');
    const bytes = Buffer.from('stored by an older raidfs');
    const old = checksumOf(bytes, ChecksumAlgorithm.SHA256);
    const store = new MetadataStore(file);
    const entry = store.insertEntry(ROOT_ID, 'old', { kind: 'file', mode: 0o644 });
    store.transaction(() => store.replaceContent(entry.id, bytes.length, [
      { idx: 0, offset: 0, size: bytes.length, chunkId: 'c0', checksum: old, nodes: ['n1', 'n2'], faults: {} },
    ], []));
    store.close();

    // Back to schema 3, as an older raidfs left it: one `sha256` column.
    backToSchema(file, 3);

    const reopened = new MetadataStore(file);
    assert.deepEqual(reopened.parts(entry.id).map((p) => p.checksum), [old]);
    const fresh = reopened.insertEntry(ROOT_ID, 'new', { kind: 'file', mode: 0o644 });
    reopened.transaction(() => reopened.replaceContent(fresh.id, bytes.length, [
      { idx: 0, offset: 0, size: bytes.length, chunkId: 'c1', checksum: checksumOf(bytes), nodes: ['n1', 'n2'], faults: {} },
    ], []));
    assert.deepEqual(reopened.parts(fresh.id).map((p) => p.checksum), [checksumOf(bytes)]);
    assert.equal(reopened.part('c0')?.checksum.algorithm, ChecksumAlgorithm.SHA256);
    reopened.close();
  });

  it('never gives a new entry the id of one deleted, even the newest, also in a database from before that rule', () => {
    const file = path.join(dir, 'ids.sqlite');
    const deleteNewestThenInsert = (store: MetadataStore, name: string) => {
      const doomed = store.insertEntry(ROOT_ID, `${name}-deleted`, { kind: 'file', mode: 0o644 });
      store.transaction(() => store.removeName(doomed.nameId));
      const fresh = store.insertEntry(ROOT_ID, name, { kind: 'file', mode: 0o644 });
      assert.ok(fresh.id > doomed.id, `new id ${fresh.id} after deleted ${doomed.id}`);
      return fresh;
    };
    const store = new MetadataStore(file);
    const kept = deleteNewestThenInsert(store, 'a');
    store.close();

    // Back to schema 4, as an older raidfs left it: no record of the highest id.
    backToSchema(file, 4);

    const reopened = new MetadataStore(file);
    assert.equal(reopened.entry(kept.id)?.name, 'a');
    assert.ok(deleteNewestThenInsert(reopened, 'b').id > kept.id);
    reopened.close();
  });

  it('counts the bytes each file\'s parts hold, also for files stored before they were counted', () => {
    const file = path.join(dir, 'stored.sqlite');
    const part = (idx: number, size: number) => ({
      idx, offset: idx * 100, size, chunkId: `s${idx}`, checksum: checksumOf(Buffer.alloc(size, 1)), nodes: ['n1', 'n2'], faults: {},
    });
    const store = new MetadataStore(file);
    const holey = store.insertEntry(ROOT_ID, 'holey', { kind: 'file', mode: 0o644 });
    store.transaction(() => store.replaceContent(holey.id, 1000, [part(0, 100), part(7, 60)], []));
    assert.equal(store.entry(holey.id)?.storedBytes, 160);
    store.close();

    // Back to schema 5, as an older raidfs left it: no count.
    backToSchema(file, 5);

    const reopened = new MetadataStore(file);
    assert.equal(reopened.entry(holey.id)?.size, 1000);
    assert.equal(reopened.entry(holey.id)?.storedBytes, 160);
    assert.equal(reopened.entry(ROOT_ID)?.storedBytes, 0);
    reopened.close();
  });

  it('counts each directory\'s subdirectories, also for directories from before they were counted, and keeps the count', () => {
    const file = path.join(dir, 'subdirs.sqlite');
    const store = new MetadataStore(file);
    const a = store.insertEntry(ROOT_ID, 'a', { kind: 'dir', mode: 0o755 });
    store.insertEntry(a.id, 'b', { kind: 'dir', mode: 0o755 });
    store.insertEntry(a.id, 'c', { kind: 'dir', mode: 0o755 });
    store.insertEntry(a.id, 'f', { kind: 'file', mode: 0o644 });
    store.close();

    // Back to schema 6, as an older raidfs left it: no count.
    backToSchema(file, 6);

    const reopened = new MetadataStore(file);
    const subdirs = (id: number) => reopened.entry(id)?.subdirs;
    assert.deepEqual([subdirs(ROOT_ID), subdirs(a.id)], [1, 2]);
    const d = reopened.insertEntry(ROOT_ID, 'd', { kind: 'dir', mode: 0o755 });
    const b = reopened.child(a.id, 'b')!;
    reopened.transaction(() => reopened.moveEntry(b, d.id, 'b'));
    assert.deepEqual([subdirs(ROOT_ID), subdirs(a.id), subdirs(d.id)], [2, 1, 1]);
    reopened.transaction(() => reopened.removeName(reopened.child(d.id, 'b')!.nameId));
    assert.deepEqual([subdirs(ROOT_ID), subdirs(a.id), subdirs(d.id)], [2, 1, 0]);
    reopened.close();
  });

  it('lists a directory\'s entries in id order from an id on, by index, also in a database from before the index', () => {
    const file = path.join(dir, 'pages.sqlite');
    const store = new MetadataStore(file);
    const d = store.insertEntry(ROOT_ID, 'd', { kind: 'dir', mode: 0o755 });
    const ids = ['z', 'a', 'm'].map((name) => store.insertEntry(d.id, name, { kind: 'file', mode: 0o644 }).id);
    store.close();

    // Back to schema 7, as an older raidfs left it: no index on parent_id.
    backToSchema(file, 7);

    const reopened = new MetadataStore(file);
    assert.deepEqual(reopened.childrenAfter(d.id, 0, 10).map((e) => e.name), ['z', 'a', 'm']);
    assert.deepEqual(reopened.childrenAfter(d.id, ids[0], 1).map((e) => e.name), ['a']);
    reopened.close();
    const db = new Database(file, { readonly: true });
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT id FROM entries WHERE parent_id = ? AND id > ? ORDER BY id LIMIT 1').all(d.id, 0) as Array<{ detail: string }>;
    db.close();
    assert.match(plan.map((p) => p.detail).join('; '), /USING (COVERING )?INDEX entries_by_parent/);
  });

  it('finds the doomed copies due on the nodes that are up by index, also in a database from before the index', () => {
    const file = path.join(dir, 'doomed.sqlite');
    const store = new MetadataStore(file);
    store.doom([{ chunkId: 'a', nodeId: 'n1' }, { chunkId: 'b', nodeId: 'n2' }, { chunkId: 'c', nodeId: 'gone' }]);
    const doomedMs = Date.now();
    store.close();

    // Back to schema 8, as an older raidfs left it: the collector scanned the table.
    backToSchema(file, 8);

    const reopened = new MetadataStore(file);
    assert.deepEqual(reopened.dueDoomed(doomedMs, ['n1', 'n2'], 10), [{ chunkId: 'a', nodeId: 'n1' }, { chunkId: 'b', nodeId: 'n2' }]);
    assert.deepEqual(reopened.dueDoomed(doomedMs, ['n2'], 10), [{ chunkId: 'b', nodeId: 'n2' }]);
    assert.deepEqual(reopened.dueDoomed(doomedMs - 60_000, ['n1', 'n2', 'gone'], 10), [], 'none doomed that long ago');
    reopened.close();
    const db = new Database(file, { readonly: true });
    const plan = db.prepare(`EXPLAIN QUERY PLAN SELECT chunk_id FROM doomed WHERE since_ms <= ? AND node_id IN (SELECT value FROM json_each(?))
                             ORDER BY node_id LIMIT 10`).all(doomedMs, '["n1"]') as Array<{ detail: string }>;
    db.close();
    assert.match(plan.map((p) => p.detail).join('; '), /USING (COVERING )?INDEX doomed_by_node/);
  });

  it('knows nodes from before draining as not drained, and keeps the drain flag', () => {
    const file = path.join(dir, 'draining.sqlite');
    const store = new MetadataStore(file);
    const report = { capacityBytes: 1, freeBytes: 1, usedBytes: 0, chunkCount: 0 };
    store.upsertNode('n1', 'host', report);
    store.upsertNode('n2', 'host', report);
    store.close();

    // Back to schema 9, as an older raidfs left it: no node was ever drained.
    backToSchema(file, 9);

    const reopened = new MetadataStore(file);
    assert.deepEqual(reopened.knownNodes().map((n) => [n.id, n.draining]), [['n1', false], ['n2', false]]);
    reopened.setDraining('n2', true);
    reopened.upsertNode('n2', 'host', report); // a heartbeat's report leaves the flag alone
    assert.deepEqual(reopened.knownNodes().map((n) => [n.id, n.draining]), [['n1', false], ['n2', true]]);
    reopened.close();
  });

  it('gives entries from before hard links one name each, and finds a file\'s further names by index', () => {
    const file = path.join(dir, 'links.sqlite');
    const store = new MetadataStore(file);
    const d = store.insertEntry(ROOT_ID, 'd', { kind: 'dir', mode: 0o755 });
    const f = store.insertEntry(d.id, 'f', { kind: 'file', mode: 0o644 });
    store.close();

    // Back to schema 10, as an older raidfs left it: no further names.
    backToSchema(file, 10);

    const reopened = new MetadataStore(file);
    assert.deepEqual([reopened.entry(f.id)?.links, reopened.entry(f.id)?.nameId, reopened.entryCount()], [1, f.id, 3]);
    const g = reopened.transaction(() => reopened.insertLink(ROOT_ID, 'g', reopened.entry(f.id)!));
    assert.deepEqual([g.id, g.links, reopened.entry(f.id)?.links, reopened.entryCount()], [f.id, 2, 2, 3]);
    assert.equal(reopened.entry(g.nameId), undefined, 'a further name\'s row is no entry of its own');
    reopened.transaction(() => reopened.removeName(f.id));
    assert.deepEqual([reopened.entry(f.id)?.name, reopened.entry(f.id)?.parentId, reopened.entry(f.id)?.links], ['g', ROOT_ID, 1]);
    assert.deepEqual(reopened.children(d.id), []);
    reopened.close();
    const db = new Database(file, { readonly: true });
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT count(*) FROM entries WHERE link_to = ?').all(f.id) as Array<{ detail: string }>;
    db.close();
    assert.match(plan.map((p) => p.detail).join('; '), /USING (COVERING )?INDEX entries_by_link/);
  });

  it('gives every database a random cluster id that stays, one from before cluster ids included', () => {
    const [first, second, older] = ['cluster-a.sqlite', 'cluster-b.sqlite', 'cluster-old.sqlite'].map((name) => path.join(dir, name));
    const ids = [first, second].map((file) => {
      const store = new MetadataStore(file);
      const id = store.clusterId;
      store.close();
      const reopened = new MetadataStore(file);
      assert.equal(reopened.clusterId, id, 'the same id on every open');
      reopened.close();
      return id;
    });
    assert.match(ids[0], /^[0-9a-f]{32}$/);
    assert.notEqual(ids[0], ids[1], 'each database its own');

    const store = new MetadataStore(older);
    store.upsertNode('n1', 'host', { capacityBytes: 1, freeBytes: 1, usedBytes: 0, chunkCount: 0 });
    store.close();
    // Back to schema 11, as an older raidfs left it: no cluster id.
    backToSchema(older, 11);
    const upgraded = new MetadataStore(older);
    assert.match(upgraded.clusterId, /^[0-9a-f]{32}$/);
    assert.deepEqual(upgraded.knownNodes().map((n) => n.id), ['n1'], 'it still knows its nodes, which adopt its id');
    upgraded.close();
  });

  it('knows a file as an uncommitted create from its create to its first content commit only, by index; none from before', () => {
    const file = path.join(dir, 'creates.sqlite');
    const store = new MetadataStore(file);
    const older = store.insertEntry(ROOT_ID, 'older', { kind: 'file', mode: 0o644 }); // empty, content never committed
    store.close();

    // Back to schema 12, as an older raidfs left it: no create marked.
    backToSchema(file, 12);

    const reopened = new MetadataStore(file);
    assert.deepEqual(reopened.uncommittedCreates(), [], 'an empty file from before is not taken for one');
    const create = (name: string) => reopened.insertEntry(ROOT_ID, name, { kind: 'file', mode: 0o644, uncommittedCreate: true });
    const never = create('never');
    const filled = create('filled');
    assert.deepEqual(reopened.uncommittedCreates(), [never.id, filled.id]);
    reopened.transaction(() => reopened.replaceContent(filled.id, 0, [], [])); // an empty first commit
    const further = reopened.transaction(() => reopened.insertLink(ROOT_ID, 'never-link', reopened.entry(never.id)!));
    reopened.transaction(() => reopened.moveEntry(reopened.entry(never.id)!, ROOT_ID, 'never-moved'));
    reopened.setAttributes(never.id, { mode: 0o600 });
    const written = reopened.insertEntry(ROOT_ID, 'written', { kind: 'file', mode: 0o644 }); // a write's new file, content to follow
    reopened.transaction(() => reopened.replaceContent(written.id, 0, [], []));
    assert.deepEqual(reopened.uncommittedCreates(), [never.id], 'moved, linked, chmod-ed: still never written');
    assert.deepEqual([reopened.entry(older.id)?.version, reopened.entry(further.nameId)], [0, undefined]);
    reopened.close();

    const db = new Database(file, { readonly: true });
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT id FROM entries WHERE uncommitted_create = 1 ORDER BY id').all() as Array<{ detail: string }>;
    db.close();
    assert.match(plan.map((p) => p.detail).join('; '), /USING (COVERING )?INDEX entries_uncommitted_creates/);
    assert.doesNotMatch(plan.map((p) => p.detail).join('; '), /TEMP B-TREE/);
  });

  it('counts copies from before faults were recorded as intact, and finds the parts with a copy recorded bad by index', () => {
    const file = path.join(dir, 'faults.sqlite');
    const store = new MetadataStore(file);
    for (const id of ['n1', 'n2']) store.upsertNode(id, 'test', { capacityBytes: 1, freeBytes: 1, usedBytes: 0, chunkCount: 0 });
    const entry = store.insertEntry(ROOT_ID, 'older', { kind: 'file', mode: 0o644 });
    const checksum = checksumOf(Buffer.alloc(10));
    store.transaction(() => store.replaceContent(entry.id, 20, [0, 1].map((idx) => (
      { idx, offset: idx * 10, size: 10, chunkId: `f${idx}`, checksum, nodes: ['n1', 'n2'], faults: {} }
    )), []));
    store.close();

    // Back to schema 13, as an older raidfs left it: no copy recorded bad.
    backToSchema(file, 13);

    const reopened = new MetadataStore(file);
    assert.deepEqual(reopened.copyCounts(['n1', 'n2'], 2), { parts: 2, underReplicated: 0, unavailable: 0, damaged: 0 });
    assert.deepEqual(reopened.parts(entry.id).map((p) => p.faults), [{}, {}]);
    reopened.setCopyFault('f0', 'n1', 'corrupt');
    reopened.setCopyFault('f0', 'n2', 'unreadable');
    assert.deepEqual(reopened.part('f0')?.faults, { n1: 'corrupt', n2: 'unreadable' });
    assert.deepEqual(reopened.copyCounts(['n1', 'n2'], 2), { parts: 2, underReplicated: 1, unavailable: 1, damaged: 1 });
    assert.deepEqual(reopened.damagedFiles(10), [entry.id]);
    reopened.setCopyFault('f0', 'n2', null);
    assert.deepEqual(reopened.copyCounts(['n1', 'n2'], 2), { parts: 2, underReplicated: 1, unavailable: 0, damaged: 0 });
    assert.deepEqual(reopened.copyCounts(['n1'], 2), { parts: 2, underReplicated: 2, unavailable: 1, damaged: 0 });
    reopened.close();

    // Repair's search and the damaged files read only the parts with a fault (the
    // partial index), or the parts of one set of holders; none sorts.
    const db = new Database(file, { readonly: true });
    const planOf = (sql: string) => (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all({ holders: '["n1","n2"]', faults: '{}', after: '', limit: 10 }) as Array<{ detail: string }>)
      .map((p) => p.detail).join('; ');
    const withFaults = planOf(`SELECT chunk_id FROM parts WHERE holders = @holders AND faults = @faults AND faults <> '{}' AND chunk_id > @after
                               ORDER BY chunk_id LIMIT @limit`);
    const filesWithFaults = planOf(`SELECT DISTINCT file_id FROM parts WHERE holders = @holders AND faults = @faults AND faults <> '{}' LIMIT @limit`);
    const intact = planOf(`SELECT chunk_id FROM parts WHERE holders = @holders AND faults = '{}' AND chunk_id > @after ORDER BY chunk_id LIMIT @limit`);
    db.close();
    for (const plan of [withFaults, filesWithFaults]) assert.match(plan, /USING (COVERING )?INDEX parts_with_faults \(holders=\? AND faults=\?/);
    assert.match(intact, /USING (COVERING )?INDEX parts_by_holders \(holders=\? AND chunk_id>\?\)/);
    for (const plan of [withFaults, intact]) assert.doesNotMatch(plan, /TEMP B-TREE/);
  });
});
