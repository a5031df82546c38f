/**
 * The raidfs mount: the controller core served as a directory through fuse-native.
 *
 * Mount options: see binding.ts (newFuse); st_ino is the entry id, the same id REST
 * uses, and attributes and names are cached for `cacheSeconds` (by the kernel, and
 * by the binding from readdir's answers: every change of an entry made other than
 * through the mount, by REST say, tells the binding to stop serving them).
 *
 * Lifecycle: a stale mount left by a crashed daemon ("Transport endpoint is not
 * connected") is lazily unmounted before mounting, while a FUSE mount whose daemon
 * answers or hangs is refused (never taken from under its programs); unmount()
 * detaches the mount even while programs still use it (fusermount -uz), and then
 * closes the files they had open, committing nothing they wrote since their last
 * close or fsync (their programs see ENOTCONN; a file they were creating is
 * removed); `unmountedElsewhere` resolves when the mount disappears without
 * unmount() (`umount DIR`, as fstab users do), so the daemon can shut down like any
 * FUSE file system does.
 *
 * Invariant: this process never makes file-system calls on its own mount point
 * other than mounting and unmounting it (that would deadlock the single JS thread).
 */
import { execFile } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type Fuse from 'fuse-native';
import { makeDirectory } from '../common/directory-problems';
import { mountTypeAt } from '../common/mount-table';
import { createLogger } from '../common/log';
import { Controller } from '../core/controller';
import { attrOps } from './attr-ops';
import { currentCaller, forgetKernelAttributes, FuseInstance, loadFuse, MountSettings, newFuse, readdirAttrCache } from './binding';
import { FuseContext } from './context';
import { dirOps } from './dir-ops';
import { closeAbandonedFiles, fileOps } from './file-ops';
import { OpenFiles } from './open-files';
import { PageCache } from './page-cache';
import { IoWindows } from './io-window';

export interface MountOptions extends Omit<MountSettings, 'name'> {
  mountpoint: string;
  /** Where spools of files being written live (never inside the mount). */
  spoolDir: string;
}

const log = createLogger('fuse');
const run = promisify(execFile);

/** How often the mount table is read to notice an unmount from outside. */
const MOUNT_WATCH_MS = 1_000;

export class RaidfsMount {
  private unmounting = false;
  /** Resolves if the mount goes away other than by unmount() (never rejects). */
  readonly unmountedElsewhere: Promise<void>;

  private constructor(
    readonly mountpoint: string,
    private readonly fuse: FuseInstance,
    private readonly ctx: FuseContext,
    private readonly stopInvalidating: () => void,
  ) {
    this.unmountedElsewhere = new Promise((resolve) => {
      const watch = setInterval(() => {
        if (this.unmounting) clearInterval(watch);
        else if (!fuseMountedAt(mountpoint)) {
          clearInterval(watch);
          log.warn('the mount was unmounted from outside', { mountpoint });
          resolve();
        }
      }, MOUNT_WATCH_MS);
      watch.unref();
    });
  }

  /**
   * Mounts the store at `options.mountpoint`, whose directories the CLI has made and
   * checked first (cli/mount-options.ts prepareMountDirectories: the spool outside the
   * mount point, an empty mount point); one a stale mount covered is made here, once
   * that mount is gone.
   */
  static async mount(controller: Controller, options: MountOptions): Promise<RaidfsMount> {
    const mountpoint = path.resolve(options.mountpoint);
    const spoolDir = path.resolve(options.spoolDir);
    const BaseFuse = loadFuse();
    await recoverStaleMount(mountpoint);
    makeDirectory(mountpoint, 'mount point');
    // Emptied, not removed: the spool may be a mount point of its own (a tmpfs, say).
    for (const name of readdirSync(spoolDir)) rmSync(path.join(spoolDir, name), { recursive: true, force: true });

    const metrics = controller.metrics.fuse;
    const attrCache = readdirAttrCache();
    let fuse: FuseInstance | undefined; // made from the operations, which ctx serves
    const files = new OpenFiles();
    const ctx: FuseContext = {
      controller, Fuse: BaseFuse, files, spoolDir, metrics, windows: new IoWindows(metrics), pageCache: new PageCache(files),
      created: (fh, stat) => fuse && attrCache.created(fuse, fh, stat),
      caller: currentCaller,
      attributesChanged: forgetKernelAttributes,
      unmounted: false,
    };
    const ops: Fuse.Operations = { ...attrOps(ctx), ...dirOps(ctx), ...fileOps(ctx) };
    fuse = newFuse(BaseFuse, mountpoint, ops, { name: 'raidfs', smallWrites: options.smallWrites, cacheSeconds: options.cacheSeconds });
    ctx.windows.bind(fuse);
    // Changes made other than through the mount (REST) reach the binding's attribute cache
    // only from here. The listener hears the mount's own changes too, which the binding
    // noted already: one more generation bump each, which costs a mutex and no answer.
    controller.metrics.readAttrCacheHitsFrom(() => attrCache.hits());
    const stopInvalidating = controller.onEntriesChanged(() => attrCache.invalidate());
    try {
      await new Promise<void>((resolve, reject) => fuse.mount((err) => (err ? reject(new Error(`cannot mount ${mountpoint}: ${err.message}`)) : resolve())));
    } catch (err) {
      stopInvalidating();
      throw err;
    }
    log.info('mounted', { mountpoint, spool: spoolDir });
    return new RaidfsMount(mountpoint, fuse, ctx, stopInvalidating);
  }

