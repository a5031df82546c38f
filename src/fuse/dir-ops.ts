/**
 * FUSE namespace operations: readdir, mkdir, rmdir, unlink, rename, symlink,
 * readlink, link.
 *
 * Kernel contract: readdir lists names (with "." and ".."); rmdir fails ENOTEMPTY on
 * a non-empty directory and ENOTDIR on a file; unlink fails EISDIR on a directory;
 * rename replaces an existing target atomically (rename(2) rules, enforced by the
 * core). libfuse 2 renames a file that is unlinked while open to .fuse_hidden* and
 * unlinks it on release, so open files stay readable. Hard links are not supported:
 * link answers EPERM, as Linux file systems without hard links do.
 */
import type Fuse from 'fuse-native';
import { RaidfsError } from '../core/errors';
import { answer, FuseContext } from './context';

export function dirOps(ctx: FuseContext): Fuse.Operations {
  const { controller, files } = ctx;
  return {
    readdir: (path, cb) => answer(ctx, 'readdir', path, (err, names?: string[]) => cb(err, names), () =>
      ['.', '..', ...controller.list(path).map((e) => e.name)]),

    mkdir: (path, mode, cb) => answer(ctx, 'mkdir', path, cb, () => { controller.mkdir(path, { mode: mode & 0o7777 }); }),

    rmdir: (path, cb) => answer(ctx, 'rmdir', path, cb, () => {
      if (controller.stat(path).kind !== 'dir') throw new RaidfsError('ENOTDIR', `${path} is not a directory`);
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

    symlink: (target, path, cb) => answer(ctx, 'symlink', path, cb, () => { controller.symlink(path, target); }),

    readlink: (path, cb) => answer(ctx, 'readlink', path, cb, () => controller.readlink(path)),

    link: (_from, _to, cb) => cb(ctx.Fuse.EPERM),
  };
}
