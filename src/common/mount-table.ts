/**
 * The kernel's mount table, read from /proc/self/mounts, never from the mount points
 * themselves: looking into a mount whose FUSE daemon is dead or hung can fail or
 * hang, while the table always answers.
 *
 * Invariant: paths are compared as the kernel lists them, unescaped (a space is
 * \040, a backslash \134 there).
 */
import { readFileSync } from 'node:fs';

/** The file-system type of the mount at exactly `dir` (e.g. "fuse", "ext4"), or undefined if none is mounted there. */
export function mountTypeAt(dir: string): string | undefined {
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  const mounts = readFileSync('/proc/self/mounts', 'utf8').split('\n').map((line) => line.split(' '));
  return mounts.filter(([, target]) => unescape(target ?? '') === dir).at(-1)?.[2]; // the last listed is on top
}
