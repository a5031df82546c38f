/**
 * FUSE file operations: create, open, read, write, truncate, ftruncate, flush, fsync,
 * release.
 *
 * Kernel contract and how raidfs meets it:
 * - open/create return a handle. Reads of a file not written through this handle
 *   come from the version committed when it was opened (a FileSnapshot), with
 *   read-ahead when reading is sequential; a read past that version's end moves the
 *   handle to the newest committed version if that one only grew from it
 *   (core/version-growth.ts), so `tail -f` follows a file and a truncate that grew
 *   it reads as zeros, and a reader never gets the tail of a version that replaced
 *   its own. A program that has the file open for writing reads its own writes
 *   through any handle it opens for reading (open-files.ts). Whether a handle goes
 *   through the kernel's page cache, and whether its open keeps the pages cached, is
 *   page-cache.ts's answer, given with the open's: no handle is handed pages of a
 *   content it should not see.
 * - a handle's first read records the file's access time (relatime rule,
 *   Controller.noteRead); reads the kernel answers from its page cache never come here.
 * - write lands in the handle's disk spool (never the whole file in memory), or, for a
 *   streamed file, in the upload's stripe buffer; the buffer FUSE lends is fully
 *   consumed before the callback, as fuse-native requires.
 * - flush runs on every close(2) and its result is what close returns, so the commit
 *   (the spool's stripes written -> parts on the nodes -> one metadata transaction,
 *   core/file-edit.ts: stripes not written keep their parts) happens there: cp sees
 *   EIO/ENOSPC when replication fails. release is asynchronous and its result is
 *   dropped by the kernel: the release of a file's last writing handle commits what
 *   no flush did (writes through a mapping after close), and frees the spool.
 * - close(2) returns once every copy is fsynced on its node and the metadata is
 *   committed, visible to every reader and safe from a crash of the controller; that
 *   commit is lazy (WriteOptions.lazy): fsynced on the controller's disk within its
 *   sync delay, as a local file system's close does not wait for its journal either.
 *   fsync(2) commits what is dirty and makes every commit durable before it returns.
 * - create commits an empty file at once, so the name exists while being written
 *   (for stat and readdir from any process, and for REST), lazily too
 *   (Controller.createFile): a new file is dirty from the start, so its first flush
 *   commits it, written or not. If that first commit fails the file is removed
 *   again, leaving none; so is one the mount goes away before (closeAbandonedFiles),
 *   and one the controller is killed before, when it starts again
 *   (Controller.createFile).
 * - A failed commit leaves the file its last committed content. Writes that are
 *   still in the spool stay dirty (the next flush, fsync or last release tries
 *   again); bytes that are gone make the working copy lost (open-files.ts).
 * - O_TRUNC arrives in open (mount option atomic_o_trunc), so truncate-and-rewrite is
 *   one commit and readers never see the empty file in between.
 * - A file created or opened with O_TRUNC starts a StreamingUpload (if the
 *   controller's data memory has room for one; if not, it is spooled): while it is
 *   written sequentially, stripes are stored during the writes and close() commits
 *   the stream; anything else moves its bytes to a spool, whose changes close() uploads.
 *   From its third stripe on, such a file's sequential writes are answered by the
 *   binding (io-window.ts) and only the one that fills a stripe comes here.
 * - truncate of a path with no unsaved writes commits at once (Controller.resize, or
 *   through the working copy of handles whose writes were all committed): only the
 *   stripe where the file now ends is stored again; growing leaves a hole.
 * - After each read of committed content, the part that holds the next byte (or
 *   this read's) is lent to the binding, which answers the reads inside it itself;
 *   every change through the handle (write, ftruncate) takes it back first, and so
 *   does release.
 */
import type Fuse from 'fuse-native';
import { Controller, FileSnapshot } from '../core/controller';
import { coreErrorOf, RaidfsError } from '../core/errors';
import { onlyGrewFrom } from '../core/version-growth';
import { createLogger, errorMessage } from '../common/log';
import { currentStat } from './attr-ops';
import type { Caller, PageCacheUse } from './binding';
import { answer, answerBytes, FuseContext } from './context';
import { OpenFile, WorkingCopy } from './open-files';
import { sameProgram } from './caller-process';
import { setIdBitsDropped } from './set-id-bits';
import { StreamingUpload } from './streaming-upload';

const O_ACCMODE = 0o3;
const O_RDONLY = 0o0;
const O_WRONLY = 0o1;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
/**
 * Stripes fetched ahead of a sequential reader. A cold 4 MiB fetch takes ~10-15 ms
 * under load, so 2 left the reader waiting; 4 gave ~5% more on a 1 GiB cat, 6 no more.
 */
