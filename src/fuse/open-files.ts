/**
 * The files open through the mount: each handle (OpenFile), and what is being written
 * to a file (WorkingCopy), which every handle open for writing on that file shares.
 *
 * Sharing is what a local file system gives programs on one machine: two processes
 * appending to one log (`echo ... >> log` from two shells) both see and keep each
 * other's lines, and a handle open for writing reads what another wrote. Handles open
 * only for reading keep close-to-open semantics: each reads the version committed when
 * it was opened (its FileSnapshot), never a file half-written; a read past its end
 * moves it to the newest committed version if that one only grew from it (`tail -f`). The exception is a program reading what it
 * is writing itself: a handle it opens only for reading while it has the file open
 * for writing through another reads that working copy, as on a local disk (`git
 * index-pack` writes a pack through one descriptor and reads it back through new
 * ones); such a reader keeps the copy alive, but never commits it.
 *
 * A working copy reads its snapshot (the version committed when its first handle
 * opened, or its own last commit) until it is written. The snapshot a read-only
 * handle reads, and a working copy's (a spool's base), are held (Controller.hold)
 * until the handle or copy is gone, so a write over REST that replaces that version
 * meanwhile does not delete what they still read. A file created, or opened with
 * O_TRUNC while no other handle writes it, is written as a StreamingUpload fed by that
 * one handle while its writes are sequential; any other first write (or truncate)
 * moves the file to a Spool over the committed content (each stripe copied in when
 * first touched, and only the stripes written stored at commit), and so does anything
 * a stream cannot serve (a write elsewhere, another handle's write, a read: the
 * stream's bytes move into the spool). A dirty copy is committed by flush (close) or
 * fsync of any of its handles, or the release of its last one, each time only if dirty.
 * It stays dirty, and shows the size written (stat), until a commit of it succeeded:
 * after a failed one its spool still holds the writes, and every later flush, fsync or
 * last release tries again and answers for itself, so no close returns success for
 * writes that were not stored. Bytes a failed commit lost (a stream's, whose stripes
 * are gone, or those of a file created here and removed again) cannot be tried again:
 * the copy is then lost, and every later write, truncate or commit of it fails with
 * that commit's error.
 *
 * Invariants: commits of one working copy never overlap, and never overlap a change:
 * a write or truncate runs after the commits queued before it and before those queued
 * after it (`change`), so a commit uploads neither a copy that later writes keep
 * changing nor half a write (a spool's commit stores only the stripes written, so a
 * write it missed would be lost); a commit goes to the file the handles opened (by
 * id), wherever renames moved it, and nowhere if it was removed; `path` follows the
 * mount's renames; `modifiedMs`, the time of the last change or what utimens set
 * after it (cp -a, rsync -a), is the mtime stat shows while the copy is dirty and the
 * one its commit records, as a local file's mtime is its last write's, not its close's;
 * likewise `changedMs` for the ctime (a commit never moves it past an attribute change
 * made after the last write, so `tar` sees no change after `tar x` closed the file); once making a spool failed, every later use of it
 * fails; a working copy lives while a handle uses it, and its spool is closed with
 * the last one.
 */
import { Controller, FileSnapshot, SnapshotPin } from '../core/controller';
import type { ReadAhead } from '../core/read-ahead';
import type { ReadWindow } from './io-window';
import { Spool } from './spool';
import { StreamingUpload } from './streaming-upload';

export class WorkingCopy {
  spool?: Spool;
  /** The upload of a file written sequentially from offset 0 by one handle, until it is committed or moved to the spool. */
  streaming?: StreamingUpload;
  /** The handle that feeds `streaming` (its write window is that handle's). */
  streamedBy?: OpenFile;
  dirty = false;
  /** The copy's mtime: when its content last changed, or what utimens set since (undefined: neither happened). */
  modifiedMs?: number;
  /** When its content last changed (a write, a truncate, an O_TRUNC open or the create): the ctime its commit records. */
  changedMs?: number;
  /** Why the copy is lost (see the header): set once, by lose(). */
  private lostBy?: { error: unknown };
  /** The handles open for writing on this file. */
  readonly handles = new Set<OpenFile>();
  /** The handles open only for reading that read this copy (opened by a program writing it). */
  readonly readers = new Set<OpenFile>();
  private spooling?: Promise<Spool>;
  private committing: Promise<void> = Promise.resolve();
  /** Changes (writes, truncates) started and not finished, each settled either way. */
  private readonly changes = new Set<Promise<void>>();

