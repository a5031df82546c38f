/**
 * All SQL of the controller: the directory tree, parts, replicas, nodes and doomed
 * chunk copies, in one better-sqlite3 connection (WAL, synchronous=FULL so a
 * committed file survives power loss; lazyTransaction excepted, see below). The
 * connection holds the file locked: one controller per metadata file (openMetadataFile).
 *
 * Invariants:
 * - A file's parts and replicas change only inside one transaction (replaceContent,
 *   removeName), so readers see a whole old or a whole new file.
 * - A chunk copy leaves `replicas` only by moving to `doomed`; nothing forgets a copy
 *   that still occupies a node, except forgetNode, for a node the operator says is
 *   gone for good (its copies occupy nothing any more).
 * - Every copy in `replicas` is on a node in `nodes`: a copy is recorded only on a
 *   known node, and forgetNode drops a node's copies with its row.
 * - Entry ids are never reused, not even the newest one's after it is deleted
 *   (schema.ts, entry_ids): an id names one file for good.
 * - A file is an uncommitted create only from an insert that says so
 *   (NewEntry.uncommittedCreate) to the first replaceContent of it: a file that ever
 *   had content committed, however empty, or that a write created with its
 *   content, never is one.
 * - An entry's own row always holds one of its names; its further names (hard links,
 *   files and symlinks only) are rows that refer to it, and removing its own name
 *   moves one of them into its row. So an entry's id stays while it has a name, and
 *   the entry is deleted, its copies doomed, only with its last name.
 * - Every commit is fsynced except those of lazyTransaction, which sync() or the next
 *   fsynced commit that writes makes durable (WAL order): a power loss can only drop
 *   a suffix of commits, each whole. unsyncedCommits counts the lazy commits since.
 * - Calls are synchronous and short (indexed lookups); listings of many entries (a
 *   directory's, every file's) go a page at a time, each from where the last ended.
 *   Nothing scans the parts: counts of copies come from holder_sets and fault_sets,
 *   kept by triggers (schema.ts), and partsWithFewerCopies pages through the parts
 *   of the sets that lack intact copies, by index.
 * - A copy's fault (CopyFault) is set only by setCopyFault, when a scrub or read
 *   found it bad, and goes when setCopyFault clears it (rewritten, or found good
 *   since) or when the copy leaves its part (dropped, moved, the file replaced or
 *   deleted, its node forgotten). A copy with a fault still counts as a holder (it
 *   is kept, and may be mended) but never as an intact copy.
 */
import Database from 'better-sqlite3';
import { FileLockedError, FileOpenError, openLocked } from '../../common/file-lock';
import { errorMessage } from '../../common/log';
import { RaidfsError } from '../errors';
import { Checksum } from '../../wire/checksum';
import { migrate } from './schema';
import { PROCESS_OWNER } from './process-owner';

export type EntryKind = 'file' | 'dir' | 'symlink';

export interface Entry {
  /** The entry's id, its inode number: the same under each of its names. */
  id: number;
  /** The row that holds this name: `id` itself, or one of the entry's further names (a hard link). */
  nameId: number;
  parentId: number | null;
  name: string;
  kind: EntryKind;
  size: number;
  /** Permission bits only (mode & 0o7777); the type comes from `kind`. */
  mode: number;
  uid: number;
  gid: number;
  contentType: string | null;
  /** Symlink target. */
  target: string | null;
  /** Grows on every change of the file's content. */
  version: number;
  createdMs: number;
  modifiedMs: number;
  changedMs: number;
  accessedMs: number;
  /** Bytes a file's parts hold (one copy): its size less its holes (0 for directories and symlinks). */
  storedBytes: number;
  /** How many of a directory's entries are directories (0 for files and symlinks). */
  subdirs: number;
  /** How many names the entry has: 1, or more for a file or symlink with hard links. */
  links: number;
}

/** The attributes chmod, chown and utimens set; those left out stay as they are. */
export interface EntryAttributes {
  /** Permission bits (mode & 0o7777 is kept). */
  mode?: number;
  uid?: number;
  gid?: number;
  modifiedMs?: number;
  accessedMs?: number;
}

/**
 * What a scrub or read last found wrong with a copy that was kept (schema.ts,
 * replicas.fault): its node has no such chunk ('missing'), its bytes do not match
 * their checksum or are another chunk's ('corrupt'; scrub's check also reports a file
 * it cannot read so), or its node could not read its file (an I/O error: 'unreadable').
 */
export type CopyFault = 'missing' | 'corrupt' | 'unreadable';

/** The copies of a part known bad, by node (none for nearly every part). */
export type CopyFaults = Readonly<Partial<Record<string, CopyFault>>>;

export interface PartRecord {
  idx: number;
  offset: number;
  size: number;
  chunkId: string;
  /** Of the part's bytes, as its chunk's copies are stored with it. */
  checksum: Checksum;
  /** Nodes holding a copy, intact or not. */
  nodes: string[];
  /** Of `nodes`, those whose copy is known bad, and why (see CopyFault). */
  faults: CopyFaults;
}

/** How many parts there are, and how many lack intact copies on the nodes counted (MetadataStore.copyCounts). */
export interface CopyCounts {
  parts: number;
  /** Parts with fewer than `replicas` intact copies on the nodes counted. */
  underReplicated: number;
  /** Parts with no intact copy on the nodes counted: every copy there is known bad, or none is there. */
  unavailable: number;
  /** Parts with no intact copy anywhere: every copy they have, wherever it is, is known bad (or they have none). */
  damaged: number;
}

