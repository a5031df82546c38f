/**
 * The files open through the mount, by file handle number.
 *
 * An open file reads a FileSnapshot (the version committed when it was opened) until
 * it is written; its first write (or ftruncate) moves it to a Spool, filled with the
 * committed content unless the file was opened with O_TRUNC or just created. A dirty
 * file is committed by flush (close), fsync or release, each time only if dirty.
 *
 * Invariants: commits of one open file never overlap; a rename of an open file (or of
 * a directory above it) moves the path its next commit goes to; `explicitMtimeMs`,
 * set by utimens while dirty (cp -a, rsync -a), is the mtime the commit records.
 */
import { Controller, FileSnapshot } from '../core/controller';
import { Spool } from './spool';
import { StreamingUpload } from './streaming-upload';

export class OpenFile {
  spool?: Spool;
  /** The upload running while the file is written sequentially from offset 0, if any. */
  streaming?: StreamingUpload;
  dirty = false;
  explicitMtimeMs?: number;
  /** Opened with O_APPEND: every write goes to the end. */
  append = false;
  /** Bytes after the last read, to recognise sequential reading (for read-ahead). */
  lastReadEnd = -1;
  private spooling?: Promise<Spool>;
  private committing: Promise<void> = Promise.resolve();

  constructor(
    public path: string,
    readonly fileId: number,
    public snapshot: FileSnapshot | undefined,
    /** Created by this open (create), so a failed first commit removes it again. */
    public createdHere: boolean,
  ) {}

  /** The spool, created on first need, holding the committed content unless `empty`. */
  spoolFor(controller: Controller, spoolDir: string, empty: boolean): Promise<Spool> {
    this.spooling ??= (async () => {
      const spool = await Spool.create(spoolDir);
      if (!empty && this.snapshot && this.snapshot.entry.size > 0) {
        await spool.fill(controller.readStream(this.path));
      }
      this.spool = spool;
      return spool;
    })();
    return this.spooling;
  }

  /**
   * Runs `commit` after any commit already running; skipped if nothing is dirty by
   * then. A failed commit is not retried: the writes it carried are dropped and the
   * file keeps its last committed content.
   */
  commitIfDirty(commit: () => Promise<void>): Promise<void> {
    const next = this.committing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      await commit();
    });
    this.committing = next.catch(() => undefined);
    return next;
  }
}

export class OpenFiles {
  private readonly files = new Map<number, OpenFile>();
  private nextHandle = 1;

  add(file: OpenFile): number {
    const handle = this.nextHandle++;
    this.files.set(handle, file);
    return handle;
  }

  get(handle: number): OpenFile | undefined {
    return this.files.get(handle);
  }

  remove(handle: number): void {
    this.files.delete(handle);
  }

  /** Open files of one file (same entry id). */
  ofFile(fileId: number): OpenFile[] {
    return [...this.files.values()].filter((f) => f.fileId === fileId);
  }

  /** The open file with unsaved writes for `fileId`, if any: its size is the one to report. */
  dirtyOf(fileId: number): OpenFile | undefined {
    return this.ofFile(fileId).find((f) => f.spool && f.dirty);
  }

  /** Follows a rename: open files at `from` or below it now live under `to` (their running uploads cannot follow). */
  renamed(from: string, to: string): void {
    for (const file of this.files.values()) {
      if (file.path !== from && !file.path.startsWith(`${from}/`)) continue;
      file.path = to + file.path.slice(from.length);
      file.streaming?.abandon('the open file was renamed');
    }
  }
}
