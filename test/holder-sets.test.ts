/**
 * The copy counts behind status and metrics, and the repair pass's search for parts
 * that lack intact copies, read parts.holders, parts.faults, holder_sets and
 * fault_sets, which SQLite triggers keep (src/core/metadata/schema.ts). These tests
 * change copies every way the controller does (new content, replaced content, moved
 * copies, copies recorded bad and good again, files deleted alone or with their
 * directory in one transaction),
 * against a plain model of which node holds what and which copies are bad, and check
 * the counts (damaged parts and the files they name included) for every set of nodes
 * up and every replica count; that a database from before the triggers is brought up
 * to date when opened; and what forgetting a node gone for good leaves.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CopyFault, MetadataStore, PartRecord, ROOT_ID } from '../src/core/metadata/metadata-store';
import { ChecksumAlgorithm } from '../src/wire/checksum';
import { backToSchema } from './helpers/older-schema';

const NODES = ['n1', 'n2', 'n3', 'n4'];
const dir = mkdtempSync(path.join(tmpdir(), 'raidfs-holders-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A new metadata store in `name` that knows the storage nodes NODES (copies are recorded on known nodes only). */
function storeWithNodes(name: string): MetadataStore {
  const store = new MetadataStore(path.join(dir, name));
  for (const id of NODES) store.upsertNode(id, 'test', { capacityBytes: 1, freeBytes: 1, usedBytes: 0, chunkCount: 0 });
  return store;
}

/** A small deterministic random source, so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
}

/** Which nodes hold each chunk, as the operations below leave it. */
type Model = Map<string, Set<string>>;
/** The copies recorded bad, as `chunk@node`, and what is wrong with each. */
type FaultModel = Map<string, CopyFault>;

/** Of `holders` of `chunk`, those on `nodes` and not recorded bad. */
function intactCopies(chunk: string, holders: ReadonlySet<string>, nodes: readonly string[], faults: FaultModel): number {
  return [...holders].filter((id) => nodes.includes(id) && !faults.has(`${chunk}@${id}`)).length;
}

/** Every subset of NODES. */
const nodeSets = Array.from({ length: 2 ** NODES.length }, (_, mask) => NODES.filter((_, i) => mask & (1 << i)));

function expectedCounts(model: Model, faults: FaultModel, up: readonly string[], replicas: number) {
  const copies = [...model].map(([chunk, holders]) => intactCopies(chunk, holders, up, faults));
  return {
    parts: copies.length,
    underReplicated: copies.filter((n) => n < replicas).length,
    unavailable: copies.filter((n) => n === 0).length,
    damaged: [...model].filter(([chunk, holders]) => intactCopies(chunk, holders, NODES, faults) === 0).length,
  };
}

/** Checks counts and the repair search for every set of nodes up, and every part's nodes and faults, against the model. */
function assertMatches(store: MetadataStore, model: Model, files: Map<number, string[]>, step: string, faults: FaultModel = new Map()): void {
  for (const up of nodeSets) {
    for (const replicas of [1, 2, 3]) {
      assert.deepEqual(store.copyCounts(up, replicas), expectedCounts(model, faults, up, replicas), `${step}: counts with ${up} up, ${replicas} replicas`);
    }
    const found = [...store.partsWithFewerCopies(up, 2, 3)];
    assert.ok(found.every((batch) => batch.length > 0 && batch.length <= 3), `${step}: batches of 1 to 3 parts`);
    const wanted = [...model].filter(([chunk, holders]) => intactCopies(chunk, holders, up, faults) < 2).map(([id]) => id);
    assert.deepEqual(found.flat().map((p) => p.chunkId).sort(), wanted.sort(), `${step}: parts lacking copies with ${up} up`);
  }
  const damagedFiles = [...files].filter(([, chunks]) => chunks.some((chunk) => intactCopies(chunk, model.get(chunk)!, NODES, faults) === 0));
  assert.deepEqual(store.damagedFiles(1000).sort(), damagedFiles.map(([id]) => id).sort(), `${step}: damaged files`);
  assert.equal(store.damagedFiles(1).length, Math.min(1, damagedFiles.length), `${step}: damaged files, at most 1`);
  // The copies themselves (replicas), read past the store's API: holders must agree with them.
  const db = (store as unknown as { db: Database.Database }).db;
  const copies = db.prepare('SELECT chunk_id AS chunkId, node_id AS nodeId FROM replicas').all() as Array<{ chunkId: string; nodeId: string }>;
  assert.deepEqual(copies.map((c) => `${c.chunkId}@${c.nodeId}`).sort(),
    [...model].flatMap(([chunk, holders]) => [...holders].map((id) => `${chunk}@${id}`)).sort(), `${step}: replicas`);
  for (const [fileId, chunks] of files) {
    const parts = store.parts(fileId);
    assert.deepEqual(parts.map((p) => p.chunkId), chunks, `${step}: parts of file ${fileId}`);
    for (const part of parts) {
      assert.deepEqual([...part.nodes].sort(), [...model.get(part.chunkId)!].sort(), `${step}: nodes of ${part.chunkId}`);
      const partFaults = [...faults].filter(([copy]) => copy.startsWith(`${part.chunkId}@`)).map(([copy, fault]) => [copy.split('@')[1], fault]);
      assert.deepEqual(part.faults, Object.fromEntries(partFaults), `${step}: faults of ${part.chunkId}`);
    }
  }
}