const READ_AHEAD_STRIPES = 4;
/** At most this many stripes' bytes are compared to tell whether a newer version only grew (an append rewrites one). */
const GROWTH_COMPARED_STRIPES = 2;
const log = createLogger('fuse');

export function fileOps(ctx: FuseContext): Fuse.Operations {
  const { controller, files, spoolDir } = ctx;

  const handle = (fd: number): OpenFile => {
    const file = files.get(fd);
    if (!file) throw new RaidfsError('EINVAL', `unknown file handle ${fd}`);
    return file;
  };

  /** The working copy of a handle open for writing (the kernel sends no write or ftruncate through others). */
  const writable = (file: OpenFile): WorkingCopy => {
    if (!file.copy) throw new RaidfsError('EINVAL', `${file.path} is not open for writing`);
    return file.copy;
  };

  /**
   * Gives a file just opened its handle and read window; if `streamed` (it starts
   * empty and no other handle writes it) and the controller's data memory has room
   * for a stream, starts uploading during its writes, copied
   * on the FUSE thread unless it appends (O_APPEND's offsets are the kernel's idea of
   * the end, which only JS checks). Returns the handle.
   */
  const opened = (file: OpenFile, streamed: boolean): number => {
    const fh = files.add(file);
    file.readWindow = ctx.windows.readWindow(fh);
    const copy = file.copy;
    if (streamed && copy) {
      copy.changedNow(); // created, or cut to empty by O_TRUNC
      copy.streaming = StreamingUpload.start(controller, file.append ? undefined : ctx.windows.writeWindow(fh));
      copy.streamedBy = copy.streaming && file;
    }
    return fh;
  };

  const commit = (copy: WorkingCopy) => copy.commitIfDirty(async () => {
    const options = { modifiedMs: copy.modifiedMs, changedMs: copy.changedMs, lazy: true };
    // A stream stays the copy's content (for stat; reads wait) until it is committed.
    // One that has ended already is being diverted into the spool (by a read).
    const streaming = copy.streaming?.ended ? undefined : copy.streaming;
    try {
      if (streaming) {
        const draft = await streaming.finish();
        copy.streamEnded();
        const entry = controller.commitDraftTo(copy.fileId, draft, options);
        if (entry) copy.committed({ entry, parts: draft.parts });
      } else {
        const spool = await copy.spoolFor(controller, spoolDir, false);
        const version = await controller.writeEdit(copy.fileId, spool.edit(), options);
        if (version) copy.committed(version);
      }
      copy.createdHere = false;
    } catch (err) {
      if (copy.createdHere) removeIfNeverCommitted(controller, copy);
      if (streaming || copy.createdHere) copy.lose(err);
      throw err;
    }
  });

  /** Commits what a handle's file has unsaved, if it is open for writing. */
  const commitOf = async (file: OpenFile) => {
    if (file.copy) await commit(file.copy);
  };

  /**
   * The committed version a read of [pos, end) reads: the handle's, or, if this read
   * goes past that version's end, the newest if it only grew from the handle's (so
   * `tail -f` follows a file that other programs append to; the kernel asks for whole
   * pages, so the read comes back for the last page). Its bytes up to the old end are
   * the handle's, so moving mixes nothing. A newest version that replaced the
   * handle's is not read on (its tail after the old bytes would be a file that never
   * existed): the handle stays at its end.
   */
  const versionFor = async (file: OpenFile, end: number): Promise<FileSnapshot> => {
    const current = file.snapshot;
    if (end <= current.entry.size) return current;
    const latest = controller.snapshotById(file.fileId);
    if (!latest || latest.entry.version === current.entry.version || file.notGrownInto === latest.entry.version) return current;
    const held = controller.hold(latest); // read while comparing; the handle's own version is held by the handle
    try {
      if (!await onlyGrewFrom(controller, current, latest, GROWTH_COMPARED_STRIPES * controller.stripeSize)) {
        file.notGrownInto = latest.entry.version;
        return current;
      }
      if (file.snapshot !== current) return file.snapshot; // another read of this handle moved it meanwhile
      file.readNewer(latest);
      ctx.pageCache.moved(file);
      return latest;
    } finally {
      held.release();
    }
  };

  /**
   * Takes off the set-ID bits that `caller`, writing or truncating through `file`,
   * takes off its file (set-id-bits.ts); once per handle, on the mode it opened.
   */
  const dropSetIdBits = (file: OpenFile, caller: Caller) => {
    if (file.setIdBitsChecked) return;
    file.setIdBitsChecked = true;
    const { mode, gid } = file.snapshot.entry;
    const dropped = setIdBitsDropped(mode, gid, caller);
    if (dropped === 0) return;
    try {
      controller.setAttributesOf(file.fileId, { mode: mode & ~dropped });
      ctx.attributesChanged(caller.nodeId); // a write-only handle's writes do not refresh the mode the kernel has
    } catch (err) {
      if (coreErrorOf(err)?.code !== 'ENOENT') throw err; // a file with no name left (deleted over REST) has no bits to keep
    }
  };

  /** Truncates a working copy (a stream keeps going if its size does not change). */
  const truncateCopy = (copy: WorkingCopy, size: number) => copy.change(async () => {
    if (copy.streaming?.accepts(size)) return;
    const spool = await copy.spoolFor(controller, spoolDir, size === 0);
    await spool.truncate(size);
  });

  return {
    create: (path, mode, cb) => answer(ctx, 'create', path, cb, async () => {
      const { uid, gid, pid, createFlags } = ctx.caller();
      const entry = controller.createFile(path, { mode: mode & 0o7777, uid, gid });
      const copy = files.startCopy(new WorkingCopy(path, entry.id, controller.hold({ entry, parts: [] }), true));
      const file = OpenFile.writing(path, entry.id, pid, copy);
      // Its writes' offsets are the kernel's idea of the end, which misses what another
      // name's handles wrote (each name is an inode of its own to the kernel).
      file.append = (createFlags & O_APPEND) !== 0;
      const fh = opened(file, true);
      ctx.created(fh, currentStat(files, entry)); // for libfuse's fgetattr right after this answer
      return fh;
    }),

    open: (path, flags, cb) => answer(ctx, 'open', path, (err, opened?: { fh: number; pageCache: PageCacheUse }) => cb(err, opened?.fh, opened?.pageCache), async () => {
      const caller = ctx.caller();
      const { nodeId, pid } = caller;
      const snapshot = controller.snapshot(path);
      const id = snapshot.entry.id;
      const shared = files.writing(id);
      if ((flags & O_ACCMODE) === O_RDONLY) {
        const file = shared && writtenBy(shared, pid)
          ? OpenFile.readingOwnWrites(path, id, pid, shared)
          : OpenFile.reading(path, id, pid, controller.hold(snapshot));
        const fh = opened(file, false);
        return { fh, pageCache: ctx.pageCache.opened(file, nodeId, false) };
      }
      const copy = shared ?? files.startCopy(new WorkingCopy(path, id, controller.hold(snapshot), false));
      if (shared && !shared.hasLocalContent && !shared.dirty) shared.readNewer(snapshot); // nothing written yet: read what is committed now
      const file = OpenFile.writing(path, id, pid, copy);
      file.append = (flags & O_APPEND) !== 0;
      const truncating = (flags & O_TRUNC) !== 0;
      const fh = opened(file, truncating && !shared);
      const pageCache = ctx.pageCache.opened(file, nodeId, (flags & O_ACCMODE) === O_WRONLY);
      if (truncating) dropSetIdBits(file, caller);
      // A stream starts empty; without one (another handle writes the file too, or no
      // data memory was free for a stream) the copy itself is truncated.
      if (!truncating || copy.streamedBy === file) return { fh, pageCache };
      try {
        await truncateCopy(copy, 0);
      } catch (err) {
        file.readWindow?.takeBack();
        await files.remove(fh)?.close(); // the copy's pin and spool, if this was its only handle
        throw err;
      }
      return { fh, pageCache };
    }),

    read: (path, fd, buf, len, pos, cb) => answerBytes(ctx, 'read', path, cb, async () => {
      const file = handle(fd);
      if (!file.readNoted) {
        file.readNoted = true;
        controller.noteRead(file.fileId);
      }
      if (file.readCopy?.streaming?.ended) await file.readCopy.settled(); // a stream being committed: read what it commits
      const local = file.localCopy;
      if (local) return (await local.spoolFor(controller, spoolDir, false)).read(buf, len, pos);
      const snapshot = await versionFor(file, pos + len);
      // Sequential: near where the last read ended or its lent part ends (the kernel's
      // read-ahead sends a few reads at once, not always in order).
      const sequential = file.readFrontier >= 0 && Math.abs(pos - file.readFrontier) <= controller.stripeSize;
      const read = await controller.readInto(snapshot, pos, buf.subarray(0, len));
      file.readAhead?.passed(pos);
      if (sequential) (file.readAhead ??= controller.startReadAhead()).fetch(snapshot.parts, pos + len, READ_AHEAD_STRIPES * controller.stripeSize);
      file.readFrontier = Math.max(file.readFrontier, pos + read);
      const unchanged = file.snapshot === snapshot && !file.readCopy?.dirty && !file.localCopy; // no write came while the parts were fetched
      if (unchanged && file.readWindow) {
        const part = controller.cachedPartAt(snapshot, pos + read) ?? controller.cachedPartAt(snapshot, pos);
        if (part) {
          file.readFrontier = Math.max(file.readFrontier, part.offset + part.data.length);
          file.readWindow.lend(part);
        }
      }
      return read;
    }),

    write: (path, fd, buf, len, pos, cb) => answerBytes(ctx, 'write', path, cb, async () => {
      const file = handle(fd);
      if (!file.setIdBitsChecked) dropSetIdBits(file, ctx.caller());
      const data = buf.subarray(0, len);
      const copy = writable(file);
      return copy.change(async () => {
        const streaming = copy.streamedBy === file ? copy.streaming : undefined;
        if (streaming?.accepts(file.append ? streaming.size : pos)) {
          await streaming.push(data);
          return len;
        }
        const spool = await copy.spoolFor(controller, spoolDir, false);
        return file.append ? spool.append(data) : spool.write(data, pos);
      });
    }),

    truncate: (path, size, cb) => answer(ctx, 'truncate', path, cb, async () => {
      const writing = files.writing(controller.stat(path).id);
      await writing?.settled(); // a commit of the file under way lands first: the truncate applies to what it committed
      if (writing?.hasLocalContent) {
        // Joins the writes not committed yet, if any: their close commits it. If there are
        // none (say, their handles were closed and the releases have not come yet), it is
        // committed now, as a truncate of a file nobody writes is.
        const uncommitted = writing.dirty;
        await truncateCopy(writing, size);
        if (!uncommitted) await commit(writing);
        return;
      }
      const resized = await controller.resize(path, size);
      if (writing && !writing.hasLocalContent) writing.readNewer(resized);
    }),

    ftruncate: (path, fd, size, cb) => answer(ctx, 'ftruncate', path, cb, async () => {
      await truncateCopy(writable(handle(fd)), size);
    }),

    flush: (path, fd, cb) => answer(ctx, 'flush', path, cb, () => commitOf(handle(fd))),

    fsync: (path, _datasync, fd, cb) => answer(ctx, 'fsync', path, cb, async () => {
      await commitOf(handle(fd));
      controller.syncMetadata();
    }),

    release: (path, fd, cb) => answer(ctx, 'release', path, cb, async () => {
      const file = files.get(fd);
      if (!file) return;
      try {
        // Only the last handle's release commits: the others commit at their own close.
        // A release comes after its close returned, so another program may be writing
        // the file by then (cp over a file just written), half done.
        if (file.copy?.handles.size === 1) await commitOf(file);
      } catch (err) {
        log.warn('commit on release failed', { path: file.path, error: errorMessage(err) });
      } finally {
        await files.remove(fd)?.close();
      }
    }),
  };
}

