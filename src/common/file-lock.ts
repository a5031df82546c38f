/**
 * A file held locked by one process for as long as it runs: one controller per
 * metadata file, one storage node per data directory.
 *
 * The file is opened as a SQLite database in EXCLUSIVE locking mode (WAL), and the
 * lock is taken at once by an empty write transaction; it is held until the
 * connection closes. The lock is the operating system's (fcntl), so:
 * - of two processes opening the file at the same instant, exactly one gets it;
 * - the kernel drops it when its process ends, kill -9 and crashes included, so there
 *   is never a stale lock to recognise and take over;
 * - /proc/locks names the process that holds it, for the refusal's message.
 * A lock file is never deleted: a process opening the path after the delete would lock
 * a new file while the old one is still held.
 *
 * Any other failure to open the file is a FileOpenError that names the file and says
 * what is wrong with it or its directory (directory-problems.ts), never SQLite's bare
 * "unable to open database file".
 */
import { accessSync, constants, readFileSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { directoryProblem } from './directory-problems';
import { errorMessage } from './log';

export class FileLockedError extends Error {
  /** Who holds the file, for messages: "process N", or "another process" when /proc/locks does not say. */
  readonly holder: string;

  constructor(readonly file: string, readonly holderPid: number | undefined) {
    const holder = holderPid === undefined ? 'another process' : `process ${holderPid}`;
    super(`${file} is locked by ${holder}`);
    this.holder = holder;
  }
}

/** `file` could not be opened, for another reason than a lock held elsewhere. */
export class FileOpenError extends Error {
  /**
   * `why`: what is wrong, in words ("/a/b does not exist", "it is a directory");
   * `code`: SQLite's or Node's error code, if it had one (data-dir-lock.ts looks for
   * SQLITE_NOTADB: a LOCK file of an older raidfs).
   */
  constructor(readonly file: string, readonly why: string, readonly code: string | undefined) {
    super(`cannot open ${file}: ${why}`);
    this.name = 'FileOpenError';
  }
}

/** Tries after contention with no holder to name (two processes setting up at once). */
const SETUP_RACE_ATTEMPTS = 50;

/**
 * `file` opened as a SQLite database and locked until the connection closes. Waits up
 * to `waitMs` for a holder that is exiting, then throws FileLockedError; throws
 * FileOpenError if the file cannot be opened at all.
 *
 * Two processes opening a new file at the same instant can both be refused by SQLite
 * (each holds a read lock the other's switch to WAL must wait for); then neither holds
 * the file, /proc/locks shows no holder, and the attempt is repeated after a random
 * pause, so one of them gets it.
 */
export function openLocked(file: string, waitMs: number): Database.Database {
  const deadline = Date.now() + waitMs;
  for (let attempt = 1; ; attempt++) {
    let db: Database.Database;
    try {
      db = new Database(file, { timeout: 0 });
    } catch (err) {
      throw openError(file, err);
    }
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.exec('BEGIN IMMEDIATE; COMMIT');
      return db;
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code !== 'SQLITE_BUSY') throw openError(file, err);
    }
    const holder = lockHolder(file);
    const retry = holder === undefined ? attempt < SETUP_RACE_ATTEMPTS : Date.now() < deadline;
    if (!retry) throw new FileLockedError(file, holder);
    sleep(5 + Math.random() * 20);
  }
}

/** `err`, thrown while opening `file`, as a FileOpenError that says what is wrong. */
function openError(file: string, err: unknown): FileOpenError {
  const code = (err as { code?: string }).code;
  return new FileOpenError(file, whyNotOpened(file, code) ?? errorMessage(err), code);
}

/** What keeps `file` from being opened (SQLite's `code` for it), if it can be told. */
function whyNotOpened(file: string, code: string | undefined): string | undefined {
  if (code === 'SQLITE_NOTADB') return 'it is not a SQLite database';
  let stats: Stats | undefined;
  try {
    stats = statSync(file);
  } catch {
    // not there, or its directory is at fault: said below
  }
  if (stats?.isDirectory()) return 'it is a directory';
  const found = directoryProblem(path.dirname(file));
  if (found) return `${found.path} ${found.problem}`;
  if (!stats) return undefined;
  try {
    accessSync(file, constants.R_OK | constants.W_OK);
    return undefined;
  } catch (err) {
    return `it is not writable (${(err as NodeJS.ErrnoException).code ?? errorMessage(err)})`;
  }
}

/** Blocks the thread for `ms` (only while opening: there is nothing else to do yet). */
function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The process holding a POSIX lock on `file`, from /proc/locks, whose lines read
 * "1: POSIX  ADVISORY  WRITE 4242 fe:00:2261014 1073741824 1073742335" (pid, then the
 * device's major:minor in hex and the inode); undefined if none is found.
 */
function lockHolder(file: string): number | undefined {
  try {
    const { dev, ino } = statSync(file, { bigint: true });
    const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
    const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
    const key = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}:${ino}`;
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      const fields = line.trim().split(/\s+/);
      if (fields[1] === 'POSIX' && fields[5] === key) return Number(fields[4]);
    }
  } catch {
    // no /proc/locks, or the file is gone: the message just names no process
  }
  return undefined;
}
