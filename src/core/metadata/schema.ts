/**
 * The controller's SQLite schema, as an ordered list of migrations. The database
 * records which have run (PRAGMA user_version); opening a database runs the missing
 * ones in one transaction each. Never edit a released migration: append a new one.
 *
 * Tables:
 *   nodes     every storage node ever registered, with its address and last report
 *   entries   the directory tree: files, directories and symlinks; id 1 is the root;
 *             (parent_id, name) is unique; `version` grows on every content change
 *   parts     a file's parts in order: byte range, chunk id and SHA-256
 *   replicas  which nodes hold each part's chunk (one row per copy)
 *   doomed    chunk copies no committed file refers to any more, to delete from their
 *             nodes once `since_ms` is older than the delete delay
 */
import type Database from 'better-sqlite3';

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
  db.prepare(`INSERT OR IGNORE INTO entries (id, parent_id, name, kind, mode, created_ms, modified_ms, changed_ms, accessed_ms)
              VALUES (1, NULL, '', 'dir', ?, ?, ?, ?, ?)`).run(0o755, now, now, now, now);
}
