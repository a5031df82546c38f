/**
 * How a failure becomes the errno a program sees. Core errors carry errno names
 * already (EUNAVAIL, "too few nodes", becomes EIO), and a full disk is one of them
 * (coreErrorOf); anything unexpected is logged and answered EIO, so no failure ever
 * takes the mount down.
 */
import { createLogger, errorMessage } from '../common/log';
import { coreErrorOf } from '../core/errors';
import type { FuseClass } from './binding';

const log = createLogger('fuse');

export function errnoOf(Fuse: FuseClass, err: unknown, op: string, path: string): number {
  const known = coreErrorOf(err);
  if (known) {
    if (known.code === 'EUNAVAIL') {
      log.warn(`${op} failed: ${known.message}`, { path });
      return Fuse.EIO;
    }
    if (known.code === 'EIO' || known.code === 'ENOSPC') log.warn(`${op} failed: ${known.message}`, { path });
    return Fuse[known.code];
  }
  log.error(`${op} failed unexpectedly`, { path, error: errorMessage(err) });
  return Fuse.EIO;
}
