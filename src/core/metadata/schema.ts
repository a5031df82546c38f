/**
 * The controller's SQLite schema, as an ordered list of migrations. The database
 * records which have run (PRAGMA user_version); opening a database runs the missing
 * ones in one transaction each. Never edit a released migration: append a new one.
 *
 * Tables:
 *   nodes     every storage node ever registered (until forgotten), with its address,
 *             last report and whether it is being drained
 *   entries   the directory tree: files, directories and symlinks; id 1 is the root;
 *             (parent_id, name) is unique; `version` grows on every content change;
 *             a row with `link_to` set is only a further name (a hard link) of the
 *             file or symlink with that id, whose row holds everything else;
 *             `stored_bytes` is what a file's parts hold (its size less its holes);
 *             `subdirs` is how many of a directory's entries are directories (kept
 *             by triggers); `uncommitted_create` is 1 on a file a create made empty
 *             (the mount's, Controller.createFile) until content is first committed
 *             to it, and 0 on every other row
 *   parts     a file's parts in order: byte range, chunk id, checksum (`digest`, and
 *             `digest_algorithm` as in proto/raidfs.proto's ChecksumAlgorithm), and
 *             `holders`, the nodes with a copy, and `faults`, the copies known bad
 *             with what is wrong with each (a JSON object, node id to fault; '{}'
 *             for nearly every part): both derived from replicas by triggers
 *   replicas  which nodes hold each part's chunk (one row per copy), and `fault`:
 *             NULL, or what a scrub or read last found wrong with the copy and no
 *             rewrite has mended since ('missing', 'corrupt' or 'unreadable')
 *   doomed    chunk copies no committed file refers to any more, to delete from their
 *             nodes once `since_ms` is older than the delete delay
 *   holder_sets  how many parts have each `holders` value, kept by triggers: status
 *             counts and repair's search read it instead of scanning every part
 *   fault_sets   the same for the parts with a copy known bad: how many have each
 *             (`holders`, `faults`) pair (each such part is in holder_sets too)
 *   entry_ids the highest entry id ever used (one row, kept by a trigger), so that
 *             ids are never reused
 *   cluster   the cluster's id (one row, random, never changed): the nodes this
 *             controller accepts (see core/cluster-membership.ts)
 */
import type Database from 'better-sqlite3';
import { PROCESS_OWNER } from './process-owner';