  async unmount(): Promise<void> {
    this.unmounting = true;
    this.stopInvalidating();
    await new Promise<void>((resolve) => this.fuse.unmount((err) => {
      if (err && fuseMountedAt(this.mountpoint)) log.warn('unmount failed', { mountpoint: this.mountpoint, error: err.message });
      resolve();
    }));
    log.info('unmounted', { mountpoint: this.mountpoint });
    await closeAbandonedFiles(this.ctx);
  }
}

/** How long a FUSE mount found at the mount point has to answer a lookup before it counts as hung. */
const LIVENESS_TIMEOUT_MS = 3_000;

/**
 * Lazily unmounts a FUSE mount left at `mountpoint` by a daemon that is gone (a
 * lookup in it fails with ENOTCONN, "Transport endpoint is not connected"). A mount
 * whose daemon still answers (another raidfs, sshfs), or does not answer at all
 * (stopped, hung), is refused instead: taking it away would cut off the programs
 * using it, and a raidfs serving it would shut down.
 */
async function recoverStaleMount(mountpoint: string): Promise<void> {
  if (!fuseMountedAt(mountpoint)) return;
  const liveness = await probeMount(mountpoint, LIVENESS_TIMEOUT_MS);
  if (liveness === 'answered') {
    throw new Error(`the mount point ${mountpoint} is in use by a running file system; stop it (fusermount -u ${mountpoint}) or choose another mount point`);
  }
  if (liveness === 'no answer') {
    throw new Error(`the mount point ${mountpoint} holds a FUSE mount whose daemon does not answer (stopped or hung); stop that process, or unmount it with fusermount -uz ${mountpoint}`);
  }
  log.warn('a FUSE mount whose daemon is gone is there (left by a crash?); unmounting it', { mountpoint });
  try {
    await run('fusermount', ['-uz', mountpoint]);
  } catch {
    await run('umount', ['-l', mountpoint]);
  }
}

/** Stats the path in argv[1]; exits 3 if no daemon serves its file system (ENOTCONN), 0 on any other answer. */
const PROBE = "require('node:fs').stat(process.argv[1], (err) => process.exit(err?.code === 'ENOTCONN' ? 3 : 0))";

/**
 * Asks the daemon of the FUSE mount at `mountpoint` to look up a name (one the kernel
 * has not cached): 'answered' (with attributes or an error such as ENOENT or EACCES:
 * a daemon that denies this user runs too), 'gone' (ENOTCONN: no daemon serves it),
 * or 'no answer' within `timeoutMs`. Asked from a child process, killed if it hangs:
 * a thread of this process stuck in that lookup could never be joined, and exit()
 * would hang too.
 */
async function probeMount(mountpoint: string, timeoutMs: number): Promise<'answered' | 'gone' | 'no answer'> {
  try {
    await run(process.execPath, ['-e', PROBE, path.join(mountpoint, '.raidfs-liveness-probe')], { timeout: timeoutMs, killSignal: 'SIGKILL' });
    return 'answered';
  } catch (err) {
    const { code, killed } = err as { code?: number; killed?: boolean };
    if (killed) return 'no answer';
    if (code === 3) return 'gone';
    throw err;
  }
}

/** Whether the mount table lists a FUSE mount at `mountpoint` (the topmost there). */
function fuseMountedAt(mountpoint: string): boolean {
  return /^fuse/.test(mountTypeAt(mountpoint) ?? '');
}
