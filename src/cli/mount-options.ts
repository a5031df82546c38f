/**
 * The mount settings that `raidfs up` and `raidfs controller --mount` share.
 */
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