const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE nodes (
    id             TEXT PRIMARY KEY,
    capacity_bytes INTEGER NOT NULL DEFAULT 0,
    free_bytes     INTEGER NOT NULL DEFAULT 0,
    chunk_count    INTEGER NOT NULL DEFAULT 0,
    first_seen_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL
  );
  CREATE TABLE entries (
    id           INTEGER PRIMARY KEY,
    parent_id    INTEGER REFERENCES entries(id),
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('file', 'dir', 'symlink')),
    size         INTEGER NOT NULL DEFAULT 0,
    mode         INTEGER NOT NULL,
    uid          INTEGER NOT NULL DEFAULT 0,
    gid          INTEGER NOT NULL DEFAULT 0,
    content_type TEXT,
    target       TEXT,
    version      INTEGER NOT NULL DEFAULT 0,
    created_ms   INTEGER NOT NULL,
    modified_ms  INTEGER NOT NULL,
    changed_ms   INTEGER NOT NULL,
    accessed_ms  INTEGER NOT NULL,
    UNIQUE (parent_id, name)
  );
  CREATE TABLE parts (
    file_id  INTEGER NOT NULL REFERENCES entries(id) ON DELETE CASCADE,
    idx      INTEGER NOT NULL,
    offset   INTEGER NOT NULL,
    size     INTEGER NOT NULL,
    chunk_id TEXT NOT NULL UNIQUE,
    sha256   BLOB NOT NULL,
    PRIMARY KEY (file_id, idx)
  );
  CREATE TABLE replicas (
    chunk_id TEXT NOT NULL REFERENCES parts(chunk_id) ON DELETE CASCADE,
    node_id  TEXT NOT NULL,
    PRIMARY KEY (chunk_id, node_id)
  );
  CREATE INDEX replicas_by_node ON replicas(node_id);
  CREATE TABLE doomed (
    chunk_id TEXT NOT NULL,
    node_id  TEXT NOT NULL,
    since_ms INTEGER NOT NULL,
    PRIMARY KEY (chunk_id, node_id)
  );
  `,
  // 2: node addresses and used bytes for status; copies listed per node in chunk order (scrub).
  `
  ALTER TABLE nodes ADD COLUMN address TEXT NOT NULL DEFAULT '';
  ALTER TABLE nodes ADD COLUMN used_bytes INTEGER NOT NULL DEFAULT 0;
  DROP INDEX replicas_by_node;
  CREATE INDEX replicas_by_node ON replicas(node_id, chunk_id);
  `,
  // 3: each part's holders (sorted JSON array of node ids, from replicas) and the count
  // of parts per holders value, both kept by triggers whatever changes a replica or
  // part (including cascades), so "how many parts lack copies" reads a few rows. A
  // part may be inserted with its holders already set, its replicas following in the
  // same transaction (replaceContent): those inserts then change nothing.
  `
  ALTER TABLE parts ADD COLUMN holders TEXT NOT NULL DEFAULT '[]';
  UPDATE parts SET holders = (SELECT json_group_array(node_id ORDER BY node_id) FROM replicas r WHERE r.chunk_id = parts.chunk_id);
  CREATE INDEX parts_by_holders ON parts(holders, chunk_id);
  CREATE TABLE holder_sets (
    holders TEXT PRIMARY KEY,
    parts   INTEGER NOT NULL
  ) WITHOUT ROWID;
  INSERT INTO holder_sets SELECT holders, count(*) FROM parts GROUP BY holders;

  CREATE TRIGGER replica_added AFTER INSERT ON replicas
    WHEN NOT EXISTS (SELECT 1 FROM parts p, json_each(p.holders) h WHERE p.chunk_id = NEW.chunk_id AND h.value = NEW.node_id)
  BEGIN
    UPDATE parts SET holders = (SELECT json_group_array(node_id ORDER BY node_id) FROM replicas WHERE chunk_id = NEW.chunk_id)
      WHERE chunk_id = NEW.chunk_id;
  END;
  CREATE TRIGGER replica_removed AFTER DELETE ON replicas BEGIN
    UPDATE parts SET holders = (SELECT json_group_array(node_id ORDER BY node_id) FROM replicas WHERE chunk_id = OLD.chunk_id)
      WHERE chunk_id = OLD.chunk_id;
  END;
  CREATE TRIGGER part_added AFTER INSERT ON parts BEGIN
    INSERT INTO holder_sets VALUES (NEW.holders, 1) ON CONFLICT (holders) DO UPDATE SET parts = parts + 1;
  END;
  CREATE TRIGGER part_removed AFTER DELETE ON parts BEGIN
    UPDATE holder_sets SET parts = parts - 1 WHERE holders = OLD.holders;
    DELETE FROM holder_sets WHERE holders = OLD.holders AND parts = 0;
  END;
  CREATE TRIGGER part_holders_changed AFTER UPDATE OF holders ON parts BEGIN
    UPDATE holder_sets SET parts = parts - 1 WHERE holders = OLD.holders;
    DELETE FROM holder_sets WHERE holders = OLD.holders AND parts = 0;
    INSERT INTO holder_sets VALUES (NEW.holders, 1) ON CONFLICT (holders) DO UPDATE SET parts = parts + 1;
  END;
  `,
  // 4: checksums name their algorithm: parts stored until now have SHA-256 (0), new
  // ones BLAKE3 (1).
  `
  ALTER TABLE parts RENAME COLUMN sha256 TO digest;
  ALTER TABLE parts ADD COLUMN digest_algorithm INTEGER NOT NULL DEFAULT 0;
  `,
  // 5: entry ids are never reused. SQLite gives a new row the highest id + 1, so a
  // file created right after the newest one was deleted got its id: a REST client's
  // /files/ID, or a program's open file, then meant another file. New entries take
  // entry_ids.last + 1; the trigger keeps `last` at the highest id ever used.
  `
  CREATE TABLE entry_ids (last INTEGER NOT NULL);
  INSERT INTO entry_ids SELECT COALESCE(MAX(id), 0) FROM entries;
  CREATE TRIGGER entry_id_used AFTER INSERT ON entries WHEN NEW.id > (SELECT last FROM entry_ids) BEGIN
    UPDATE entry_ids SET last = NEW.id;
  END;
  `,
  // 6: the bytes a file's parts hold, which holes (ranges of zeros stored nowhere)
  // make less than its size: what stat(2) reports as blocks, so du shows the space a
  // sparse file takes.
  `
  ALTER TABLE entries ADD COLUMN stored_bytes INTEGER NOT NULL DEFAULT 0;
  UPDATE entries SET stored_bytes = (SELECT COALESCE(SUM(size), 0) FROM parts WHERE parts.file_id = entries.id) WHERE kind = 'file';
  `,
  // 7: how many directories each directory holds, kept by triggers whatever inserts,
  // deletes or moves one: a directory's link count (stat's nlink) is 2 plus that, as
  // on a local file system, without counting its entries on every getattr.
  `
  ALTER TABLE entries ADD COLUMN subdirs INTEGER NOT NULL DEFAULT 0;
  UPDATE entries SET subdirs = (SELECT COUNT(*) FROM entries AS sub WHERE sub.parent_id = entries.id AND sub.kind = 'dir')
    WHERE kind = 'dir';
  CREATE TRIGGER subdir_added AFTER INSERT ON entries WHEN NEW.kind = 'dir' BEGIN
    UPDATE entries SET subdirs = subdirs + 1 WHERE id = NEW.parent_id;
  END;
  CREATE TRIGGER subdir_removed AFTER DELETE ON entries WHEN OLD.kind = 'dir' BEGIN
    UPDATE entries SET subdirs = subdirs - 1 WHERE id = OLD.parent_id;
  END;
  CREATE TRIGGER subdir_moved AFTER UPDATE OF parent_id ON entries
    WHEN NEW.kind = 'dir' AND NEW.parent_id IS NOT OLD.parent_id
  BEGIN
    UPDATE entries SET subdirs = subdirs - 1 WHERE id = OLD.parent_id;
    UPDATE entries SET subdirs = subdirs + 1 WHERE id = NEW.parent_id;
  END;
  `,
  // 8: a directory's entries in the order of their ids (an index on parent_id alone
  // holds each parent's rows in id order), so the mount lists a large directory a
  // page at a time from where the last page ended (src/fuse/directory-pages.ts),
  // instead of all of it at once.
  `
  CREATE INDEX entries_by_parent ON entries(parent_id);
  `,
  // 9: the doomed copies due on the nodes that are up, found by index: the collector
  // scanned the whole table on every pass, ~0.1 s with a million copies left on a
  // node gone for good.
  `
  CREATE INDEX doomed_by_node ON doomed(node_id, since_ms);
  `,
  // 10: a node being drained (`raidfs drain`): no new copies go to it, and repair
  // makes its copies on other nodes and drops them from it, so it can be retired
  // without a part ever having fewer copies.
  `
  ALTER TABLE nodes ADD COLUMN draining INTEGER NOT NULL DEFAULT 0;
  `,
  // 11: hard links. A file's further names are rows of their own whose link_to is the
  // file's id (its inode number); the file's own row holds its content, attributes and
  // one of its names. The index finds a file's further names (its link count, and the
  // name that takes over when its own is removed), and holds only such rows.
  `
  ALTER TABLE entries ADD COLUMN link_to INTEGER REFERENCES entries(id);
  CREATE INDEX entries_by_link ON entries(link_to) WHERE link_to IS NOT NULL;
  `,
  // 12: the cluster's id, random, made with the database (or when one from before is
  // opened). Nodes record it when they first register, and a controller refuses a node
  // of another cluster: with a lost, emptied or mistyped metadata file, scrub would
  // otherwise take every chunk on the nodes for an orphan and delete it.
  `
  CREATE TABLE cluster (id TEXT NOT NULL);
  INSERT INTO cluster VALUES (lower(hex(randomblob(16))));
  `,
  // 13: files a create made and no content commit has filled yet, marked so that a
  // controller starting after a crash removes those the crash left (an empty file
  // stayed at the name a program was writing). The index holds only such rows. Rows
  // from before are left unmarked: an empty file from before stays, never a finished
  // one removed.
  `
  ALTER TABLE entries ADD COLUMN uncommitted_create INTEGER NOT NULL DEFAULT 0;
  CREATE INDEX entries_uncommitted_creates ON entries(uncommitted_create) WHERE uncommitted_create = 1;
  `,
  // 14: what scrub and reads learn about a copy that is bad and kept (no good copy to
  // rewrite it from), so that status counts a part with no intact copy: before, a part
  // whose copies were all corrupt counted as whole. Each copy's fault, each part's
  // faults (derived like its holders) and the count of parts per (holders, faults)
  // pair for the parts that have any: few rows, read with holder_sets. The partial
  // index finds those parts (repair's search, the damaged files status names)
  // without reading the others.
  `
  ALTER TABLE replicas ADD COLUMN fault TEXT CHECK (fault IN ('missing', 'corrupt', 'unreadable'));
  ALTER TABLE parts ADD COLUMN faults TEXT NOT NULL DEFAULT '{}';
  CREATE INDEX parts_with_faults ON parts(holders, faults, chunk_id) WHERE faults <> '{}';
  CREATE TABLE fault_sets (
    holders TEXT NOT NULL,
    faults  TEXT NOT NULL,
    parts   INTEGER NOT NULL,
    PRIMARY KEY (holders, faults)
  ) WITHOUT ROWID;

  CREATE TRIGGER replica_fault_changed AFTER UPDATE OF fault ON replicas BEGIN
    UPDATE parts SET faults = (SELECT json_group_object(node_id, fault ORDER BY node_id) FROM replicas
                               WHERE chunk_id = NEW.chunk_id AND fault IS NOT NULL)
      WHERE chunk_id = NEW.chunk_id;
  END;
  CREATE TRIGGER faulty_replica_removed AFTER DELETE ON replicas WHEN OLD.fault IS NOT NULL BEGIN
    UPDATE parts SET faults = (SELECT json_group_object(node_id, fault ORDER BY node_id) FROM replicas
                               WHERE chunk_id = OLD.chunk_id AND fault IS NOT NULL)
      WHERE chunk_id = OLD.chunk_id;
  END;
  CREATE TRIGGER faulty_part_added AFTER INSERT ON parts WHEN NEW.faults <> '{}' BEGIN
    INSERT INTO fault_sets VALUES (NEW.holders, NEW.faults, 1) ON CONFLICT (holders, faults) DO UPDATE SET parts = parts + 1;
  END;
  CREATE TRIGGER faulty_part_removed AFTER DELETE ON parts WHEN OLD.faults <> '{}' BEGIN
    UPDATE fault_sets SET parts = parts - 1 WHERE holders = OLD.holders AND faults = OLD.faults;
    DELETE FROM fault_sets WHERE holders = OLD.holders AND faults = OLD.faults AND parts = 0;
  END;
  CREATE TRIGGER part_faults_changed AFTER UPDATE OF holders, faults ON parts
    WHEN OLD.faults <> '{}' OR NEW.faults <> '{}'
  BEGIN
    UPDATE fault_sets SET parts = parts - 1 WHERE holders = OLD.holders AND faults = OLD.faults;
    DELETE FROM fault_sets WHERE holders = OLD.holders AND faults = OLD.faults AND parts = 0;
    INSERT INTO fault_sets SELECT NEW.holders, NEW.faults, 1 WHERE NEW.faults <> '{}'
      ON CONFLICT (holders, faults) DO UPDATE SET parts = parts + 1;
  END;
  `,
];

/** Brings a database to the current schema and makes sure the root directory exists. */
export function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(`metadata schema version ${current} is newer than this raidfs (${MIGRATIONS.length})`);
  }
  for (let version = current; version < MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version]);
      db.pragma(`user_version = ${version + 1}`);
    })();
  }
  const now = Date.now();
  db.prepare(`INSERT OR IGNORE INTO entries (id, parent_id, name, kind, mode, uid, gid, created_ms, modified_ms, changed_ms, accessed_ms)
              VALUES (1, NULL, '', 'dir', ?, ?, ?, ?, ?, ?, ?)`).run(0o755, PROCESS_OWNER.uid, PROCESS_OWNER.gid, now, now, now, now);
}
