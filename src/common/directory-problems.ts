/**
 * Why a directory the user chose (a mount point, a data directory, the metadata
 * file's directory) cannot be made or written in, in words that name the path at
 * fault: the directory itself, or the ancestor that stops it (a regular file where a
 * directory should be, a directory the process may not write in). So the one line
 * `raidfs: ...` a failure prints says which path and what is wrong with it, not a bare
 * "EEXIST: file already exists, mkdir" or SQLite's "unable to open database file".
 *
 * Invariants: directoryProblem only looks (stat, access); makeDirectory only makes
 * the directories `mkdir -p` would, one mkdir(2) each, and is how raidfs makes every
 * directory the user names or that holds its keys (a node's own layout under its data
 * directory excepted: chunk-store.ts).
 */
import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
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
  const found = nearestThere(wanted);
  if ('problem' in found) return found;
  // The nearest directory there is: `wanted`'s missing part would be made in it.
  return writeProblem(found.at) ?? (found.missing.length === 0 ? undefined : { path: wanted, problem: 'does not exist' });
}

/**
 * Makes directory `dir` and the missing ones above it (`mkdir -p`; `mode` for each
 * one made), one at a time from the nearest that is there: not with Node's
 * `mkdirSync({ recursive: true })`, which loops forever where mkdir fails with ENOENT
 * in a directory that exists (/proc). If it cannot, the error names it as the `what`
 * ("mount point") and says what is wrong: "the mount point /mnt/x is a file, not a
 * directory", "cannot make the data directory /a/b: /a is not writable (permission
 * denied)".
 */
export function makeDirectory(dir: string, what: string, mode?: number): void {
  const wanted = path.resolve(dir);
  const found = nearestThere(wanted);
  if ('problem' in found) {
    throw new Error(found.path === wanted ? `the ${what} ${wanted} ${found.problem}` : `cannot make the ${what} ${wanted}: ${found.path} ${found.problem}`);
  }
  for (const missing of found.missing) {
    try {
      mkdirSync(missing, { mode });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && isDirectory(missing)) continue; // made meanwhile by someone else
      const parent = path.dirname(missing);
      const problem = code === 'EEXIST' ? { path: missing, problem: 'is in the way (not a directory, perhaps a dangling symbolic link)' }
        : writeProblem(parent) ?? { path: parent, problem: `does not let a directory be made in it (mkdir ${missing}: ${code ?? String(err)}, ${systemMessage(err)})` };
      throw new Error(`cannot make the ${what} ${wanted}: ${problem.path} ${problem.problem}`);
    }
  }
}

/**
 * The nearest of `wanted` and its ancestors that is there, and the missing ones below
 * it (nearest it first); or, if that one is no directory or cannot be looked at, what
 * is wrong with it.
 */
function nearestThere(wanted: string): { at: string; missing: string[] } | PathProblem {
  const missing: string[] = [];
  for (let at = wanted; ; at = path.dirname(at)) {
    let stats: Stats;
    try {
      stats = statSync(at);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') return { path: at, problem: `cannot be looked at (${code ?? String(err)})` };
      if (path.dirname(at) === at) return { path: wanted, problem: 'does not exist' };
      missing.unshift(at);
      continue;
    }
    if (!stats.isDirectory()) return { path: at, problem: stats.isFile() ? 'is a file, not a directory' : 'is not a directory' };
    return { at, missing };
  }
}

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** "no such file or directory", from a system error's message ("ENOENT: no such file or directory, mkdir '/x'"). */
function systemMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return /^[A-Z0-9]+: (.*?), \w+ '/.exec(message)?.[1] ?? message;
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
