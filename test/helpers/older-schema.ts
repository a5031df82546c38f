/**
 * Makes a metadata file look as an older raidfs left it: undoes the migrations of
 * src/core/metadata/schema.ts newest first, down to a given schema version, so tests
 * can check that opening it migrates what was stored. One undo per migration, kept
 * next to each other so a new migration adds its own here.
 */
import Database from 'better-sqlite3';

/** UNDO[v] takes a database from schema v + 1 back to schema v. */
const UNDO: Readonly<Record<number, string>> = {
  // 3: holders of each part, their counts and the triggers that keep them.
  2: `DROP TRIGGER replica_added; DROP TRIGGER replica_removed; DROP TRIGGER part_added;
      DROP TRIGGER part_removed; DROP TRIGGER part_holders_changed; DROP TABLE holder_sets;
      DROP INDEX parts_by_holders; ALTER TABLE parts DROP COLUMN holders`,
  // 4: checksums name their algorithm.
  3: 'ALTER TABLE parts DROP COLUMN digest_algorithm; ALTER TABLE parts RENAME COLUMN digest TO sha256',
  // 5: the highest entry id ever used.
  4: 'DROP TRIGGER entry_id_used; DROP TABLE entry_ids',
  // 6: the bytes each file's parts hold.
  5: 'ALTER TABLE entries DROP COLUMN stored_bytes',
  // 7: how many directories each directory holds.
  6: `DROP TRIGGER subdir_added; DROP TRIGGER subdir_removed; DROP TRIGGER subdir_moved;
      ALTER TABLE entries DROP COLUMN subdirs`,
  // 8: a directory's entries in id order.
  7: 'DROP INDEX entries_by_parent',
  // 9: the doomed copies on each node by when they were doomed.
  8: 'DROP INDEX doomed_by_node',
  // 10: nodes being drained.
  9: 'ALTER TABLE nodes DROP COLUMN draining',
  // 11: further names of files (hard links).
  10: 'DROP INDEX entries_by_link; ALTER TABLE entries DROP COLUMN link_to',
  // 12: the cluster's id.
  11: 'DROP TABLE cluster',
  // 13: files a create made and no content commit filled.
  12: 'DROP INDEX entries_uncommitted_creates; ALTER TABLE entries DROP COLUMN uncommitted_create',
  // 14: the faults of copies known bad, and the counts of parts by them.
  13: `DROP TRIGGER replica_fault_changed; DROP TRIGGER faulty_replica_removed; DROP TRIGGER faulty_part_added;
      DROP TRIGGER faulty_part_removed; DROP TRIGGER part_faults_changed; DROP TABLE fault_sets;
      DROP INDEX parts_with_faults; ALTER TABLE parts DROP COLUMN faults; ALTER TABLE replicas DROP COLUMN fault`,
};

/** Takes the metadata file `file` (closed) back to schema `version`. */
export function backToSchema(file: string, version: number): void {
  const db = new Database(file);
  try {
    const current = db.pragma('user_version', { simple: true }) as number;
    for (let v = current - 1; v >= version; v--) {
      const undo = UNDO[v];
      if (undo === undefined) throw new Error(`no way back from schema ${v + 1} to ${v}`);
      db.exec(undo);
    }
    db.pragma(`user_version = ${version}`);
  } finally {
    db.close();
  }
}
