/**
 * Why a directory the user chose (a mount point, a data directory, the metadata
 * file's directory) cannot be made or written in, in words that name the path at
 * fault: the directory itself, or the ancestor that stops it (a regular file where a
 * directory should be, a directory the process may not write in). So the one line
 * `raidfs: ...` a failure prints says which path and what is wrong with it, not a bare
 * "EEXIST: file already exists, mkdir" or SQLite's "unable to open database file".
 *
 * Invariant: directoryProblem only looks (stat, access); makeDirectory only makes
 * the directories `mkdir -p` would.
 */
import { accessSync, constants, existsSync, mkdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';

/** What is wrong, as a sentence: `${path} ${problem}`. */
export interface PathProblem {
  /** The directory asked about, or the ancestor of it that is at fault (absolute). */
  path: string;
  /** "is a file, not a directory", "does not exist", "is not writable (permission denied)", ... */
  problem: string;
}

/** Why files cannot be made in directory `dir` (made first if missing), or undefined if nothing is seen wrong. */
export function directoryProblem(dir: string): PathProblem | undefined {
  const wanted = path.resolve(dir);
  for (let at = wanted; ; at = path.dirname(at)) {
    let stats: Stats;
    try {
      stats = statSync(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return { path: at, problem: `cannot be looked at (${code ?? String(err)})` };
      if (path.dirname(at) === at) return { path: wanted, problem: 'does not exist' };
      continue;
    }
    if (!stats.isDirectory()) return { path: at, problem: stats.isFile() ? 'is a file, not a directory' : 'is not a directory' };
    // The nearest directory there is: `wanted`'s missing part would be made in it.
    return writeProblem(at) ?? (at === wanted ? undefined : { path: wanted, problem: 'does not exist' });
  }
}

/**
 * Makes directory `dir` and the missing ones above it (`mkdir -p`). If it cannot, the
 * error names it as the `what` ("mount point") and says what is wrong: "the mount
 * point /mnt/x is a file, not a directory", "cannot make the data directory /a/b:
 * /a is not writable (permission denied)".
 */
export function makeDirectory(dir: string, what: string): void {
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const wanted = path.resolve(dir);
    const found = directoryProblem(wanted);
    if (found?.path === wanted && existsSync(wanted)) throw new Error(`the ${what} ${wanted} ${found.problem}`);
    // Not there, and nothing seen wrong above it: mkdir's own words say why.
    const why = found && found.path !== wanted ? `${found.path} ${found.problem}` : (err as Error).message;
    throw new Error(`cannot make the ${what} ${wanted}: ${why}`);
  }
}

/** Why the process may not make files in directory `dir`, or undefined if it may. */
function writeProblem(dir: string): PathProblem | undefined {
  try {
    accessSync(dir, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem = code === 'EROFS' ? 'is on a read-only file system'
      : code === 'EACCES' || code === 'EPERM' ? 'is not writable (permission denied)' : `is not writable (${code ?? String(err)})`;
    return { path: dir, problem };
  }
}
