/**
 * FUSE file operations: create, open, read, write, truncate, ftruncate, flush, fsync,
 * release.
 *
 * Kernel contract and how raidfs meets it:
 * - open/create return a handle. Reads of a file not written through this handle
 *   come from the version committed when it was opened (a FileSnapshot), with
 *   read-ahead when reading is sequential.
 * - write lands in the handle's disk spool (never the whole file in memory), or, for a
 *   streamed file, in the upload's stripe buffer; the buffer FUSE lends is fully
 *   consumed before the callback, as fuse-native requires.
 * - flush runs on every close(2) and its result is what close returns, so the commit
 *   (spool -> parts on the nodes -> one metadata transaction) happens there: cp sees
 *   EIO/ENOSPC when replication fails. release is asynchronous and its result is
 *   dropped by the kernel: it only commits what a flush did not and frees the spool.
 * - close(2) returns once every copy is fsynced on its node and the metadata is
 *   committed, visible to every reader and safe from a crash of the controller; that
 *   commit is lazy (WriteOptions.lazy): fsynced on the controller's disk within its
 *   sync delay, as a local file system's close does not wait for its journal either.
 *   fsync(2) commits what is dirty and makes every commit durable before it returns.
 * - create commits an empty file at once, so the name exists while being written
 *   (for stat and readdir from any process, and for REST), lazily too
 *   (Controller.createFile): a new file is dirty from the start, so its first flush
 *   commits it, written or not. If that first commit fails the file is removed
 *   again, leaving none.
 * - A failed commit is final for that handle: the file keeps its last committed
 *   content (nothing retries it behind the program's back).
 * - O_TRUNC arrives in open (mount option atomic_o_trunc), so truncate-and-rewrite is
 *   one commit and readers never see the empty file in between.
 * - A file created or opened with O_TRUNC starts a StreamingUpload: while it is
 *   written sequentially, stripes are stored during the writes and close() commits
 *   the stream; anything else moves its bytes to a spool, which close() uploads.
 *   From its third stripe on, such a file's sequential writes are answered by the
 *   binding (io-window.ts) and only the one that fills a stripe comes here.
 * - After each read of committed content, the part that holds the next byte (or
 *   this read's) is lent to the binding, which answers the reads inside it itself;
 *   every change through the handle (write, ftruncate) takes it back first, and so
 *   does release.
 */
import type Fuse from 'fuse-native';
import { Controller } from '../core/controller';
import { RaidfsError } from '../core/errors';
import { createLogger, errorMessage } from '../common/log';
import { currentStat } from './attr-ops';
import { answer, answerBytes, FuseContext } from './context';
import { OpenFile } from './open-files';
import { StreamingUpload } from './streaming-upload';

const O_ACCMODE = 0o3;
const O_RDONLY = 0o0;
const O_TRUNC = 0o1000;
const O_APPEND = 0o2000;
const ZEROS = Buffer.alloc(1 << 20);
/**
 * Stripes fetched ahead of a sequential reader. A cold 4 MiB fetch takes ~10-15 ms
 * under load, so 2 left the reader waiting; 4 gave ~5% more on a 1 GiB cat, 6 no more.
 */
const READ_AHEAD_STRIPES = 4;
const log = createLogger('fuse');