  constructor(
    public path: string,
    readonly fileId: number,
    /** The committed version it reads, and its spool's base: held while the copy lives. */
    private readonly held: SnapshotPin,
    /** Created by the open that made this copy (create), so a failed first commit removes it again. */
    public createdHere: boolean,
  ) {}

  get snapshot(): FileSnapshot {
    return this.held.snapshot;
  }

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
   * being streamed, else the committed content (copied in as touched, spool.ts);
   * nothing if `empty` (the caller is about to truncate to 0).
   */
  spoolFor(controller: Controller, spoolDir: string, empty: boolean): Promise<Spool> {
    this.spooling ??= (async () => {
      const streaming = this.streaming;
      const spool = await Spool.create(spoolDir, controller, this.snapshot, empty || streaming !== undefined);
      try {
        if (streaming && empty) void streaming.cancel();
        else if (streaming) await streaming.divertInto(spool);
      } catch (err) {
        await spool.close();
        throw err;
      }
      this.spool = spool;
      this.streamEnded();
      return spool;
    })();
    return this.spooling;
  }

  /** Its content was committed as `version`: it reads that now, and its spool is an edit of it. */
  committed(version: FileSnapshot): void {
    this.spool?.rebase(version);
    this.readNewer(version);
  }

  /** A commit lost the bytes it carried: from now on every change or commit of the copy fails with `error`. */
  lose(error: unknown): void {
    this.lostBy ??= { error };
    this.streamEnded(); // by the commit that failed, which dropped its draft
    this.dirty = false;
  }

  /** The stream is over (its bytes are a draft, or in the spool): the copy no longer has one. */
  streamEnded(): void {
    this.streaming = undefined;
    this.streamedBy = undefined;
  }

  /** Moves the copy (which holds no local content now) to a newer committed version, taking back what was lent of the old. */
  readNewer(snapshot: FileSnapshot): void {
    this.takeBackReadWindows();
    this.held.move(snapshot);
  }

  /** Takes back what every handle reading this copy lent the binding to answer reads: the content is about to change. */
  takeBackReadWindows(): void {
    for (const file of [...this.handles, ...this.readers]) file.readWindow?.takeBack();
  }

  /** Its content changed now (and is not committed): dirty, and modified and changed now (an mtime from utimens is replaced). */
  changedNow(): void {
    this.dirty = true;
    this.modifiedMs = this.changedMs = Date.now();
  }

  /** Resolves when no commit queued so far is uploading this copy. */
  settled(): Promise<void> {
    return this.committing;
  }

  /** Resolves when no change or commit of this copy is under way (more may start later). */
  async idle(): Promise<void> {
    while (this.changes.size > 0) await Promise.all(this.changes);
    await this.committing;
  }

  /**
   * Runs a change of the content (a write or truncate) between commits: after every
   * commit queued before it, and before any queued after it (which waits for it), so
   * a commit never starts while a change is half done. The copy is then dirty, lends
   * nothing for reading, and is modified now (an mtime from utimens is replaced).
   */
  change<T>(run: () => Promise<T>): Promise<T> {
    const done = this.committing.then(() => {
      this.throwIfLost();
      this.takeBackReadWindows();
      this.changedNow();
      return run();
    });
    const tracked = done.then(() => undefined, () => undefined);
    this.changes.add(tracked);
    void tracked.then(() => this.changes.delete(tracked));
    return done;
  }

