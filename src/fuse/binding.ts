/**
 * Loading fuse-native, and raidfs's mount options, including those it cannot express.
 *
 * fuse-native builds libfuse's "-o" string in Fuse.prototype._fuseOptions() and
 * knows no option for write size, so the kernel would send 4 KiB writes (about
 * 30 MB/s here). newFuse() appends big_writes and max_write = 128 KiB (libfuse 2's
 * largest), atomic_o_trunc (O_TRUNC reaches open, see file-ops.ts), use_ino (st_ino
 * is the file system's own), default_permissions (the kernel checks mode bits) and
 * fsname/subtype; through fuse-native's own options it sets max_read = 128 KiB and
 * attribute/entry caching. Whether an open keeps the kernel's cached pages of a file
 * is JS's answer (page-cache.ts), not libfuse's auto_cache. The benchmark's discard mount is made by
 * the same function, so the ceiling it measures has exactly these options.
 *
 * raidfs builds fuse-native from its own patched C source (native/fuse-binding.mjs);
 * patchedBinding() reaches what that adds: getattr answered on the FUSE thread from
 * the attributes the last readdir returned (native/readdir-attr-cache.c, through
 * readdirAttrCache(), kept for the same time as the kernel's attribute cache), and
 * libfuse's fgetattr right after a create from the attributes JS created it with, and
 * reads and sequential writes answered on the FUSE thread (native/io-window.c,
 * through io-window.ts), each open's page-cache flags (the third value of its
 * answer), and telling the kernel a node's attributes changed (forgetKernelAttributes()).
 *
 * A missing libfuse or /dev/fuse becomes one sentence saying what to install.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type FuseType from 'fuse-native';

export type FuseClass = typeof FuseType;
export type FuseInstance = InstanceType<FuseClass>;

export class FuseUnavailableError extends Error {}

/** fuse-native's class, or a FuseUnavailableError that says what is missing. */
export function loadFuse(): FuseClass {
  if (!existsSync('/dev/fuse')) {
    throw new FuseUnavailableError('/dev/fuse does not exist: load the FUSE kernel module (modprobe fuse), or give the container the device (--device /dev/fuse)');
  }
  try {
    return require('fuse-native') as FuseClass;
  } catch (err) {
    const why = (err as Error).message;
    if (/libfuse/.test(why)) throw new FuseUnavailableError(`libfuse is missing (${why.split('\n')[0]}): install it, e.g. apt-get install fuse libfuse2`);
    throw new FuseUnavailableError(`cannot load the FUSE binding (fuse-native): ${why.split('\n')[0]}; run npm ci`);
  }
}

/** The native side of the readdir attribute cache (native/readdir-attr-cache.c). */
export interface ReaddirAttrCache {
  /** How long a readdir's attributes may answer getattr, in ms (0: never); one value per process. */
  setTtlMs(ms: number): void;
  /** Stops every cached attribute from being served: after a change made other than through the mount. */
  invalidate(): void;
  /**
   * While answering a create: the new file's attributes, for the fgetattr libfuse makes
   * right after it (answered by the binding if nothing changed in between).
   */
  created(fuse: FuseInstance, fh: number, stat: FuseType.Stat): void;
  /** How many getattr calls the cache answered so far. */
  hits(): number;
}

/** What raidfs adds to fuse-native's binding (native/fuse-binding.mjs), as it is called from JS. */
export interface PatchedBinding {
  raidfs_attr_cache_ttl(ms: number): void;
  raidfs_attr_cache_invalidate(): void;
  raidfs_attr_cache_hits(): number;
  raidfs_attr_cache_created(thread: Buffer | null, fh: number, stat: Uint32Array): void;
  raidfs_window_open(thread: Buffer | null, fh: number, buffer: Buffer, fileOffset: number, hash: boolean): boolean;
  raidfs_window_append(thread: Buffer | null, fh: number, bytes: Uint8Array): number;
  raidfs_window_filled(thread: Buffer | null, fh: number): number;
  raidfs_window_lend_read(thread: Buffer | null, fh: number, bytes: Buffer, fileOffset: number): boolean;
  raidfs_window_close(thread: Buffer | null, fh: number, reading: boolean, digest: Buffer | undefined): [held: number, answered: number, answeredBytes: number];
  raidfs_caller(): [uid: number, gid: number, pid: number, createFlags: number, nodeId: number];
  raidfs_forget_attributes(nodeId: number): void;
}

