/**
 * The program behind a FUSE request, from /proc: the kernel names the calling
 * thread (its id is the `pid` of Caller), so two threads of one program, such as
 * `git index-pack`'s writer and its readers, look like two callers until their
 * thread group is read.
 *
 * Invariant: only read when a decision needs it (a set-ID bit to drop, a file that is
 * being written opened for reading), never on the common paths; a thread that is gone
 * has no program (undefined), so it matches none.
 */
import { readFileSync } from 'node:fs';

/** /proc/PID/status of the calling thread, or undefined if it is gone (or the request came from no program). */
export function processStatus(pid: number): string | undefined {
  if (pid <= 0) return undefined;
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
}

/** True if threads `a` and `b` belong to one program (one thread group), both still running. */
export function sameProgram(a: number, b: number): boolean {
  const program = (pid: number) => /^Tgid:\s*(\d+)$/m.exec(processStatus(pid) ?? '')?.[1];
  const of = program(a);
  return of !== undefined && of === program(b);
}