  /**
   * Runs `commit` after any commit already running and every change started before
   * it; skipped if nothing is dirty by then. The copy is clean once the commit
   * succeeded (no change runs meanwhile); a failed one leaves it dirty, for the next
   * commit to try again, unless it lost the copy (see the header).
   */
  commitIfDirty(commit: () => Promise<void>): Promise<void> {
    const changesBefore = [...this.changes];
    const next = this.committing.then(async () => {
      await Promise.all(changesBefore);
      this.throwIfLost();
      if (!this.dirty) return;
      await commit();
      this.dirty = false;
    });
    this.committing = next.catch(() => undefined);
    return next;
  }

  private throwIfLost(): void {
    if (this.lostBy) throw this.lostBy.error;
  }

  /** Frees what the copy holds, once its last handle is gone. */
  async close(): Promise<void> {
    try {
      await this.streaming?.cancel();
      await this.spool?.close();
    } finally {
      this.held.release();
    }
  }
}

/** One handle: how it was opened, what it lent the binding, and the content it reads. */
export class OpenFile {
  /** Opened with O_APPEND: every write goes to the end. */
  append = false;
  /** The part lent to the binding to answer this handle's reads (committed content only). */
  readWindow?: ReadWindow;
  /** The parts held for this handle's sequential reads (of committed content), from its first such read. */
  readAhead?: ReadAhead;
  /**
   * Where sequential reading would go on: the end of the last read served in JS, or
   * of the part lent to the binding after it (-1 before any read). For read-ahead.
   */
  readFrontier = -1;
  /** The newest version whose growth from this handle's was checked and found to be a replace (not read on). */
  notGrownInto?: number;
  /** Its first write (or O_TRUNC open) took off the set-ID bits it had to (set-id-bits.ts): later ones need not look. */
  setIdBitsChecked = false;
  /** Its first read was recorded in the file's access time (Controller.noteRead): later ones need not be. */
  readNoted = false;
  /** The node (the kernel's inode) whose page cache the handle reads and writes through; undefined if it goes around it (page-cache.ts). */
  cacheNode?: number;

  private constructor(
    private ownPath: string,
    readonly fileId: number,
    /** The thread that opened it (the kernel's caller id): whose program's later opens for reading share a writer's copy. */
    readonly openedBy: number,
    /** The version a read-only handle reads, held until the handle is gone (a writable one reads its working copy's). */
    private readonly own?: SnapshotPin,
    /** The working copy of a handle open for writing. */
    readonly copy?: WorkingCopy,
    /** The working copy a handle open only for reading reads, if its program writes the file too. */
    private readonly copyRead?: WorkingCopy,
  ) {}

  /** A handle open only for reading, of the version `held` holds. */
  static reading(path: string, fileId: number, openedBy: number, held: SnapshotPin): OpenFile {
    return new OpenFile(path, fileId, openedBy, held);
  }

  /** A handle open only for reading by a program that writes the file through another: it reads that working copy. */
  static readingOwnWrites(path: string, fileId: number, openedBy: number, copy: WorkingCopy): OpenFile {
    return new OpenFile(path, fileId, openedBy, undefined, undefined, copy);
  }

  /** A handle open for writing, sharing `copy` with the file's other writers. */
  static writing(path: string, fileId: number, openedBy: number, copy: WorkingCopy): OpenFile {
    return new OpenFile(path, fileId, openedBy, undefined, copy);
  }

  /** The working copy this handle reads: its own if it writes, the one its program writes if it only reads one. */
  get readCopy(): WorkingCopy | undefined {
    return this.copy ?? this.copyRead;
  }

  /** Where the file is now (the mount's renames are followed). */
  get path(): string {
    return this.readCopy?.path ?? this.ownPath;
  }

  /** Follows a rename (a writable handle's path is its working copy's, which follows it too). */
  moved(rename: (path: string) => string): void {
    this.ownPath = rename(this.ownPath);
  }

  /** The committed version this handle reads while its file has no local content. */
  get snapshot(): FileSnapshot {
    return this.readCopy?.snapshot ?? this.own!.snapshot;
  }

