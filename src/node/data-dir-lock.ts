/**
 * One node process per data directory: a running node holds `<data>/LOCK` locked
 * (file-lock.ts). Two processes on one directory would answer for the same node id
 * and each clear the other's temp files of interrupted writes, so a second one
 * refuses to start and says which process holds the directory.
 *
 * Invariants: the lock is the operating system's, so of two nodes starting on one
 * directory at the same instant exactly one gets it, and a node that died (kill -9,
 * power cut) leaves no lock behind. `LOCK` is never deleted (see file-lock.ts).
 */
import { truncateSync } from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { FileLockedError, FileOpenError, openLocked } from '../common/file-lock';

export class DataDirInUseError extends Error {}

export class DataDirLock {
  private constructor(private readonly db: Database.Database) {}

  static acquire(dir: string): DataDirLock {
    const file = path.join(dir, 'LOCK');
    try {
      return new DataDirLock(openLockFile(file));
    } catch (err) {
      if (!(err instanceof FileLockedError)) throw err;
      throw new DataDirInUseError(`data directory ${dir} is in use by ${err.holder} (a running raidfs node); stop it first`);
    }
  }

  release(): void {
    this.db.close();
  }
}

/**
 * openLocked on `LOCK`. A LOCK that is not a SQLite file is the text file naming a PID
 * that earlier raidfs versions wrote, which held no lock of the operating system's
 * (their nodes are stopped before an upgrade): it is emptied in place, keeping its
 * inode, so two nodes doing this at once still contend for one lock.
 */
function openLockFile(file: string): Database.Database {
  try {
    return openLocked(file, 0);
  } catch (err) {
    if (!(err instanceof FileOpenError && err.code === 'SQLITE_NOTADB')) throw err;
    truncateSync(file, 0);
    return openLocked(file, 0);
  }
}
