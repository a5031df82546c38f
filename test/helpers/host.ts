/**
 * What tests ask of this machine: whether a process is still running and what /proc
 * says of it, whether a directory is a mount point now, and a loopback TCP port
 * nothing listens on.
 * Reads only (/proc, kill 0); nothing here changes the machine.
 */
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';

/** Whether process `pid` exists (signal 0 checks without signalling). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The fields of /proc/PID/stat after the command name (which may hold spaces and
 * parentheses): [0] is the state, [1] the parent's pid, [2] the process group, [11]
 * and [12] the user and system CPU time in clock ticks. Throws if the process is gone.
 */
export function procStat(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** Whether /proc/mounts lists a mount at exactly `dir`. */
export function isMounted(dir: string): boolean {
  return readFileSync('/proc/mounts', 'utf8').split('\n').some((line) => line.split(' ')[1] === dir);
}

/** A loopback port that was free a moment ago (bound, read, released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
