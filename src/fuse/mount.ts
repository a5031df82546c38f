/**
 * The raidfs mount: the controller core served as a directory through fuse-native.
 *
 * Mount options: see binding.ts (newFuse); st_ino is the entry id, the same id REST
 * uses, and attributes and names are cached for `cacheSeconds` (by the kernel, and
 * by the binding from readdir's answers: every change of an entry made other than
 * through the mount, by REST say, tells the binding to stop serving them).
 *
 * Lifecycle: a stale mount left by a crashed daemon ("Transport endpoint is not
 * connected") is lazily unmounted before mounting; unmount() detaches the mount
 * even while programs still use it (fusermount -uz), and then closes the files they
 * had open, committing nothing they wrote since their last close or fsync (their
 * programs see ENOTCONN; a file they were creating is removed); `unmountedElsewhere` resolves
 * when the mount disappears without unmount() (`umount DIR`, as fstab users do), so
 * the daemon can shut down like any FUSE file system does.
 *
 * Invariant: this process never makes file-system calls on its own mount point
 * other than mounting and unmounting it (that would deadlock the single JS thread).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type Fuse from 'fuse-native';
import { makeDirectory } from '../common/directory-problems';
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

  static async mount(controller: Controller, options: MountOptions): Promise<RaidfsMount> {
    const mountpoint = path.resolve(options.mountpoint);
    const spoolDir = path.resolve(options.spoolDir);
    if (spoolDir === mountpoint || spoolDir.startsWith(`${mountpoint}/`)) throw new Error('the spool directory must not be inside the mount');
    const BaseFuse = loadFuse();
    await recoverStaleMount(mountpoint);
    makeDirectory(mountpoint, 'mount point');
    mkdirSync(spoolDir, { recursive: true });
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

/** Lazily unmounts a FUSE mount left at `mountpoint` (by a crashed raidfs, say). */
async function recoverStaleMount(mountpoint: string): Promise<void> {
  if (!fuseMountedAt(mountpoint)) return;
  log.warn('a FUSE mount is already there (left by a crash?); unmounting it', { mountpoint });
  try {
    await run('fusermount', ['-uz', mountpoint]);
  } catch {
    await run('umount', ['-l', mountpoint]);
  }
}

/** Whether the mount table lists a FUSE mount at `mountpoint` (reads /proc, not the mount). */
function fuseMountedAt(mountpoint: string): boolean {
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((line) => line.split(' '));
  return mounts.some(([, target, type]) => unescapeMountPath(target ?? '') === mountpoint && /^fuse/.test(type ?? ''));
}

function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}
