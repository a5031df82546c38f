/**
 * The files open through the mount, by file handle number.
 *
 * An open file reads a FileSnapshot (the version committed when it was opened) until
 * it is written. A file created, or opened with O_TRUNC, is written as a
 * StreamingUpload while its writes are sequential; any other first write (or
 * ftruncate) moves the file to a Spool, filled with the committed content, and so
 * does anything a stream cannot serve (the stream's bytes move into the spool). A
 * dirty file is committed by flush (close), fsync or release, each time only if
 * dirty.
 *
 * Invariants: commits of one open file never overlap; a commit goes to the file's
 * path at that moment (a rename of the open file, or of a directory above it, moves
 * it); `explicitMtimeMs`, set by utimens while dirty (cp -a, rsync -a), is the mtime
 * the commit records; once filling a spool failed, every later use of it fails.
 */
import { Controller, FileSnapshot } from '../core/controller';
import type { ReadWindow } from './io-window';
import { Spool } from './spool';
import { StreamingUpload } from './streaming-upload';

export class OpenFile {
  spool?: Spool;
  /** The upload of a file written sequentially from offset 0, until it is committed or moved to the spool. */
  streaming?: StreamingUpload;
  dirty = false;
  explicitMtimeMs?: number;
  /** Opened with O_APPEND: every write goes to the end. */
  append = false;
  /** The part lent to the binding to answer this handle's reads (committed content only). */
  readWindow?: ReadWindow;
  /**
   * Where sequential reading would go on: the end of the last read served in JS, or
   * of the part lent to the binding after it (-1 before any read). For read-ahead.
   */
  readFrontier = -1;
  private spooling?: Promise<Spool>;
  private committing: Promise<void> = Promise.resolve();

  constructor(
    public path: string,
    readonly fileId: number,
    public snapshot: FileSnapshot | undefined,
    /** Created by this open (create), so a failed first commit removes it again. */
    public createdHere: boolean,
  ) {}

  /** Bytes written but not committed yet live here (a stream or a spool). */
  get hasLocalContent(): boolean {
    return this.localSize !== undefined;
  }

  /** The size of the content being written (for stat), if any. */
  get localSize(): number | undefined {
    return this.streaming?.size ?? this.spool?.size;
  }

  /**
   * The spool, created on first need, holding: the stream's bytes if the file was
   * being streamed, else the committed content; nothing if `empty` (the caller is
   * about to truncate to 0).
   */
  spoolFor(controller: Controller, spoolDir: string, empty: boolean): Promise<Spool> {
    this.spooling ??= (async () => {
      const spool = await Spool.create(spoolDir);
      try {
        const streaming = this.streaming;
        if (streaming && empty) streaming.cancel();
        else if (streaming) await streaming.divertInto(spool);
        else if (!empty && this.snapshot && this.snapshot.entry.size > 0) await spool.fill(controller.readStream(this.path));
      } catch (err) {
        await spool.close();
        throw err;
      }
      this.spool = spool;
      this.streaming = undefined;
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
    return this.ofFile(fileId).find((f) => f.dirty && f.hasLocalContent);
  }

  /** Follows a rename: open files at `from` or below it now live under `to`. */
  renamed(from: string, to: string): void {
    for (const file of this.files.values()) {
      if (file.path !== from && !file.path.startsWith(`${from}/`)) continue;
      file.path = to + file.path.slice(from.length);
    }
  }
}
