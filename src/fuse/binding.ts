/**
 * Loading fuse-native, and the mount options it cannot express.
 *
 * fuse-native builds libfuse's "-o" string in Fuse.prototype._fuseOptions() and
 * knows no option for write size, so the kernel would send 4 KiB writes (about
 * 30 MB/s here). RaidfsFuse appends big_writes and max_write/max_read = 128 KiB
 * (libfuse 2's largest), plus any extra options given.
 *
 * A missing libfuse or /dev/fuse becomes one sentence saying what to install.
 */
import { existsSync } from 'node:fs';
import type FuseType from 'fuse-native';

export type FuseClass = typeof FuseType;
export type FuseInstance = InstanceType<FuseClass>;

export class FuseUnavailableError extends Error {}

/** fuse-native's class, or a FuseUnavailableError that says what is missing. */
export function loadFuse(): FuseClass {
  if (!existsSync('/dev/fuse')) {
    throw new FuseUnavailableError('/dev/fuse does not exist: load the FUSE kernel module (modprobe fuse), or give the container the device (--device /dev/fuse)');
  }
  try {
    return require('fuse-native') as FuseClass;
  } catch (err) {
    const why = (err as Error).message;
    if (/libfuse/.test(why)) throw new FuseUnavailableError(`libfuse is missing (${why.split('\n')[0]}): install it, e.g. apt-get install fuse libfuse2`);
    throw new FuseUnavailableError(`cannot load the FUSE binding (fuse-native): ${why.split('\n')[0]}; run npm ci`);
  }
}

/** The kernel's largest write/read request with libfuse 2. */
export const MAX_IO_BYTES = 128 * 1024;

/** A fuse-native subclass whose option string also carries `extraOptions`. */
export function fuseWithOptions(Fuse: FuseClass, extraOptions: readonly string[]): FuseClass {
  const base = Fuse.prototype as unknown as { _fuseOptions(): string };
  class RaidfsFuse extends (Fuse as unknown as new (...args: unknown[]) => object) {
    _fuseOptions(): string {
      const own = base._fuseOptions.call(this);
      const all = [...(own ? own.replace(/^-o/, '').split(',') : []), ...extraOptions];
      return all.length ? `-o${all.join(',')}` : '';
    }
  }
  Object.assign(RaidfsFuse, Fuse);
  return RaidfsFuse as unknown as FuseClass;
}
