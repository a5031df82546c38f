/**
 * How a failure becomes the errno a program sees. Core errors carry errno names
 * already (EUNAVAIL, "too few nodes", becomes EIO); anything unexpected is logged
 * and answered EIO, so no failure ever takes the mount down.
 */
import { createLogger, errorMessage } from '../common/log';
import { RaidfsError } from '../core/errors';
import type { FuseClass } from './binding';

const log = createLogger('fuse');

export function errnoOf(Fuse: FuseClass, err: unknown, op: string, path: string): number {
  if (err instanceof RaidfsError) {
    if (err.code === 'EUNAVAIL') {
      log.warn(`${op} failed: ${err.message}`, { path });
      return Fuse.EIO;
    }
    if (err.code === 'EIO' || err.code === 'ENOSPC') log.warn(`${op} failed: ${err.message}`, { path });
    return Fuse[err.code];
  }
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOSPC') return Fuse.ENOSPC;
  log.error(`${op} failed unexpectedly`, { path, error: errorMessage(err) });
  return Fuse.EIO;
}