/** What a new content's commit records besides its parts: each field defaults to leaving the content type, or to now. */
export interface ContentStamp {
  contentType?: string | null;
  modifiedMs?: number;
  /** The ctime, unless the file's is later already. */
  changedMs?: number;
}

/** What every copy of a part holds: its chunk id, size and checksum. */
export type ChunkRecord = Pick<PartRecord, 'chunkId' | 'size' | 'checksum'>;

export interface NewEntry {
  kind: EntryKind;
  mode: number;
  uid?: number;
  gid?: number;
  contentType?: string | null;
  target?: string | null;
  size?: number;
  modifiedMs?: number;
  /**
   * A file made empty for a writer to fill (Controller.createFile): it counts as an
   * uncommitted create (uncommittedCreates) until content is first committed to it.
   */
  uncommittedCreate?: boolean;
}

export interface DoomedCopy {
  chunkId: string;
  nodeId: string;
}

export interface NodeRow {
  id: string;
  address: string;
  capacityBytes: number;
  freeBytes: number;
  usedBytes: number;
  chunkCount: number;
}

/** A part's columns as a RawPart: its holders (schema.ts) are the nodes with a copy. */
const PART_COLUMNS = `idx, offset, size, chunk_id AS chunkId, digest, digest_algorithm AS algorithm, holders AS nodes, faults`;

/**
 * Entries as reached by a name: the row `n` holding the name (parent, name, nameId)
 * joined to the entry's own row `e` (everything else), which is `n` itself unless `n`
 * is a further name (a hard link). Filter on `n`.
 */
const NAMED_ENTRIES = `SELECT e.id, n.id AS nameId, n.parent_id AS parentId, n.name, e.kind, e.size, e.stored_bytes AS storedBytes,
  e.mode, e.uid, e.gid, e.content_type AS contentType, e.target, e.version, e.created_ms AS createdMs,
  e.modified_ms AS modifiedMs, e.changed_ms AS changedMs, e.accessed_ms AS accessedMs, e.subdirs,
  1 + (SELECT count(*) FROM entries l WHERE l.link_to = e.id) AS links
  FROM entries n JOIN entries e ON e.id = COALESCE(n.link_to, n.id)`;

export const ROOT_ID = 1;

/** A read moves an access time at least this old, whatever the other times (Linux's relatime: a day). */
const RELATIME_MS = 24 * 3600_000;

/** How long opening waits for a controller that is still exiting to let go of the file. */
const OPEN_WAIT_MS = 2000;

export class MetadataInUseError extends Error {}

/** An edit's commit found a part it keeps gone from its file (MetadataStore.replaceContent). */
export class KeptPartsGoneError extends Error {}

/**
 * Opens the metadata file, locked for this controller until it closes (file-lock.ts).
 * Two controllers on one metadata file would each count the other's nodes as down
 * and repair against them, and each keeps in memory the copies it stored but has not
 * committed yet, which its scrub and collector rely on; so a second controller is
 * refused, with one sentence. Any other failure names the file and says why.
 */
function openMetadataFile(file: string): Database.Database {
  try {
    return openLocked(file, OPEN_WAIT_MS);
  } catch (err) {
    if (err instanceof FileOpenError) throw metadataOpenError(file, err.why);
    if (!(err instanceof FileLockedError)) throw err;
    const holder = err.holderPid === undefined ? '' : ` (process ${err.holderPid})`;
    throw new MetadataInUseError(`metadata file ${file} is in use by another raidfs controller${holder}; stop it first`);
  }
}

/** The metadata file `file` cannot be used, for the reason `why`: the one error that says so. */
function metadataOpenError(file: string, why: string): Error {
  return new Error(`cannot open the metadata file ${file}: ${why}`);
}

export class MetadataStore {
  private readonly db: Database.Database;
  private readonly stmt;
  /** Commits of lazyTransaction since the last commit known to be fsynced. */
  private lazyCommits = 0;
  private readonly entryListeners = new Set<() => void>();
  /** The cluster's id, made with the database (schema.ts): a node of another cluster is refused. */
  readonly clusterId: string;

