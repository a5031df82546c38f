/**
 * The mount settings that `raidfs up` and `raidfs controller --mount` share, and the
 * directories a mount needs, made and checked before anything starts
 * (prepareMountDirectories): the mount point, which must be empty (libfuse refuses
 * one with files in it, and fuse-native then says only "fuse failed"), and the spool.
 * A mount point that the mount table lists as mounted (a mount a killed raidfs left)
 * is not looked into: that could hang on a dead FUSE daemon, and the mount recovers
 * it (fuse/mount.ts), then makes it if need be.
 */
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { makeDirectory } from '../common/directory-problems';
import { mountTypeAt } from '../common/mount-table';
import { MountOptions } from '../fuse/mount';
import { OptionSpec, OptionValues, UsageError } from './options';

export const mountOptionSpecs: Record<string, OptionSpec> = {
  'cache-seconds': { type: 'string', help: 'seconds the kernel caches attributes and names', default: '1' },
};

export function mountOptionsFrom(values: OptionValues, mountpoint: string, spoolDir: string): MountOptions {
  const cacheSeconds = Number(values['cache-seconds']);
  if (!(cacheSeconds >= 0)) throw new UsageError(`--cache-seconds: not a number of seconds: ${JSON.stringify(values['cache-seconds'])}`);
  return { mountpoint, spoolDir, cacheSeconds };
}

/** Makes the mount point and the spool directory; throws one line naming the one that cannot be used. */
export function prepareMountDirectories(options: MountOptions): void {
  const mountpoint = path.resolve(options.mountpoint);
  const spoolDir = path.resolve(options.spoolDir);
  if (spoolDir === mountpoint || spoolDir.startsWith(`${mountpoint}/`)) throw new UsageError(`the spool directory ${spoolDir} must not be inside the mount point ${mountpoint}`);
  if (mountTypeAt(mountpoint) === undefined) {
    makeDirectory(mountpoint, 'mount point');
    let entries: string[];
    try {
      entries = readdirSync(mountpoint);
    } catch (err) {
      throw new Error(`the mount point ${mountpoint} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    if (entries.length > 0) {
      throw new Error(`the mount point ${mountpoint} is not empty (${entries.length} entr${entries.length === 1 ? 'y' : 'ies'}, e.g. ${JSON.stringify(entries[0])}): `
        + 'mount on an empty directory, or empty this one');
    }
  }
  makeDirectory(spoolDir, 'spool directory');
}
