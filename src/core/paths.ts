/**
 * File-tree paths as the core accepts them: absolute, '/'-separated, no empty, '.'
 * or '..' components, no NUL, names of at most 255 bytes. A trailing '/' is allowed
 * and ignored. Anything else is rejected with EINVAL before it touches metadata.
 * Names and symlink targets are well-formed Unicode (EILSEQ otherwise): a lone
 * surrogate has no UTF-8 form, and would be stored as U+FFFD, the same as another
 * name. (The mount refuses names whose bytes are not UTF-8 before they get here:
 * native/utf8-names.c.)
 */
import { RaidfsError } from './errors';

export const MAX_NAME_BYTES = 255;
export const MAX_PATH_BYTES = 4096;

/** The components of a path; [] is the root. */
export function splitPath(path: string): string[] {
  if (typeof path !== 'string' || !path.startsWith('/')) {
    throw new RaidfsError('EINVAL', `path must be absolute: ${JSON.stringify(path)}`);
  }
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) throw new RaidfsError('ENAMETOOLONG', 'path is too long');
  const names = path.split('/').filter((name, i, all) => !(name === '' && (i === 0 || i === all.length - 1)));
  names.forEach(checkName);
  return names;
}

export function checkName(name: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new RaidfsError('EINVAL', `invalid file name ${JSON.stringify(name)}`);
  }
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) throw new RaidfsError('ENAMETOOLONG', `name is too long: ${name.slice(0, 40)}...`);
  checkUnicode(name, 'file name');
}

const LONE_SURROGATE = /\p{Surrogate}/u;

/** EILSEQ unless `text` (a name, a symlink's target) is well-formed Unicode. */
export function checkUnicode(text: string, what: string): void {
  if (LONE_SURROGATE.test(text)) throw new RaidfsError('EILSEQ', `${what} is not valid Unicode: ${JSON.stringify(text)}`);
}

export function joinPath(names: readonly string[]): string {
  return '/' + names.join('/');
}

/** The path of the entry `name` in the directory at `dirPath`. */
export function childPath(dirPath: string, name: string): string {
  return dirPath === '/' ? `/${name}` : `${dirPath}/${name}`;
}
