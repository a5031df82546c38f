/**
 * Type declarations for fuse-native 2.2.6 (the package ships none), covering what
 * raidfs uses, as read from its index.js: callback-style operations, negative errno
 * constants as static members, times as milliseconds since the epoch.
 */
declare module 'fuse-native' {
  namespace Fuse {
  type Cb = (err: number) => void;
  type CbWith<T> = (err: number, value?: T) => void;

  interface Stat {
    mode: number; uid: number; gid: number; size: number; nlink: number; ino?: number;
    blksize?: number; blocks?: number; atime: number | Date; mtime: number | Date; ctime: number | Date;
  }

  interface StatFs {
    bsize: number; frsize: number; blocks: number; bfree: number; bavail: number;
    files: number; ffree: number; favail: number; fsid?: number; flag?: number; namemax: number;
  }

  interface Operations {
    init?(cb: Cb): void;
    statfs?(path: string, cb: CbWith<StatFs>): void;
    getattr?(path: string, cb: CbWith<Stat>): void;
    /** With raidfs's binding this gets the handle (fuse-native's own called getattr with the path). */
    fgetattr?(path: string, fd: number, cb: CbWith<Stat>): void;
    access?(path: string, mode: number, cb: Cb): void;
    /**
     * raidfs's binding (src/fuse/binding.ts, native/fuse-binding.mjs) passes the offset
     * to list from and takes the offset after each name (none: the whole listing).
     */
    readdir?(path: string, offset: number, cb: (err: number, names?: string[], stats?: Stat[], offsets?: number[]) => void): void;
    /** raidfs's binding takes a third value: how the handle uses the page cache (src/fuse/binding.ts). */
    open?(path: string, flags: number, cb: (err: number, fd?: number, pageCache?: { directIo: boolean; keepCache: boolean }) => void): void;
    create?(path: string, mode: number, cb: CbWith<number>): void;
    read?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErr: number) => void): void;
    write?(path: string, fd: number, buf: Buffer, len: number, pos: number, cb: (bytesOrErr: number) => void): void;
    flush?(path: string, fd: number, cb: Cb): void;
    fsync?(path: string, datasync: number, fd: number, cb: Cb): void;
    fsyncdir?(path: string, datasync: number, fd: number, cb: Cb): void;
    release?(path: string, fd: number, cb: Cb): void;
    truncate?(path: string, size: number, cb: Cb): void;
    ftruncate?(path: string, fd: number, size: number, cb: Cb): void;
    /**
     * raidfs's binding passes each time as signed milliseconds (before 1970: negative),
     * and UTIME_OMIT ("leave as is") as -2^63.
     */
    utimens?(path: string, atime: number, mtime: number, cb: Cb): void;
    chmod?(path: string, mode: number, cb: Cb): void;
    chown?(path: string, uid: number, gid: number, cb: Cb): void;
    unlink?(path: string, cb: Cb): void;
    rename?(src: string, dest: string, cb: Cb): void;
    link?(src: string, dest: string, cb: Cb): void;
    symlink?(target: string, path: string, cb: Cb): void;
    readlink?(path: string, cb: CbWith<string>): void;
    mkdir?(path: string, mode: number, cb: Cb): void;
    rmdir?(path: string, cb: Cb): void;
  }

  interface Options {
    timeout?: number | false | Record<string, number | false>;
    force?: boolean;
    mkdir?: boolean;
    debug?: boolean;
    allowOther?: boolean;
    autoCache?: boolean;
    kernelCache?: boolean;
    maxRead?: number;
    fsname?: string;
    subtype?: string;
    entryTimeout?: number | string;
    attrTimeout?: number | string;
    acAttrTimeout?: number | string;
  }

  }

  class Fuse {
    constructor(mnt: string, ops: Fuse.Operations, opts?: Fuse.Options);
    readonly mnt: string;
    mount(cb: (err: Error | null) => void): void;
    unmount(cb: (err: Error | null) => void): void;
    static unmount(mnt: string, cb: (err: Error | null) => void): void;
    static ENOENT: number; static EIO: number; static EEXIST: number; static ENOTDIR: number; static EISDIR: number;
    static ENOTEMPTY: number; static EINVAL: number; static EFBIG: number; static ENOSPC: number; static ENAMETOOLONG: number; static EILSEQ: number;
    static EPERM: number; static EACCES: number; static EBADF: number; static ENOSYS: number; static EXDEV: number;
    static EROFS: number; static ETIMEDOUT: number; static EMLINK: number; static EBUSY: number; static ENOTCONN: number;
  }

  export = Fuse;
}