let patched: PatchedBinding | undefined;

/** raidfs's additions in the loaded fuse-native binding (looked up once); call after loadFuse(). */
export function patchedBinding(): PatchedBinding {
  if (patched) return patched;
  // The module fuse-native itself loaded (node-gyp-build picks the same file; require caches it).
  const dir = path.dirname(require.resolve('fuse-native/package.json'));
  const native = createRequire(path.join(dir, 'index.js'))('node-gyp-build')(dir) as Partial<PatchedBinding>;
  const wanted: Array<keyof PatchedBinding> = ['raidfs_attr_cache_ttl', 'raidfs_attr_cache_invalidate', 'raidfs_attr_cache_hits', 'raidfs_attr_cache_created',
    'raidfs_window_open', 'raidfs_window_append', 'raidfs_window_filled', 'raidfs_window_lend_read', 'raidfs_window_close',
    'raidfs_caller', 'raidfs_forget_attributes'];
  if (wanted.some((name) => typeof native[name] !== 'function')) {
    throw new FuseUnavailableError('the fuse-native binding was not built with raidfs\'s changes: run npm ci (or node native/fuse-binding.mjs)');
  }
  patched = native as PatchedBinding;
  return patched;
}

/** How a handle uses the kernel's page cache of its file (page-cache.ts decides). */
export interface PageCacheUse {
  /** Reads and writes go around the page cache. */
  directIo: boolean;
  /** The pages the kernel has of the file stay; if false, the open empties the cache. */
  keepCache: boolean;
}

/** The process whose request the mount is answering: ask synchronously, in the operation's first turn. */
export interface Caller {
  uid: number;
  gid: number;
  pid: number;
  /** A create's open flags (fuse-native passes create none); 0 for other operations. */
  createFlags: number;
  /** The node id (libfuse's, the kernel's inode) the request is about. */
  nodeId: number;
}

/** The caller of the operation being answered now (native/caller.c). */
export function currentCaller(): Caller {
  const [uid, gid, pid, createFlags, nodeId] = patchedBinding().raidfs_caller();
  return { uid, gid, pid, createFlags, nodeId };
}

/** Tells the kernel that its cached attributes of node `nodeId` are out of date (native/attr-notify.c). */
export function forgetKernelAttributes(nodeId: number): void {
  patchedBinding().raidfs_forget_attributes(nodeId);
}

let attrCache: ReaddirAttrCache | undefined;

/** The cache in the loaded fuse-native binding (looked up once); call after loadFuse(). */
export function readdirAttrCache(): ReaddirAttrCache {
  if (attrCache) return attrCache;
  const native = patchedBinding();
  attrCache = {
    setTtlMs: (ms) => native.raidfs_attr_cache_ttl(Math.min(0xffffffff, Math.max(0, Math.round(ms)))),
    invalidate: () => native.raidfs_attr_cache_invalidate(),
    created: (fuse, fh, stat) => native.raidfs_attr_cache_created(mountThread(fuse), fh, statArray(stat)),
    hits: () => native.raidfs_attr_cache_hits(),
  };
  return attrCache;
}

/** fuse-native's per-mount thread state, made when it mounts: the binding knows the mount by it. */
export function mountThread(fuse: FuseInstance): Buffer | null {
  return (fuse as unknown as { _thread: Buffer | null })._thread;
}

/** A stat as fuse-native hands it to its C side (its getStatArray): 32-bit words, times in ms. */
function statArray(stat: FuseType.Stat): Uint32Array {
  const words = new Uint32Array(18);
  const wide = (at: number, n: number) => {
    words[at] = n % 2 ** 32;
    words[at + 1] = Math.floor(n / 2 ** 32);
  };
  words[0] = stat.mode;
  words[1] = stat.uid;
  words[2] = stat.gid;
  wide(3, stat.size);
  words[6] = stat.nlink;
  words[7] = stat.ino ?? 0;
  words[9] = stat.blksize ?? 0;
  wide(10, stat.blocks ?? 0);
  wide(12, timeMs(stat.atime));
  wide(14, timeMs(stat.mtime));
  wide(16, timeMs(stat.ctime));
  return words;
}

const timeMs = (time: Date | number): number => (typeof time === 'number' ? time : time.getTime());

/** The kernel's largest write/read request with libfuse 2. */
export const MAX_IO_BYTES = 128 * 1024;

