/**
 * FUSE namespace operations: readdir, mkdir, rmdir, unlink, rename, symlink,
 * readlink, link, fsyncdir.
 *
 * Kernel contract: readdir lists names (with "." and ".."), here with their
 * attributes, so `ls -l` costs no round trip to JS per name, and a large directory a
 * page at a time (directory-pages.ts); rmdir fails ENOTEMPTY on
 * a non-empty directory and ENOTDIR on a file; unlink fails EISDIR on a directory;
 * rename replaces an existing target atomically (rename(2) rules, enforced by the
 * core). libfuse 2 renames a file that is unlinked while open to .fuse_hidden* and
 * unlinks it on release, so open files stay readable. A directory that holds nothing
 * but such files is empty to its owner (`rm -r` of a directory with a log still
 * open in it): rmdir removes them with it, as REST's deletes remove an open file, and
 * their handles read on from the version they hold (libfuse then passes their
 * operations no path, see native/fuse-binding.mjs). link gives a file or symlink a
 * further name (the same inode number and content under each); a directory's is
 * refused with EPERM, as link(2) does.
 */
import type Fuse from 'fuse-native';
import { RaidfsError } from '../core/errors';
import { childPath } from '../core/paths';
import { statOf } from './attr-ops';
import { answer, FuseContext } from './context';
import { listingPage } from './directory-pages';

/**
 * One readdir call's names, and with them the attributes getattr would answer for
 * each, which the binding serves to the lookups that follow
 * (native/readdir-attr-cache.c), and the cookie after each (directory-pages.ts).
 */
interface Listing {
  names: string[];
  stats?: Fuse.Stat[];
  cookies: number[];
}

/** The name libfuse 2 gives a file unlinked while open (".fuse_hidden" and 16 hex digits). */
const HIDDEN_NAME = /^\.fuse_hidden[0-9a-f]{16}$/;
/** The most such files rmdir removes with their directory; past that, it is not empty. */
const HIDDEN_FILES_MAX = 1000;

export function dirOps(ctx: FuseContext): Fuse.Operations {
  const { controller, files } = ctx;
  return {
    readdir: (path, offset, cb) => answer(ctx, 'readdir', path, (err, listing?: Listing) => cb(err, listing?.names, listing?.stats, listing?.cookies), () => {
      const { dir, dots, entries, cookies } = listingPage(controller, path, offset);
      const names = [...dots, ...entries.map((e) => e.name)];
      // A file with unsaved writes reports a size and time of its own (attr-ops.ts):
      // then names only, so that getattr asks JS for every one.
      if (entries.some((e) => e.kind === 'file' && files.dirtyOf(e.id))) return { names, cookies };
      const parent = dir.parentId === null ? dir : controller.statById(dir.parentId);
      const stats = [...dots.map((d) => statOf(d === '.' ? dir : parent)), ...entries.map((e) => statOf(e))];
      return { names, stats, cookies };
    }),

    mkdir: (path, mode, cb) => answer(ctx, 'mkdir', path, cb, () => {
      const { uid, gid } = ctx.caller();
      controller.mkdir(path, { mode: mode & 0o7777, uid, gid });
    }),

    rmdir: (path, cb) => answer(ctx, 'rmdir', path, cb, () => {
      if (controller.stat(path).kind !== 'dir') throw new RaidfsError('ENOTDIR', `${path} is not a directory`);
      const left = controller.list(path, '', HIDDEN_FILES_MAX + 1);
      if (left.length <= HIDDEN_FILES_MAX && left.every((e) => HIDDEN_NAME.test(e.name) && files.isOpen(e.id))) {
        for (const hidden of left) controller.remove(childPath(path, hidden.name));
      }
      controller.remove(path);
    }),

    unlink: (path, cb) => answer(ctx, 'unlink', path, cb, () => {
      if (controller.stat(path).kind === 'dir') throw new RaidfsError('EISDIR', `${path} is a directory`);
      controller.remove(path);
    }),

    rename: (from, to, cb) => answer(ctx, 'rename', from, cb, () => {
      controller.rename(from, to);
      files.renamed(from, to);
    }),

    symlink: (target, path, cb) => answer(ctx, 'symlink', path, cb, () => {
      const { uid, gid } = ctx.caller();
      controller.symlink(path, target, { uid, gid });
    }),

    readlink: (path, cb) => answer(ctx, 'readlink', path, cb, () => controller.readlink(path)),

    link: (from, to, cb) => answer(ctx, 'link', to, cb, () => { controller.link(from, to); }),

    // Namespace changes are durable as they commit, but a close's commit waits for the
    // sync delay: fsync of the directory (the entry of a file just written) syncs it.
    fsyncdir: (path, _datasync, _fd, cb) => answer(ctx, 'fsyncdir', path, cb, () => controller.syncMetadata()),
  };
}
