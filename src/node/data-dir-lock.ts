/**
 * One node process per data directory: a running node holds `<data>/LOCK`, which
 * names its PID. Two processes on one directory would answer for the same node id
 * and each clear the other's temp files of interrupted writes, so a second one
 * refuses to start and says which process holds the directory. A lock whose process
 * is gone (a crash, a kill -9) is taken over.
 *
 * Invariants: the lock file is created with O_EXCL, so of two processes starting on
 * a free directory only one gets it; a clean stop removes it. Node has no flock, so
 * two processes taking over the same *stale* lock at the same instant could both
 * succeed: the one window this does not close.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export class DataDirInUseError extends Error {}

export class DataDirLock {
  private constructor(private readonly file: string) {}

  static async acquire(dir: string): Promise<DataDirLock> {
    const file = path.join(dir, 'LOCK');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await fs.writeFile(file, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
        return new DataDirLock(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const holder = Number.parseInt(await fs.readFile(file, 'utf8').catch(() => ''), 10);
      if (holder > 0 && holder !== process.pid && await isRunningNode(holder)) {
        throw new DataDirInUseError(`data directory ${dir} is in use by process ${holder} (a running raidfs node); stop it first`);
      }
      await fs.rm(file, { force: true }); // stale: the process that held it is gone
    }
    throw new DataDirInUseError(`data directory ${dir} was locked by another node starting at the same moment`);
  }

  async release(): Promise<void> {
    await fs.rm(this.file, { force: true });
  }
}

/**
 * Whether `pid` is alive and, as far as /proc tells, a `raidfs node` (the CLI entry
 * followed by `node`), not another process that reused the PID.
 */
async function isRunningNode(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const cmdline = await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (cmdline === undefined) return true;
  const args = cmdline.split('\0');
  const entry = args.findIndex((arg) => arg.endsWith(path.join('cli', 'main.js')));
  return entry >= 0 && args[entry + 1] === 'node';
}