export interface MountSettings {
  /** fsname and subtype in the mount table. */
  name: string;
  /** Mount with fuse-native's defaults only (4 KiB writes): for benchmarks. */
  smallWrites?: boolean;
  /** Seconds the kernel caches attributes and names (default 1; 0 disables). */
  cacheSeconds?: number;
}

/** Operations that wait on storage nodes, so no fuse-native timeout (the core bounds every node request). */
const UNTIMED_OPS = ['read', 'write', 'open', 'create', 'flush', 'fsync', 'release', 'truncate', 'ftruncate'];

/** A fuse-native instance for `ops` at `mountpoint` with raidfs's mount options (not mounted yet). */
export function newFuse(Fuse: FuseClass, mountpoint: string, ops: FuseType.Operations, settings: MountSettings): FuseInstance {
  const extra = ['atomic_o_trunc', 'use_ino', 'default_permissions', `fsname=${settings.name}`, `subtype=${settings.name}`];
  if (!settings.smallWrites) extra.push('big_writes', `max_write=${MAX_IO_BYTES}`);
  const cache = String(settings.cacheSeconds ?? 1);
  readdirAttrCache().setTtlMs((settings.cacheSeconds ?? 1) * 1000);
  return new (raidfsFuse(Fuse, extra))(mountpoint, ops, {
    maxRead: MAX_IO_BYTES,
    attrTimeout: cache,
    entryTimeout: cache,
    timeout: { default: 30_000, ...Object.fromEntries(UNTIMED_OPS.map((op) => [op, false])) },
  });
}

/** A signed 64-bit number from its two's complement 32-bit words (exact within ±2^53, and at -2^63). */
function signedWords(low: number, high: number): number {
  return (high | 0) * 2 ** 32 + low;
}

/** How fuse-native answers an operation to its C side: errno, then the operation's results. */
type Signal = (err: number, ...results: unknown[]) => void;

/**
 * A fuse-native subclass whose option string also carries `extraOptions`; whose
 * readdir passes the operation the offset to list from and the binding the offset
 * after each name (fuse-native's own passes neither: every listing was whole; see
 * native/fuse-binding.mjs and directory-pages.ts); whose fgetattr reaches the
 * operation with its handle (fuse-native's calls getattr with the path, so a handle
 * whose file another front end removed got ENOENT from a read near its end); and
 * whose utimens passes times as signed milliseconds (before 1970: negative; see
 * native/fuse-binding.mjs), where fuse-native's read them as unsigned; and whose
 * open answers with the handle how it uses the page cache (PageCacheUse).
 */
function raidfsFuse(Fuse: FuseClass, extraOptions: readonly string[]): FuseClass {
  const base = Fuse.prototype as unknown as { _fuseOptions(): string };
  class RaidfsFuse extends (Fuse as unknown as new (...args: unknown[]) => { ops: FuseType.Operations }) {
    _fuseOptions(): string {
      const own = base._fuseOptions.call(this);
      const all = [...(own ? own.replace(/^-o/, '').split(',') : []), ...extraOptions];
      return all.length ? `-o${all.join(',')}` : '';
    }

    _op_readdir(signal: Signal, path: string, offsetLow: number, offsetHigh: number): void {
      this.ops.readdir!(path, offsetLow + offsetHigh * 2 ** 32, (err, names, stats, offsets) => {
        if (err) return signal(err);
        signal(0, names ?? [], stats?.map(statArray) ?? [], offsets ?? []);
      });
    }

    _op_utimens(signal: Signal, path: string, atimeLow: number, atimeHigh: number, mtimeLow: number, mtimeHigh: number): void {
      this.ops.utimens!(path, signedWords(atimeLow, atimeHigh), signedWords(mtimeLow, mtimeHigh), (err) => signal(err));
    }

    _op_open(signal: Signal, path: string, flags: number): void {
      this.ops.open!(path, flags, (err, fd, use) => signal(err, fd ?? 0, use ? (use.directIo ? 1 : 0) | (use.keepCache ? 2 : 0) : 0));
    }

    _op_fgetattr(signal: Signal, path: string, fd: number): void {
      this.ops.fgetattr!(path, fd, (err, stat) => {
        if (err) return signal(err);
        signal(0, statArray(stat!));
      });
    }
  }
  Object.assign(RaidfsFuse, Fuse);
  return RaidfsFuse as unknown as FuseClass;
}