export function fileOps(ctx: FuseContext): Fuse.Operations {
  const { controller, files, spoolDir } = ctx;

  const handle = (fd: number): OpenFile => {
    const file = files.get(fd);
    if (!file) throw new RaidfsError('EINVAL', `unknown file handle ${fd}`);
    return file;
  };

  /**
   * Gives a file just opened its handle and read window; if `streamed` (it starts
   * empty), starts uploading during its writes, copied on the FUSE thread unless it
   * appends (O_APPEND's offsets are the kernel's idea of the end, which only JS
   * checks). Returns the handle.
   */
  const opened = (file: OpenFile, streamed: boolean): number => {
    const fh = files.add(file);
    file.readWindow = ctx.windows.readWindow(fh);
    if (streamed) {
      file.dirty = true;
      file.streaming = new StreamingUpload(controller, file.append ? undefined : ctx.windows.writeWindow(fh));
    }
    return fh;
  };

  const commit = (file: OpenFile) => file.commitIfDirty(async () => {
    const options = { modifiedMs: file.explicitMtimeMs, lazy: true };
    try {
      const streaming = file.streaming;
      if (streaming && !streaming.ended) {
        file.streaming = undefined;
        const draft = await streaming.finish();
        file.snapshot = { entry: controller.commitDraft(file.path, draft, options), parts: draft.parts };
      } else {
        const spool = await file.spoolFor(controller, spoolDir, false);
        await controller.writeFile(file.path, spool.stream(), options);
      }
      file.createdHere = false;
    } catch (err) {
      if (file.createdHere) removeIfStillEmpty(controller, file);
      throw err;
    }
  });

  /** Truncates an open file's content (a stream keeps going if its size does not change). */
  const truncateOpen = async (file: OpenFile, size: number) => {
    file.readWindow?.takeBack();
    file.dirty = true;
    if (file.streaming?.accepts(size)) return;
    const spool = await file.spoolFor(controller, spoolDir, size === 0);
    await spool.truncate(size);
  };

  return {
    create: (path, mode, cb) => answer(ctx, 'create', path, cb, async () => {
      const entry = controller.createFile(path, { mode: mode & 0o7777 });
      const fh = opened(new OpenFile(path, entry.id, { entry, parts: [] }, true), true);
      ctx.created(fh, currentStat(files, entry)); // for libfuse's fgetattr right after this answer
      return fh;
    }),

    open: (path, flags, cb) => answer(ctx, 'open', path, cb, async () => {
      const snapshot = controller.snapshot(path);
      const file = new OpenFile(path, snapshot.entry.id, snapshot, false);
      const writable = (flags & O_ACCMODE) !== O_RDONLY;
      file.append = writable && (flags & O_APPEND) !== 0;
      return opened(file, writable && (flags & O_TRUNC) !== 0);
    }),

    read: (path, fd, buf, len, pos, cb) => answerBytes(ctx, 'read', path, cb, async () => {
      const file = handle(fd);
      if (file.hasLocalContent) return (await file.spoolFor(controller, spoolDir, false)).read(buf, len, pos);
      const snapshot = file.snapshot!;
      // Sequential: near where the last read ended or its lent part ends (the kernel's
      // read-ahead sends a few reads at once, not always in order).
      const sequential = file.readFrontier >= 0 && Math.abs(pos - file.readFrontier) <= controller.stripeSize;
      const read = await controller.readInto(snapshot, pos, buf.subarray(0, len));
      if (sequential) controller.prefetch(snapshot, pos + len, READ_AHEAD_STRIPES * controller.stripeSize);
      file.readFrontier = Math.max(file.readFrontier, pos + read);
      if (file.snapshot === snapshot && !file.dirty && !file.hasLocalContent && file.readWindow) { // no write came while the parts were fetched
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
      const data = buf.subarray(0, len);
      file.readWindow?.takeBack();
      file.dirty = true;
      const streaming = file.streaming;
      if (streaming?.accepts(file.append ? streaming.size : pos)) {
        await streaming.push(data);
        return len;
      }
      const spool = await file.spoolFor(controller, spoolDir, false);
      return spool.write(data, file.append ? spool.size : pos);
    }),

    truncate: (path, size, cb) => answer(ctx, 'truncate', path, cb, async () => {
      const entry = controller.stat(path);
      const writing = files.ofFile(entry.id).find((f) => f.hasLocalContent);
      if (writing) {
        await truncateOpen(writing, size);
      } else if (size !== entry.size) {
        await controller.writeFile(path, resized(controller, path, entry.size, size));
      }
    }),

    ftruncate: (path, fd, size, cb) => answer(ctx, 'ftruncate', path, cb, async () => {
      await truncateOpen(handle(fd), size);
    }),

    flush: (path, fd, cb) => answer(ctx, 'flush', path, cb, () => commit(handle(fd))),

    fsync: (path, _datasync, fd, cb) => answer(ctx, 'fsync', path, cb, async () => {
      await commit(handle(fd));
      controller.syncMetadata();
    }),

    release: (path, fd, cb) => answer(ctx, 'release', path, cb, async () => {
      const file = files.get(fd);
      if (!file) return;
      try {
        await commit(file);
      } catch (err) {
        log.warn('commit on release failed', { path: file.path, error: errorMessage(err) });
      } finally {
        file.readWindow?.takeBack();
        file.streaming?.cancel();
        files.remove(fd);
        await file.spool?.close();
      }
    }),
  };
}

/** The first `newSize` bytes of a file, zero-extended past its current end. */
async function* resized(controller: Controller, path: string, oldSize: number, newSize: number): AsyncGenerator<Buffer> {
  const kept = Math.min(oldSize, newSize);
  if (kept > 0) yield* controller.readStream(path, { start: 0, end: kept - 1 });
  for (let at = kept; at < newSize; at += ZEROS.length) yield ZEROS.subarray(0, Math.min(ZEROS.length, newSize - at));
}

/** Undoes a create whose content never got stored: removes the empty file it made. */
function removeIfStillEmpty(controller: Controller, file: OpenFile): void {
  try {
    const entry = controller.stat(file.path);
    if (entry.id === file.fileId && entry.size === 0) controller.remove(file.path);
  } catch (err) {
    log.warn('could not remove the file of a failed create', { path: file.path, error: errorMessage(err) });
  }
}