  constructor(file: string) {
    this.db = openMetadataFile(file);
    try {
      this.db.pragma('synchronous = FULL');
      this.db.pragma('foreign_keys = ON');
      migrate(this.db);
      this.clusterId = this.db.prepare('SELECT id FROM cluster').pluck().get() as string;
    } catch (err) {
      this.db.close();
      throw metadataOpenError(file, errorMessage(err));
    }
    const db = this.db;
    this.stmt = {
      // Prepared once: db.pragma() compiles its statement on every call (twice per lazyTransaction).
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
      // A checkpoint fsyncs the WAL before it copies any of it into the database.
      checkpoint: db.prepare('PRAGMA wal_checkpoint(PASSIVE)'),
      totalChanges: db.prepare('SELECT total_changes()').pluck(),
      // An entry by id under its own row's name; a further name's id is no entry's.
      byId: db.prepare(`${NAMED_ENTRIES} WHERE n.id = ? AND n.link_to IS NULL`),
      child: db.prepare(`${NAMED_ENTRIES} WHERE n.parent_id = ? AND n.name = ?`),
      children: db.prepare(`${NAMED_ENTRIES} WHERE n.parent_id = ? AND n.name > ? ORDER BY n.name LIMIT ?`),
      childrenAfter: db.prepare(`${NAMED_ENTRIES} WHERE n.parent_id = ? AND n.id > ? ORDER BY n.id LIMIT ?`),
      filesAfter: db.prepare(`${NAMED_ENTRIES} WHERE n.id > ? AND n.kind = 'file' AND n.link_to IS NULL ORDER BY n.id LIMIT ?`),
      hasChildren: db.prepare(`SELECT 1 FROM entries WHERE parent_id = ? LIMIT 1`),
      // Every row less the further names: both counts read an index (a filter on link_to IS NULL scanned the table).
      entryCount: db.prepare(`SELECT (SELECT count(*) FROM entries) - (SELECT count(*) FROM entries WHERE link_to IS NOT NULL)`).pluck(),
      nameRow: db.prepare(`SELECT id, parent_id AS parentId, name, link_to AS linkTo FROM entries WHERE id = ?`),
      furtherNames: db.prepare(`SELECT id, parent_id AS parentId, name FROM entries WHERE link_to = ? ORDER BY id`),
      insertLink: db.prepare(`INSERT INTO entries (id, parent_id, name, kind, mode, link_to, created_ms, modified_ms, changed_ms, accessed_ms)
                                VALUES ((SELECT last + 1 FROM entry_ids), @parentId, @name, @kind, 0, @linkTo, @now, @now, @now, @now)`),
      touchChanged: db.prepare(`UPDATE entries SET changed_ms = ? WHERE id = ?`),
      insert: db.prepare(`INSERT INTO entries (id, parent_id, name, kind, size, mode, uid, gid, content_type, target,
                            created_ms, modified_ms, changed_ms, accessed_ms, uncommitted_create)
                          VALUES ((SELECT last + 1 FROM entry_ids), @parentId, @name, @kind, @size, @mode, @uid, @gid, @contentType, @target,
                            @now, @modifiedMs, @now, @now, @uncommittedCreate)`),
      deleteEntry: db.prepare(`DELETE FROM entries WHERE id = ?`),
      touchDir: db.prepare(`UPDATE entries SET modified_ms = ?, changed_ms = ? WHERE id = ?`),
      setContent: db.prepare(`UPDATE entries SET size = @size, stored_bytes = @stored, version = version + 1, modified_ms = @modifiedMs,
                                changed_ms = MAX(changed_ms, @changedMs), content_type = COALESCE(@contentType, content_type), uncommitted_create = 0 WHERE id = @id`),
      // By the partial index entries_uncommitted_creates (schema.ts), which holds only these rows.
      uncommittedCreates: db.prepare(`SELECT id FROM entries WHERE uncommitted_create = 1 ORDER BY id`).pluck(),
      move: db.prepare(`UPDATE entries SET parent_id = ?, name = ?, changed_ms = ? WHERE id = ?`),
      parts: db.prepare(`SELECT ${PART_COLUMNS} FROM parts WHERE file_id = ? ORDER BY idx`),
      insertPart: db.prepare(`INSERT INTO parts (file_id, idx, offset, size, chunk_id, digest, digest_algorithm, holders) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
      insertReplica: db.prepare(`INSERT INTO replicas (chunk_id, node_id) VALUES (?, ?)`),
      doomReplicas: db.prepare(`INSERT OR IGNORE INTO doomed (chunk_id, node_id, since_ms)
                                  SELECT r.chunk_id, r.node_id, ? FROM replicas r
                                  JOIN parts p ON p.chunk_id = r.chunk_id WHERE p.file_id = ?`),
      deleteParts: db.prepare(`DELETE FROM parts WHERE file_id = ?`),
      doomReplicasExcept: db.prepare(`INSERT OR IGNORE INTO doomed (chunk_id, node_id, since_ms)
                                  SELECT r.chunk_id, r.node_id, ? FROM replicas r JOIN parts p ON p.chunk_id = r.chunk_id
                                  WHERE p.file_id = ? AND p.chunk_id NOT IN (SELECT value FROM json_each(?))`),
      deletePartsExcept: db.prepare(`DELETE FROM parts WHERE file_id = ? AND chunk_id NOT IN (SELECT value FROM json_each(?))`),
      countPartsOf: db.prepare(`SELECT count(*) FROM parts WHERE file_id = ? AND chunk_id IN (SELECT value FROM json_each(?))`).pluck(),
      doom: db.prepare(`INSERT OR IGNORE INTO doomed (chunk_id, node_id, since_ms) VALUES (?, ?, ?)`),
      dueDoomed: db.prepare(`SELECT chunk_id AS chunkId, node_id AS nodeId FROM doomed
                                 WHERE since_ms <= ? AND node_id IN (SELECT value FROM json_each(?)) ORDER BY node_id LIMIT ?`),
      forgetDoomed: db.prepare(`DELETE FROM doomed WHERE chunk_id = ? AND node_id = ?`),
      postponeDoomed: db.prepare(`UPDATE doomed SET since_ms = ? WHERE chunk_id = ? AND node_id = ?`),
      upsertNode: db.prepare(`INSERT INTO nodes (id, address, capacity_bytes, free_bytes, used_bytes, chunk_count, first_seen_ms, last_seen_ms)
                                VALUES (@id, @address, @capacityBytes, @freeBytes, @usedBytes, @chunkCount, @now, @now)
                              ON CONFLICT(id) DO UPDATE SET address = excluded.address, capacity_bytes = excluded.capacity_bytes,
                                free_bytes = excluded.free_bytes, used_bytes = excluded.used_bytes,
                                chunk_count = excluded.chunk_count, last_seen_ms = excluded.last_seen_ms`),
      knownNodes: db.prepare(`SELECT id, address, capacity_bytes AS capacityBytes, free_bytes AS freeBytes,
                                used_bytes AS usedBytes, chunk_count AS chunkCount, draining FROM nodes ORDER BY id`),
      setDraining: db.prepare(`UPDATE nodes SET draining = ? WHERE id = ?`),
      part: db.prepare(`SELECT ${PART_COLUMNS} FROM parts WHERE chunk_id = ?`),
      partExists: db.prepare(`SELECT 1 FROM parts WHERE chunk_id = ?`),
      nodeKnown: db.prepare(`SELECT 1 FROM nodes WHERE id = ?`).pluck(),
      holderSets: db.prepare(`SELECT holders, parts FROM holder_sets`),
      faultSets: db.prepare(`SELECT holders, faults, parts FROM fault_sets`),
      // Parts with these holders and no fault, by parts_by_holders (the few with one are filtered out).
      partsHeldIntactBy: db.prepare(`SELECT ${PART_COLUMNS} FROM parts
                                 WHERE holders = @holders AND faults = '{}' AND chunk_id > @after ORDER BY chunk_id LIMIT @limit`),
      // Parts with these holders and faults, by the partial index parts_with_faults (which holds no other part).
      partsHeldWithFaults: db.prepare(`SELECT ${PART_COLUMNS} FROM parts
                                 WHERE holders = @holders AND faults = @faults AND faults <> '{}' AND chunk_id > @after
                                 ORDER BY chunk_id LIMIT @limit`),
      // The files of such parts, by the same indexes.
      filesHeldIntactBy: db.prepare(`SELECT DISTINCT file_id FROM parts WHERE holders = @holders AND faults = '{}' LIMIT @limit`).pluck(),
      filesHeldWithFaults: db.prepare(`SELECT DISTINCT file_id FROM parts
                                 WHERE holders = @holders AND faults = @faults AND faults <> '{}' LIMIT @limit`).pluck(),
      fileOfPart: db.prepare(`SELECT file_id FROM parts WHERE chunk_id = ?`).pluck(),
      setCopyFault: db.prepare(`UPDATE replicas SET fault = @fault WHERE chunk_id = @chunkId AND node_id = @nodeId AND fault IS NOT @fault`),
      copiesOnNode: db.prepare(`SELECT r.chunk_id AS chunkId, p.size, p.digest, p.digest_algorithm AS algorithm, r.fault
                                 FROM replicas r JOIN parts p ON p.chunk_id = r.chunk_id
                                 WHERE r.node_id = ? AND r.chunk_id > ? ORDER BY r.chunk_id LIMIT ?`),
      unaccounted: db.prepare(`SELECT j.value FROM json_each(@ids) j
                                 WHERE NOT EXISTS (SELECT 1 FROM replicas WHERE chunk_id = j.value AND node_id = @nodeId)
                                   AND NOT EXISTS (SELECT 1 FROM doomed WHERE chunk_id = j.value AND node_id = @nodeId)`).pluck(),
      doomedNodes: db.prepare(`SELECT node_id AS nodeId FROM doomed WHERE chunk_id = ?`),
      deleteReplica: db.prepare(`DELETE FROM replicas WHERE chunk_id = ? AND node_id = ?`),
      doomedCountOn: db.prepare(`SELECT count(*) FROM doomed WHERE node_id = ?`).pluck(),
      hasCopiesOn: db.prepare(`SELECT EXISTS (SELECT 1 FROM replicas WHERE node_id = @nodeId)
                                 OR EXISTS (SELECT 1 FROM doomed WHERE node_id = @nodeId)`).pluck(),
      forgetDoomedOn: db.prepare(`DELETE FROM doomed WHERE rowid IN (SELECT rowid FROM doomed WHERE node_id = ? LIMIT ?)`),
      forgetReplicasOn: db.prepare(`DELETE FROM replicas WHERE node_id = ?`),
      forgetAllDoomedOn: db.prepare(`DELETE FROM doomed WHERE node_id = ?`),
      deleteNode: db.prepare(`DELETE FROM nodes WHERE id = ?`),
      setAttrs: db.prepare(`UPDATE entries SET mode = COALESCE(@mode, mode), uid = COALESCE(@uid, uid),
                              gid = COALESCE(@gid, gid), modified_ms = COALESCE(@modifiedMs, modified_ms),
                              accessed_ms = COALESCE(@accessedMs, accessed_ms), changed_ms = @now WHERE id = @id`),
      // Linux's relatime rule (see accessDue).
      accessDue: db.prepare(`SELECT EXISTS (SELECT 1 FROM entries WHERE id = @id
                               AND (accessed_ms <= modified_ms OR accessed_ms <= changed_ms OR accessed_ms <= @now - ${RELATIME_MS}))`).pluck(),
      setAccessed: db.prepare(`UPDATE entries SET accessed_ms = @now WHERE id = @id`),
    };
  }

  close(): void {
    this.sync();
    this.db.close();
  }

  /** Runs `fn` in one transaction, fsynced at commit (nested calls join the outer one). */
  transaction<T>(fn: () => T): T {
    if (this.lazyCommits === 0 || this.db.inTransaction) return this.db.transaction(fn)();
    const changesBefore = this.stmt.totalChanges.get();
    const result = this.db.transaction(fn)();
    // A commit that wrote was fsynced, and with it every lazy commit before it.
    if (this.stmt.totalChanges.get() !== changesBefore) this.lazyCommits = 0;
    return result;
  }

  /**
   * Runs `fn` in one transaction whose commit is not fsynced (synchronous=NORMAL for
   * that commit). The WAL keeps commits in order, so it becomes durable with sync()
   * or the next durable commit; a power loss before that loses it whole, never part
   * of it. A crash of the process alone loses nothing (the WAL is written at commit).
   */
  lazyTransaction<T>(fn: () => T): T {
    this.stmt.syncNormal.run();
    try {
      const result = this.db.transaction(fn)();
      this.lazyCommits += 1;
      return result;
    } finally {
      this.stmt.syncFull.run();
    }
  }

  /** Lazy commits that may not be on disk yet (none after sync()). */
  get unsyncedCommits(): number {
    return this.lazyCommits;
  }

  /** Makes every commit so far durable; does nothing when none is pending. */
  sync(): void {
    if (this.lazyCommits === 0) return;
    this.stmt.checkpoint.run();
    this.lazyCommits = 0;
  }

  entry(id: number): Entry | undefined {
    return this.stmt.byId.get(id) as Entry | undefined;
  }

  child(parentId: number, name: string): Entry | undefined {
    return this.stmt.child.get(parentId, name) as Entry | undefined;
  }

  /** A directory's entries sorted by name: those named after `after` ('' for all), at most `limit` (-1: no limit). */
  children(dirId: number, after = '', limit = -1): Entry[] {
    return this.stmt.children.all(dirId, after, limit) as Entry[];
  }

  /** Up to `limit` of a directory's entries whose ids are above `afterId`, in id order (ids are never reused). */
  childrenAfter(dirId: number, afterId: number, limit: number): Entry[] {
    return this.stmt.childrenAfter.all(dirId, afterId, limit) as Entry[];
  }

  /** Up to `limit` regular files whose ids are above `afterId`, in id order. */
  filesAfter(afterId: number, limit: number): Entry[] {
    return this.stmt.filesAfter.all(afterId, limit) as Entry[];
  }

  hasChildren(dirId: number): boolean {
    return this.stmt.hasChildren.get(dirId) !== undefined;
  }

  /** Files, directories and symlinks in the tree, the root included (each once, whatever its number of names). */
  entryCount(): number {
    return this.stmt.entryCount.get() as number;
  }

  /** Walks `names` from the root; undefined if any component is missing. */
  resolve(names: readonly string[]): Entry | undefined {
    let entry = this.entry(ROOT_ID);
    for (const name of names) {
      if (!entry) return undefined;
      if (entry.kind !== 'dir') throw new RaidfsError('ENOTDIR', `${entry.name} is not a directory`);
      entry = this.child(entry.id, name);
    }
    return entry;
  }

  /**
   * Calls `listener` after every change to an entry: inserted, moved, removed, new
   * attributes or content (for attributes cached outside, such as the mount's).
   * Returns a function that stops the calls.
   */
  onEntriesChanged(listener: () => void): () => void {
    this.entryListeners.add(listener);
    return () => this.entryListeners.delete(listener);
  }

  private entriesChanged(): void {
    for (const listener of this.entryListeners) listener();
  }

  insertEntry(parentId: number, name: string, spec: NewEntry): Entry {
    const now = Date.now();
    const info = this.stmt.insert.run({
      parentId, name, kind: spec.kind, size: spec.size ?? 0, mode: spec.mode & 0o7777, uid: spec.uid ?? PROCESS_OWNER.uid,
      gid: spec.gid ?? PROCESS_OWNER.gid, contentType: spec.contentType ?? null, target: spec.target ?? null, now,
      modifiedMs: spec.modifiedMs ?? now, uncommittedCreate: spec.uncommittedCreate ? 1 : 0,
    });
    this.stmt.touchDir.run(now, now, parentId);
    this.entriesChanged();
    return this.entry(Number(info.lastInsertRowid))!;
  }

  /**
   * The ids of the files inserted as uncommitted creates (NewEntry.uncommittedCreate)
   * that no replaceContent has filled since, by index: what a crash of the
   * controller left of the files the mount was creating.
   */
  uncommittedCreates(): number[] {
    return this.stmt.uncommittedCreates.all() as number[];
  }

  /**
   * Replaces a file's parts and sets its size; the file is no uncommitted create
   * from then on. The parts whose chunk ids are in `kept` stay as they are (an edit
   * that changed only some stripes); every other old part goes, its copies doomed.
   * Throws KeptPartsGoneError, changing nothing, if a kept part is no longer one of
   * the file's (another write replaced it meanwhile).
   * A copy on a node no longer known (forgotten while the draft was stored) is left
   * out; returns how many were, so that the caller has repair make them elsewhere.
   */
  replaceContent(fileId: number, size: number, parts: readonly PartRecord[], kept: readonly string[], stamp: ContentStamp = {}): number {
    const now = Date.now();
    if (kept.length === 0) {
      this.stmt.doomReplicas.run(now, fileId);
      this.stmt.deleteParts.run(fileId);
    } else {
      const keptJson = JSON.stringify(kept);
      if (this.stmt.countPartsOf.get(fileId, keptJson) !== kept.length) {
        throw new KeptPartsGoneError(`file ${fileId} was rewritten while being edited`);
      }
      this.stmt.doomReplicasExcept.run(now, fileId, keptJson);
      this.stmt.deletePartsExcept.run(fileId, keptJson);
    }
    const keptIds = new Set(kept);
    let leftOut = 0;
    for (const part of parts) {
      if (keptIds.has(part.chunkId)) continue;
      const nodes = this.knownOf(part.nodes);
      leftOut += part.nodes.length - nodes.length;
      this.stmt.insertPart.run(fileId, part.idx, part.offset, part.size, part.chunkId, part.checksum.digest, part.checksum.algorithm, holdersOf(nodes));
      for (const node of nodes) this.stmt.insertReplica.run(part.chunkId, node);
    }
    const stored = parts.reduce((sum, part) => sum + part.size, 0);
    this.stmt.setContent.run({
      id: fileId, size, stored, now, modifiedMs: stamp.modifiedMs ?? now, changedMs: stamp.changedMs ?? now, contentType: stamp.contentType ?? null,
    });
    this.entriesChanged();
    return leftOut;
  }

  /**
   * Removes the name held by row `nameId` (an Entry's nameId), if it is still there:
   * the entry goes with its last name (a file's copies become doomed). When the
   * entry's own row holds the name and the entry has further names, one of them
   * moves into that row, so the entry keeps its id. The caller checks directories
   * are empty.
   */
  removeName(nameId: number): void {
    const row = this.stmt.nameRow.get(nameId) as { id: number; parentId: number | null; name: string; linkTo: number | null } | undefined;
    if (!row) return;
    const now = Date.now();
    if (row.linkTo !== null) {
      this.stmt.deleteEntry.run(row.id);
      this.stmt.touchChanged.run(now, row.linkTo);
    } else {
      const further = this.stmt.furtherNames.get(row.id) as { id: number; parentId: number; name: string } | undefined;
      if (further) {
        this.stmt.deleteEntry.run(further.id);
        this.stmt.move.run(further.parentId, further.name, now, row.id);
      } else {
        this.stmt.doomReplicas.run(now, row.id);
        this.stmt.deleteEntry.run(row.id);
      }
    }
    if (row.parentId !== null) this.stmt.touchDir.run(now, now, row.parentId);
    this.entriesChanged();
  }

  /** Removes entry `id` under every name it has: its further names, then its own. */
  removeEntry(id: number): void {
    for (const further of this.stmt.furtherNames.all(id) as Array<{ id: number }>) this.removeName(further.id);
    this.removeName(id);
  }

  /** Gives `entry`'s name a new place: the row holding it moves (the entry's id stays). */
  moveEntry(entry: Entry, newParentId: number, newName: string): void {
    const now = Date.now();
    this.stmt.move.run(newParentId, newName, now, entry.nameId);
    if (entry.nameId !== entry.id) this.stmt.touchChanged.run(now, entry.id);
    if (entry.parentId !== null) this.stmt.touchDir.run(now, now, entry.parentId);
    this.stmt.touchDir.run(now, now, newParentId);
    this.entriesChanged();
  }

  /** Adds `name` in directory `parentId` as a further name of `entry`, a file or symlink (a hard link). */
  insertLink(parentId: number, name: string, entry: Entry): Entry {
    const now = Date.now();
    this.stmt.insertLink.run({ parentId, name, kind: entry.kind, linkTo: entry.id, now });
    this.stmt.touchChanged.run(now, entry.id);
    this.stmt.touchDir.run(now, now, parentId);
    this.entriesChanged();
    return this.child(parentId, name)!;
  }

  setAttributes(id: number, attrs: EntryAttributes): void {
    this.stmt.setAttrs.run({
      id, now: Date.now(), mode: attrs.mode === undefined ? null : attrs.mode & 0o7777, uid: attrs.uid ?? null,
      gid: attrs.gid ?? null, modifiedMs: attrs.modifiedMs ?? null, accessedMs: attrs.accessedMs ?? null,
    });
    this.entriesChanged();
  }

  /**
   * Whether a read at `now` moves entry `id`'s access time, by Linux's relatime rule:
   * it is not after the last change of its content or attributes, or is a day old.
   */
  accessDue(id: number, now: number): boolean {
    return this.stmt.accessDue.get({ id, now }) === 1;
  }

  /** Sets entry `id`'s access time to `now` (a read: its ctime stays). */
  setAccessed(id: number, now: number): void {
    this.stmt.setAccessed.run({ id, now });
    this.entriesChanged();
  }

  parts(fileId: number): PartRecord[] {
    return (this.stmt.parts.all(fileId) as RawPart[]).map(partFromRow);
  }

  /** Marks chunk copies that were stored but will never be committed. */
  doom(copies: readonly DoomedCopy[]): void {
    const now = Date.now();
    this.transaction(() => copies.forEach((c) => this.stmt.doom.run(c.chunkId, c.nodeId, now)));
  }

  /** Doomed copies on `nodes` doomed at or before `olderThanMs`. */
  dueDoomed(olderThanMs: number, nodes: readonly string[], limit: number): DoomedCopy[] {
    return this.stmt.dueDoomed.all(olderThanMs, JSON.stringify(nodes), limit) as DoomedCopy[];
  }

  forgetDoomed(copies: readonly DoomedCopy[]): void {
    this.transaction(() => copies.forEach((c) => this.stmt.forgetDoomed.run(c.chunkId, c.nodeId)));
  }

  /** Doomed copies that must wait: due again `nowMs` plus the delete delay. */
  postponeDoomed(copies: readonly DoomedCopy[], nowMs: number): void {
    this.transaction(() => copies.forEach((c) => this.stmt.postponeDoomed.run(nowMs, c.chunkId, c.nodeId)));
  }

  upsertNode(id: string, address: string, report: Omit<NodeRow, 'id' | 'address'>): void {
    this.stmt.upsertNode.run({ id, address, ...report, now: Date.now() });
  }

  /** Every node registered and not forgotten, with its last report and whether it is being drained. */
  knownNodes(): Array<NodeRow & { draining: boolean }> {
    return (this.stmt.knownNodes.all() as Array<NodeRow & { draining: number }>).map((row) => ({ ...row, draining: row.draining === 1 }));
  }

  /** Marks node `id` as being drained, or no longer. */
  setDraining(id: string, draining: boolean): void {
    this.stmt.setDraining.run(draining ? 1 : 0, id);
  }

  /** Whether a copy of a part, or a doomed copy, is recorded on `nodeId` (two indexed lookups). */
  hasCopiesOn(nodeId: string): boolean {
    return this.stmt.hasCopiesOn.get({ nodeId }) === 1;
  }

  /**
   * How many parts would have fewer than `replicas` intact copies without their copy
   * on `nodeId`, wherever the others are (from holder_sets and fault_sets).
   */
  partsNeedingCopyOn(nodeId: string, replicas: number): number {
    return this.partsHeldBy((set) => set.nodes.includes(nodeId)
      && intactCopiesOn(set, set.nodes.filter((id) => id !== nodeId)) < replicas);
  }

  /**
   * What node `nodeId` should hold: a copy of each part recorded there (from
   * holder_sets), and each doomed copy it has not deleted yet (one count by index).
   */
  chunksExpectedOn(nodeId: string): { copies: number; doomed: number } {
    return { copies: this.partsHeldBy((set) => set.nodes.includes(nodeId)), doomed: this.stmt.doomedCountOn.get(nodeId) as number };
  }

  /** Forgets at most `limit` of the doomed copies on `nodeId`, in one short transaction; returns how many. */
  forgetDoomedOn(nodeId: string, limit: number): number {
    return this.transaction(() => this.stmt.forgetDoomedOn.run(nodeId, limit).changes);
  }

  /**
   * Forgets node `nodeId`, gone for good: its row, its copies (of parts that have
   * enough elsewhere: the caller checked partsNeedingCopyOn) and its doomed copies
   * left, in one transaction. Returns how many copies and doomed copies went.
   */
  forgetNode(nodeId: string): { copies: number; doomed: number } {
    return this.transaction(() => {
      const copies = this.stmt.forgetReplicasOn.run(nodeId).changes;
      const doomed = this.stmt.forgetAllDoomedOn.run(nodeId).changes;
      this.stmt.deleteNode.run(nodeId);
      return { copies, doomed };
    });
  }

  // ---- maintenance: repair, scrub, orphan collection ----------------------------

  /** The part stored as `chunkId`, if a committed file still refers to it. */
  part(chunkId: string): PartRecord | undefined {
    const row = this.stmt.part.get(chunkId) as RawPart | undefined;
    return row && partFromRow(row);
  }

  /**
   * Parts with fewer than `replicas` intact copies on `nodes`, in batches of at most
   * `limit`: one indexed query per batch, run when the batch is asked for, so a caller
   * that waits between batches never holds the database for long. Parts that change
   * holders or faults during the walk may be skipped or seen twice; the next pass
   * finds them.
   */
  *partsWithFewerCopies(nodes: readonly string[], replicas: number, limit: number): Generator<PartRecord[]> {
    for (const set of this.copySets().filter((s) => intactCopiesOn(s, nodes) < replicas)) {
      const query = set.faults === NO_FAULTS ? this.stmt.partsHeldIntactBy : this.stmt.partsHeldWithFaults;
      for (let after = ''; ;) {
        const batch = (query.all({ holders: set.holders, faults: set.faults, after, limit }) as RawPart[]).map(partFromRow);
        if (batch.length) yield batch;
        if (batch.length < limit) break;
        after = batch.at(-1)!.chunkId;
      }
    }
  }

  /** How many parts there are, and how many lack intact copies on `nodes` (see CopyCounts); from a few rows. */
  copyCounts(nodes: readonly string[], replicas: number): CopyCounts {
    const counts = { parts: 0, underReplicated: 0, unavailable: 0, damaged: 0 };
    for (const set of this.copySets()) {
      const copies = intactCopiesOn(set, nodes);
      counts.parts += set.parts;
      if (copies < replicas) counts.underReplicated += set.parts;
      if (copies === 0) counts.unavailable += set.parts;
      if (intactCopiesOn(set, set.nodes) === 0) counts.damaged += set.parts;
    }
    return counts;
  }

  /**
   * The ids of up to `limit` files with a damaged part (no intact copy anywhere; see
   * CopyCounts), by index: only damaged parts are read (by parts_with_faults, and by
   * parts_by_holders those with no copy at all).
   */
  damagedFiles(limit: number): number[] {
    const files = new Set<number>();
    for (const set of this.copySets().filter((s) => intactCopiesOn(s, s.nodes) === 0)) {
      if (files.size >= limit) break;
      const query = set.faults === NO_FAULTS ? this.stmt.filesHeldIntactBy : this.stmt.filesHeldWithFaults;
      const ids = query.all({ holders: set.holders, faults: set.faults, limit }) as number[];
      for (const id of ids) if (files.size < limit) files.add(id);
    }
    return [...files];
  }

  /** The file whose part is stored as `chunkId`, if any still refers to it. */
  fileOfPart(chunkId: string): number | undefined {
    return this.stmt.fileOfPart.get(chunkId) as number | undefined;
  }

  /**
   * Records what is wrong with the copy of `chunkId` on `nodeId` (a scrub or read found
   * it bad), or that nothing is (null: it was rewritten, or found good since). Does
   * nothing if the part records no such copy (dropped or replaced meanwhile), or it
   * already has that fault.
   */
  setCopyFault(chunkId: string, nodeId: string, fault: CopyFault | null): void {
    this.stmt.setCopyFault.run({ chunkId, nodeId, fault });
  }

  /** How many parts have holders and faults that `match` (from holder_sets and fault_sets). */
  private partsHeldBy(match: (set: CopySet) => boolean): number {
    return this.copySets().filter(match).reduce((total, set) => total + set.parts, 0);
  }

  /**
   * Each distinct pair of holders and faults and how many parts have it (a few rows:
   * one per combination of nodes in use, and one per combination of bad copies found).
   * holder_sets counts every part by holders; fault_sets those with faults, which are
   * taken out of their holders' row here.
   */
  private copySets(): CopySet[] {
    const withFaults = (this.stmt.faultSets.all() as Array<{ holders: string; faults: string; parts: number }>)
      .map((row) => ({ ...row, nodes: JSON.parse(row.holders) as string[], faultyNodes: Object.keys(JSON.parse(row.faults) as object) }));
    const faultyParts = new Map<string, number>();
    for (const set of withFaults) faultyParts.set(set.holders, (faultyParts.get(set.holders) ?? 0) + set.parts);
    const intact = (this.stmt.holderSets.all() as Array<{ holders: string; parts: number }>)
      .map((row) => ({
        holders: row.holders, faults: NO_FAULTS, parts: row.parts - (faultyParts.get(row.holders) ?? 0),
        nodes: JSON.parse(row.holders) as string[], faultyNodes: [],
      }))
      .filter((set) => set.parts > 0);
    return [...intact, ...withFaults];
  }

  /** The copies `nodeId` should hold, in chunk id order after `after`, each with its fault if one is known. */
  copiesOnNode(nodeId: string, after: string, limit: number): Array<ChunkRecord & { fault: CopyFault | null }> {
    return (this.stmt.copiesOnNode.all(nodeId, after, limit) as Array<Omit<ChunkRecord, 'checksum'> & Checksum & { fault: CopyFault | null }>)
      .map(({ digest, algorithm, ...copy }) => ({ ...copy, checksum: { algorithm, digest } }));
  }

  /** Of `chunkIds` on `nodeId`, those the metadata does not account for (neither a committed file's replica nor doomed); one query. */
  unaccounted(nodeId: string, chunkIds: readonly string[]): string[] {
    return this.stmt.unaccounted.all({ ids: JSON.stringify(chunkIds), nodeId }) as string[];
  }

  /** Nodes holding a doomed copy of `chunkId` (a new copy must not go there: it would be deleted). */
  doomedNodesOf(chunkId: string): string[] {
    return (this.stmt.doomedNodes.all(chunkId) as Array<{ nodeId: string }>).map((r) => r.nodeId);
  }

  /**
   * Moves a part's copies: `dropped` leave the part (and become doomed), `added` join
   * it, those on a node no longer known excepted (forgotten while the copy was made).
   * Returns false, dooming the added copies instead, if no file refers to the part
   * any more (it was deleted or replaced meanwhile).
   */
  moveCopies(chunkId: string, dropped: readonly string[], added: readonly string[]): boolean {
    return this.transaction(() => {
      const now = Date.now();
      if (!this.stmt.partExists.get(chunkId)) {
        added.forEach((nodeId) => this.stmt.doom.run(chunkId, nodeId, now));
        return false;
      }
      for (const nodeId of dropped) {
        if (this.stmt.deleteReplica.run(chunkId, nodeId).changes) this.stmt.doom.run(chunkId, nodeId, now);
      }
      this.knownOf(added).forEach((nodeId) => this.stmt.insertReplica.run(chunkId, nodeId));
      return true;
    });
  }

  /** The nodes of `nodes` that are known: a copy is never recorded on a node forgotten (forgetNode) or never seen. */
  private knownOf(nodes: readonly string[]): string[] {
    return nodes.filter((id) => this.stmt.nodeKnown.get(id) !== undefined);
  }
}

type RawPart = Omit<PartRecord, 'nodes' | 'checksum' | 'faults'> & Checksum & { nodes: string; faults: string };

function partFromRow({ digest, algorithm, nodes, faults, ...row }: RawPart): PartRecord {
  return {
    ...row, checksum: { algorithm, digest }, nodes: JSON.parse(nodes) as string[],
    faults: faults === NO_FAULTS ? {} : JSON.parse(faults) as CopyFaults,
  };
}

/** parts.faults of a part with no copy known bad (schema.ts). */
const NO_FAULTS = '{}';

/** Parts that have the same holders and the same copies known bad, and how many (MetadataStore.copySets). */
interface CopySet {
  /** As parts.holders and parts.faults store them. */
  holders: string;
  faults: string;
  nodes: string[];
  /** Of `nodes`, those whose copy is known bad. */
  faultyNodes: string[];
  parts: number;
}

/**
 * `nodes` as parts.holders stores them (schema.ts): a sorted JSON array. The order only
 * keeps one row per set in holder_sets; counts and the repair search go by membership,
 * so an id that sorted otherwise in SQLite would cost a row, not a wrong count.
 */
function holdersOf(nodes: readonly string[]): string {
  return JSON.stringify([...nodes].sort());
}

/** How many of a set's copies are on `nodes` and not known bad. */
function intactCopiesOn(set: CopySet, nodes: readonly string[]): number {
  return set.nodes.filter((id) => nodes.includes(id) && !set.faultyNodes.includes(id)).length;
}
