/**
 * FUSE attribute operations: getattr/fgetattr, chmod, chown, utimens, statfs.
 *
 * Kernel contract: getattr answers stat(2) for a path (the kernel caches it for
 * attr_timeout seconds); a file with unsaved writes reports the size written, and its
 * last write's time as mtime and ctime (or a later utimens's). chmod, chown and
 * utimens change metadata only (uid/gid of -1 and UTIME_OMIT leave a field as it
 * is); statfs reports the cluster's capacity and free space (each file system counted
 * once, see core/cluster-space.ts) divided by the number of copies, since every byte
 * is stored `replicas` times, and the entries in the tree as used inodes.
 */
import type Fuse from 'fuse-native';
import { clusterSpace } from '../core/cluster-space';
import { RaidfsError } from '../core/errors';
import { Entry } from '../core/controller';
import { answer, FuseContext } from './context';
import type { OpenFiles } from './open-files';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const BLOCK = 4096;
/** Inodes statfs reports in all: entries have no fixed limit, but the field is 32 bits wide for `df -i`. */
const INODES = 0xffffffff;
/** uid/gid -1 as an unsigned 32-bit number: "leave unchanged". */
const UNCHANGED_ID = 0xffffffff;
/** UTIME_OMIT arrives as -2^63 ms (see native/fuse-binding.mjs); times before 1970 as negative ms. */
const OMIT_TIME = -(2 ** 63);

/** What a file with unsaved writes shows instead of its committed size and times. */
interface Unsaved {
  size: number;
  modifiedMs?: number;
  changedMs?: number;
}

export function statOf(entry: Entry, unsaved?: Unsaved): Fuse.Stat {
  const type = entry.kind === 'dir' ? S_IFDIR : entry.kind === 'symlink' ? S_IFLNK : S_IFREG;
  const size = unsaved?.size ?? entry.size;
  return {
    mode: type | entry.mode,
    uid: entry.uid,
    gid: entry.gid,
    size,
    // A directory is linked from its parent, from its own `.` and from each subdirectory's `..`;
    // a file or symlink from each of its names.
    nlink: entry.kind === 'dir' ? 2 + entry.subdirs : entry.links,
    ino: entry.id,
    blksize: BLOCK,
    // A file's holes take no blocks (du); what unsaved writes will take is not known yet.
    blocks: Math.ceil((entry.kind === 'file' && unsaved === undefined ? entry.storedBytes : size) / 512),
    atime: entry.accessedMs,
    mtime: unsaved?.modifiedMs ?? entry.modifiedMs,
    ctime: Math.max(entry.changedMs, unsaved?.changedMs ?? 0),
  };
}

/** What getattr answers for `entry`: a file with unsaved writes shows the size written, modified and changed at its last write. */
export function currentStat(files: OpenFiles, entry: Entry): Fuse.Stat {
  const dirty = entry.kind === 'file' ? files.dirtyOf(entry.id) : undefined;
  return dirty ? statOf(entry, { size: dirty.localSize!, modifiedMs: dirty.modifiedMs, changedMs: dirty.changedMs }) : statOf(entry);
}

export function attrOps(ctx: FuseContext): Fuse.Operations {
  const { controller, files } = ctx;

  const getattr = (path: string): Fuse.Stat => currentStat(files, controller.stat(path));

  return {
    getattr: (path, cb) => answer(ctx, 'getattr', path, cb, () => getattr(path)),
    // The kernel asks this of an open handle (a read near the end, a seek to it): its
    // file wherever it is now; one removed meanwhile (over REST, or with the directory
    // it was hidden in, whose path libfuse then gives as "", see dir-ops.ts) is still
    // the handle's, now with no links.
    fgetattr: (path, fd, cb) => answer(ctx, 'fgetattr', path, cb, () => {
      const file = files.get(fd);
      if (!file && path === '') throw new RaidfsError('ENOENT', `no open file with handle ${fd}`);
      if (!file) return getattr(path);
      const entry = controller.lookupById(file.fileId);
      return entry ? currentStat(files, entry) : { ...currentStat(files, file.snapshot.entry), nlink: 0 };
    }),

    chmod: (path, mode, cb) => answer(ctx, 'chmod', path, cb, () => { controller.setAttributes(path, { mode }); }),

    chown: (path, uid, gid, cb) => answer(ctx, 'chown', path, cb, () => {
      controller.setAttributes(path, {
        uid: uid === UNCHANGED_ID || uid < 0 ? undefined : uid,
        gid: gid === UNCHANGED_ID || gid < 0 ? undefined : gid,
      });
    }),

    utimens: (path, atime, mtime, cb) => answer(ctx, 'utimens', path, cb, () => {
      const modifiedMs = mtime === OMIT_TIME ? undefined : mtime;
      const entry = controller.setAttributes(path, { accessedMs: atime === OMIT_TIME ? undefined : atime, modifiedMs });
      const writing = files.writing(entry.id);
      if (modifiedMs !== undefined && writing) writing.modifiedMs = modifiedMs;
    }),

    statfs: (path, cb) => answer(ctx, 'statfs', path, cb, () => {
      const alive = controller.nodes().filter((n) => n.alive);
      const copies = Math.max(1, controller.replicas);
      const { capacityBytes, freeBytes } = clusterSpace(alive);
      // fuse-native passes 32-bit counts: past 16 TiB usable, the blocks counted grow instead.
      let frsize = BLOCK;
      while (capacityBytes / copies / frsize > 0xffffffff) frsize *= 2;
      const blocks = (bytes: number) => Math.floor(bytes / copies / frsize);
      const freeInodes = Math.max(0, INODES - controller.entryCount());
      return {
        bsize: BLOCK, frsize, blocks: blocks(capacityBytes), bfree: blocks(freeBytes), bavail: blocks(freeBytes),
        files: INODES, ffree: freeInodes, favail: freeInodes, namemax: 255,
      };
    }),
  };
}