/**
 * Closes the files still open when the mount has gone away (the daemon stops): the
 * kernel sends no flush or release for them, and their programs got ENOTCONN, so what
 * they wrote since their last commit is dropped, never committed half written. A file
 * created through one of them and never committed is removed again, as when its first
 * commit fails. Changes and commits already under way finish first.
 */
export async function closeAbandonedFiles(ctx: FuseContext): Promise<void> {
  ctx.unmounted = true;
  const dropped: string[] = [];
  await Promise.all(ctx.files.removeAll().map(async (copy) => {
    await copy.idle();
    if (copy.dirty) dropped.push(copy.path);
    if (copy.createdHere) removeIfNeverCommitted(ctx.controller, copy);
    await copy.close();
  }));
  if (dropped.length > 0) log.warn('files being written when the mount went away were left as last committed', { files: dropped });
}

/** True if thread `pid` belongs to a program that has `copy`'s file open for writing (its reads are to see its writes). */
function writtenBy(copy: WorkingCopy, pid: number): boolean {
  return [...copy.handles].some((writer) => writer.openedBy === pid || sameProgram(writer.openedBy, pid));
}

/**
 * Undoes a create whose content never got stored: removes the empty file it made,
 * unless content was committed to it meanwhile (version 0: none ever was; an empty
 * upload over REST is a version too).
 */
function removeIfNeverCommitted(controller: Controller, copy: WorkingCopy): void {
  try {
    const entry = controller.stat(copy.path);
    if (entry.id === copy.fileId && entry.version === 0) controller.remove(copy.path);
  } catch (err) {
    log.warn('could not remove the file of a failed create', { path: copy.path, error: errorMessage(err) });
  }
}