  /**
   * Moves the handle's reads (if it reads a working copy: the copy's, which holds no
   * local content) to a newer committed version, taking back what was lent of the old.
   */
  readNewer(snapshot: FileSnapshot): void {
    if (this.readCopy) {
      this.readCopy.readNewer(snapshot);
    } else {
      this.readWindow?.takeBack();
      this.own!.move(snapshot);
    }
    this.readAhead?.clear();
  }

  /** The handle is gone: the binding answers none of its reads, and the version it read may be deleted. */
  closed(): void {
    this.readWindow?.takeBack();
    this.readAhead?.clear();
    this.own?.release();
  }

  /** The working copy it reads, if that holds bytes not committed yet: reads come from there. */
  get localCopy(): WorkingCopy | undefined {
    const copy = this.readCopy;
    return copy?.hasLocalContent ? copy : undefined;
  }
}

/** The largest handle number: fuse-native passes handles as signed 32-bit integers; past it, numbers of released handles are used again. */
const MAX_HANDLE = 0x7fffffff;

export class OpenFiles {
  private readonly files = new Map<number, OpenFile>();
  private readonly copies = new Map<number, WorkingCopy>();
  private nextHandle = 1;

  /** Registers the working copy of a file no handle writes yet; the handles added with it share it. */
  startCopy(copy: WorkingCopy): WorkingCopy {
    this.copies.set(copy.fileId, copy);
    return copy;
  }

  /** The working copy of `fileId`, if a handle writes it (or reads it, for its program wrote it). */
  writing(fileId: number): WorkingCopy | undefined {
    return this.copies.get(fileId);
  }

  add(file: OpenFile): number {
    let handle: number;
    do {
      handle = this.nextHandle;
      this.nextHandle = handle >= MAX_HANDLE ? 1 : handle + 1;
    } while (this.files.has(handle));
    this.files.set(handle, file);
    if (file.copy) file.copy.handles.add(file);
    else file.readCopy?.readers.add(file);
    return handle;
  }

  get(handle: number): OpenFile | undefined {
    return this.files.get(handle);
  }

  /** Forgets a handle; returns the working copy it read if this was the copy's last handle (the caller closes it). */
  remove(handle: number): WorkingCopy | undefined {
    const file = this.files.get(handle);
    this.files.delete(handle);
    file?.closed();
    const copy = file?.readCopy;
    if (!copy) return undefined;
    copy.handles.delete(file);
    copy.readers.delete(file);
    if (copy.handles.size + copy.readers.size > 0) return undefined;
    this.copies.delete(copy.fileId);
    return copy;
  }

  /**
   * Forgets every handle (the mount is gone, and no release will come for them);
   * returns the working copies they wrote, which the caller closes.
   */
  removeAll(): WorkingCopy[] {
    const copies: WorkingCopy[] = [];
    for (const handle of [...this.files.keys()]) {
      const copy = this.remove(handle);
      if (copy) copies.push(copy);
    }
    return copies;
  }

  /** The handles open on file `fileId`. */
  *handlesOf(fileId: number): IterableIterator<OpenFile> {
    for (const file of this.files.values()) if (file.fileId === fileId) yield file;
  }

  /** True if a handle is open on file `fileId`. */
  isOpen(fileId: number): boolean {
    return !this.handlesOf(fileId).next().done;
  }

  /** The working copy with unsaved writes for `fileId`, if any: its size is the one to report. */
  dirtyOf(fileId: number): WorkingCopy | undefined {
    const copy = this.copies.get(fileId);
    return copy?.dirty && copy.hasLocalContent ? copy : undefined;
  }

  /** Follows a rename: open files at `from` or below it now live under `to`. */
  renamed(from: string, to: string): void {
    const after = (path: string) => path === from || path.startsWith(`${from}/`) ? to + path.slice(from.length) : path;
    for (const file of this.files.values()) file.moved(after);
    for (const copy of this.copies.values()) copy.path = after(copy.path);
  }
}
