/**
 * The one place that turns a /fs URL into a core path: /fs/a%20b/c -> '/a b/c'.
 *
 * The raw (still percent-encoded) URL path is split on '/' first and each segment is
 * decoded on its own, so an encoded slash (%2F) stays inside a name, where the core
 * rejects it, instead of adding a directory level. Validation of the names ('.', '..',
 * empty, NUL, length) is the core's (paths.ts): a bad path is EINVAL, i.e. 400.
 * A trailing '/' means "the directory": GET lists it, PUT creates it, DELETE removes
 * it; naming a file so is ENOTDIR (409), as "file/" is for rm and stat.
 */
import type { Request } from 'express';
import type { Entry } from '../core/controller';
import { RaidfsError } from '../core/errors';
import { checkName, splitPath } from '../core/paths';
import { HttpError } from './errors';

interface FsTarget {
  /** Absolute core path, without a trailing '/'. */
  path: string;
  /** The URL ended in '/' (or named the root). */
  directory: boolean;
}

/** The core path a request under the /fs router names (req.path is relative to the mount). */
export function fsTarget(req: Request): FsTarget {
  const raw = req.path;
  const segments = raw.split('/').slice(1);
  const directory = segments.at(-1) === '';
  if (directory) segments.pop();
  const names = segments.map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      throw new HttpError(400, `malformed percent-encoding in path: ${raw}`);
    }
  });
  names.forEach(checkName); // EINVAL / ENAMETOOLONG for '.', '..', empty names, '/', NUL, ...
  const path = '/' + names.join('/');
  splitPath(path); // and for a path over the length limit
  return { path, directory: directory || names.length === 0 };
}

/** Throws ENOTDIR if the target names a directory (its URL ended in '/') and `entry`, what is at its path, is not one. */
export function checkDirectoryTarget(target: FsTarget, entry: Entry | undefined): void {
  if (target.directory && entry !== undefined && entry.kind !== 'dir') throw new RaidfsError('ENOTDIR', `${target.path} is not a directory`);
}