describe('copy counts and the search for parts lacking copies (holder_sets, fault_sets)', () => {
  it('follow new, replaced and deleted content, moved copies, copies recorded bad and good again, and a directory removed whole', () => {
    const store = storeWithNodes('ops.sqlite');
    const next = random(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
    const model: Model = new Map();
    const faults: FaultModel = new Map();
    /** The model forgets the faults of `chunk`'s copies on `nodes` (all its copies by default): they left the part. */
    const forgetFaults = (chunk: string, nodes: Iterable<string> = model.get(chunk) ?? []) => {
      for (const id of nodes) faults.delete(`${chunk}@${id}`);
    };
    const files = new Map<number, string[]>();
    let chunkSeq = 0;
    const newParts = (): PartRecord[] => Array.from({ length: Math.floor(next() * 4) }, (_, idx) => ({
      idx, offset: idx * 10, size: 10, chunkId: `c${String(chunkSeq++).padStart(4, '0')}`, checksum: { algorithm: ChecksumAlgorithm.BLAKE3, digest: Buffer.alloc(32) },
      nodes: NODES.filter(() => next() < 0.5).sort(() => next() - 0.5), // any order: holders are stored sorted
      faults: {},
    }));
    const setContent = (fileId: number) => {
      const parts = newParts();
      for (const chunk of files.get(fileId) ?? []) {
        forgetFaults(chunk);
        model.delete(chunk);
      }
      for (const part of parts) model.set(part.chunkId, new Set(part.nodes));
      files.set(fileId, parts.map((p) => p.chunkId));
      store.transaction(() => store.replaceContent(fileId, parts.length * 10, parts, []));
    };
    const subdir = store.insertEntry(ROOT_ID, 'sub', { kind: 'dir', mode: 0o755 });
    const inSubdir = new Set<number>();

    for (let step = 0; step < 120; step++) {
      const op = files.size < 3 ? 'create' : pick(['create', 'replace', 'move', 'move', 'fault', 'fault', 'fault', 'remove']);
      if (op === 'create') {
        const parent = next() < 0.3 ? subdir.id : ROOT_ID;
        const file = store.insertEntry(parent, `f${step}`, { kind: 'file', mode: 0o644 });
        if (parent === subdir.id) inSubdir.add(file.id);
        setContent(file.id);
      } else if (op === 'replace') {
        setContent(pick([...files.keys()]));
      } else if (op === 'move') {
        const chunks = [...model.keys()];
        if (chunks.length === 0) continue;
        const chunk = pick(chunks);
        const holders = model.get(chunk)!;
        const dropped = [...holders].filter(() => next() < 0.5);
        const added = NODES.filter((id) => !holders.has(id) && next() < 0.5);
        assert.equal(store.moveCopies(chunk, dropped, added), true);
        forgetFaults(chunk, dropped);
        dropped.forEach((id) => holders.delete(id));
        added.forEach((id) => holders.add(id));
      } else if (op === 'fault') {
        // A copy recorded bad (or bad another way), or good again; or a copy the part no longer has.
        const chunks = [...model.keys()];
        if (chunks.length === 0) continue;
        const chunk = pick(chunks);
        const nodeId = pick(NODES);
        const fault = pick<CopyFault | null>(['missing', 'corrupt', 'unreadable', null, null]);
        store.setCopyFault(chunk, nodeId, fault);
        const held = model.get(chunk)!.has(nodeId); // else nothing is recorded: no such copy
        if (held && fault) faults.set(`${chunk}@${nodeId}`, fault);
        if (held && !fault) faults.delete(`${chunk}@${nodeId}`);
      } else {
        const fileId = pick([...files.keys()]);
        store.transaction(() => store.removeName(fileId));
        for (const chunk of files.get(fileId)!) {
          forgetFaults(chunk);
          model.delete(chunk);
        }
        files.delete(fileId);
        inSubdir.delete(fileId);
      }
      assertMatches(store, model, files, `step ${step} (${op})`, faults);
    }
    assert.ok(faults.size > 0, 'some copies are left recorded bad');

    // A directory removed with its files in one transaction, as controller.remove does for rm -r.
    store.transaction(() => {
      for (const fileId of inSubdir) store.removeName(fileId);
      store.removeName(subdir.id);
    });
    for (const fileId of inSubdir) {
      for (const chunk of files.get(fileId)!) {
        forgetFaults(chunk);
        model.delete(chunk);
      }
      files.delete(fileId);
    }
    assertMatches(store, model, files, 'after removing the directory', faults);
    store.close();
  });

  it('follow a node forgotten for good: its copies, its doomed copies (in batches) and its row go', () => {
    const store = storeWithNodes('forget.sqlite');
    const fileEntry = store.insertEntry(ROOT_ID, 'f', { kind: 'file', mode: 0o644 });
    const held = [['n1', 'n2', 'n4'], ['n1', 'n4'], ['n2', 'n3']];
    store.transaction(() => store.replaceContent(fileEntry.id, 30, held.map((nodes, idx) => ({
      idx, offset: idx * 10, size: 10, chunkId: `p${idx}`, checksum: { algorithm: ChecksumAlgorithm.BLAKE3, digest: Buffer.alloc(32) }, nodes, faults: {},
    })), []));
    store.doom(Array.from({ length: 25_000 }, (_, i) => ({ chunkId: `gone${i}`, nodeId: 'n4' })));
    store.doom(['a', 'b', 'c'].map((chunkId) => ({ chunkId, nodeId: 'n1' })));

    // p1 has no second copy without n4's: it needs it, until a copy is made elsewhere.
    assert.equal(store.partsNeedingCopyOn('n4', 2), 1);
    assert.equal(store.partsNeedingCopyOn('n4', 1), 0);
    assert.deepEqual([store.hasCopiesOn('n4'), store.hasCopiesOn('n9')], [true, false]);
    assert.equal(store.moveCopies('p1', ['n4'], ['n3']), true);
    assert.equal(store.partsNeedingCopyOn('n4', 2), 0);

    const batches: number[] = [];
    for (let n; (n = store.forgetDoomedOn('n4', 10_000)) > 0;) batches.push(n);
    assert.deepEqual(batches, [10_000, 10_000, 5_001]); // with p1's copy, doomed by the move
    // p0 keeps n1 and n2: its copy on n4 goes with the node.
    assert.deepEqual(store.forgetNode('n4'), { copies: 1, doomed: 0 });
    assert.equal(store.hasCopiesOn('n4'), false);
    assert.deepEqual(store.dueDoomed(Date.now(), NODES, 10).map((c) => c.chunkId).sort(), ['a', 'b', 'c']);
    const model: Model = new Map([['p0', new Set(['n1', 'n2'])], ['p1', new Set(['n1', 'n3'])], ['p2', new Set(['n2', 'n3'])]]);
    assertMatches(store, model, new Map([[fileEntry.id, ['p0', 'p1', 'p2']]]), 'after forgetting n4');

    // An upload that stored copies on n4 before it was forgotten commits afterwards,
    // and a repair's copy there is recorded after: neither copy is recorded.
    const late = store.insertEntry(ROOT_ID, 'late', { kind: 'file', mode: 0o644 });
    const lateParts = [['n4', 'n1'], ['n2', 'n3']].map((nodes, idx) => ({
      idx, offset: idx * 10, size: 10, chunkId: `late${idx}`, checksum: { algorithm: ChecksumAlgorithm.BLAKE3, digest: Buffer.alloc(32) }, nodes, faults: {},
    }));
    assert.equal(store.transaction(() => store.replaceContent(late.id, 20, lateParts, [])), 1);
    assert.equal(store.moveCopies('p2', [], ['n4']), true);
    model.set('late0', new Set(['n1'])).set('late1', new Set(['n2', 'n3']));
    assertMatches(store, model, new Map([[fileEntry.id, ['p0', 'p1', 'p2']], [late.id, ['late0', 'late1']]]), 'after a late commit');
    assert.equal(store.hasCopiesOn('n4'), false);
    store.setDraining('n3', true);
    store.close();
    const reopened = new MetadataStore(path.join(dir, 'forget.sqlite'));
    assert.deepEqual(reopened.knownNodes().map((n) => [n.id, n.draining]), [['n1', false], ['n2', false], ['n3', true]]);
    reopened.close();
  });

  it('are built for a database written before they existed', () => {
    const file = path.join(dir, 'old.sqlite');
    const store = storeWithNodes('old.sqlite');
    const fileEntry = store.insertEntry(ROOT_ID, 'old', { kind: 'file', mode: 0o644 });
    const held = [['n1', 'n2'], ['n2'], [], ['n3', 'n1']];
    store.transaction(() => store.replaceContent(fileEntry.id, 40, held.map((nodes, idx) => ({
      idx, offset: idx * 10, size: 10, chunkId: `old${idx}`, checksum: { algorithm: ChecksumAlgorithm.BLAKE3, digest: Buffer.alloc(32) }, nodes, faults: {},
    })), []));
    store.close();

    // Back to schema 2: no holders, no counts, no triggers (nor what later schemas
    // added); the copies stay in replicas.
    backToSchema(file, 2);

    const reopened = new MetadataStore(file);
    const model: Model = new Map(held.map((nodes, idx) => [`old${idx}`, new Set(nodes)]));
    assertMatches(reopened, model, new Map([[fileEntry.id, held.map((_, idx) => `old${idx}`)]]), 'after the migration');
    reopened.close();
  });
});
