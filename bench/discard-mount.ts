/**
 * The FUSE binding's ceiling for bench/fuse-bench.ts: a fuse-native mount that
 * stores nothing. Writes only advance a file's size, reads return zeros; names,
 * modes, owners, sizes and times live in an in-memory map, so cp, cp -r, cat,
 * ls -l and rm -r work on it. Each handler answers at once, so what is measured is
 * the kernel + libfuse + fuse-native round trips with raidfs's mount options.
 *
 * Usage: node dist/bench/discard-mount.js MOUNTPOINT [--small-writes]
 *   --small-writes  mounts without big_writes/max_write (fuse-native's 4 KiB writes),
 *                   as `RaidfsMount` does with `smallWrites`.
 * Prints "discard mount ready" once mounted; SIGINT/SIGTERM unmount and exit.
 *
 * Its mount options are raidfs's: both mounts are made by newFuse (src/fuse/binding.ts).
 * Like raidfs, this process never touches its own mount point.
 */
import path from 'node:path';
import type Fuse from 'fuse-native';
import { loadFuse, newFuse } from '../src/fuse/binding';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const O_TRUNC = 0o1000;
/** UTIME_OMIT arrives as 2^64-1 (see native/fuse-binding.mjs). */
const OMIT_TIME_FROM = 2 ** 63;
const UNCHANGED_ID = 0xffffffff;

interface Node {
  /** Inode number (the mount uses use_ino, as raidfs's does). */
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atime: number;
  mtime: number;
  ctime: number;
  children?: Set<string>;
}

function parentOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i <= 0 ? '/' : p.slice(0, i);
}

function main(): void {
  const args = process.argv.slice(2);
  const mountpoint = args.find((a) => !a.startsWith('--'));
  if (!mountpoint) throw new Error('usage: discard-mount MOUNTPOINT [--small-writes]');
  const smallWrites = args.includes('--small-writes');

  const BaseFuse = loadFuse();
  const now = Date.now();
  const uid = process.getuid?.() ?? 0;
  const gid = process.getgid?.() ?? 0;
  const nodes = new Map<string, Node>([['/', { ino: 1, mode: S_IFDIR | 0o755, uid, gid, size: 4096, atime: now, mtime: now, ctime: now, children: new Set() }]]);
  let nextFd = 1;
  let nextIno = 2;

  const stat = (n: Node): Fuse.Stat => ({
    ino: n.ino, mode: n.mode, uid: n.uid, gid: n.gid, size: n.size, nlink: n.children ? 2 : 1,
    blksize: 4096, blocks: Math.ceil(n.size / 512), atime: n.atime, mtime: n.mtime, ctime: n.ctime,
  });
  const add = (p: string, mode: number): Node | number => {
    const parent = nodes.get(parentOf(p));
    if (!parent) return BaseFuse.ENOENT;
    if (!parent.children) return BaseFuse.ENOTDIR;
    const t = Date.now();
    const node: Node = { ino: nextIno++, mode, uid, gid, size: 0, atime: t, mtime: t, ctime: t, children: (mode & S_IFDIR) === S_IFDIR ? new Set() : undefined };
    nodes.set(p, node);
    parent.children.add(path.posix.basename(p));
    parent.mtime = parent.ctime = t;
    return node;
  };
  const remove = (p: string): void => {
    nodes.delete(p);
    const parent = nodes.get(parentOf(p));
    parent?.children?.delete(path.posix.basename(p));
    if (parent) parent.mtime = parent.ctime = Date.now();
  };
  /** Runs `fn` on the node at `p`, or answers ENOENT. */
  const withNode = (p: string, cb: Fuse.Cb, fn: (n: Node) => number | void): void => {
    const n = nodes.get(p);
    if (!n) return cb(BaseFuse.ENOENT);
    cb(fn(n) ?? 0);
  };

  const ops: Fuse.Operations = {
    getattr: (p, cb) => { const n = nodes.get(p); return n ? cb(0, stat(n)) : cb(BaseFuse.ENOENT); },
    fgetattr: (p, _fd, cb) => { const n = nodes.get(p); return n ? cb(0, stat(n)) : cb(BaseFuse.ENOENT); },
    readdir: (p, _offset, cb) => {
      const n = nodes.get(p);
      if (!n) return cb(BaseFuse.ENOENT);
      if (!n.children) return cb(BaseFuse.ENOTDIR);
      // With attributes, as raidfs answers: the binding then serves the lookups that follow.
      const children = [...n.children];
      cb(0, ['.', '..', ...children], [stat(n), stat(nodes.get(parentOf(p))!), ...children.map((c) => stat(nodes.get(path.posix.join(p, c))!))]);
    },
    create: (p, mode, cb) => {
      const existing = nodes.get(p);
      if (existing) { existing.size = 0; return cb(0, nextFd++); }
      const made = add(p, S_IFREG | (mode & 0o7777));
      return typeof made === 'number' ? cb(made) : cb(0, nextFd++);
    },
    open: (p, flags, cb) => {
      const n = nodes.get(p);
      if (!n) return cb(BaseFuse.ENOENT);
      if (flags & O_TRUNC) { n.size = 0; n.mtime = n.ctime = Date.now(); }
      cb(0, nextFd++);
    },
    read: (p, _fd, buf, len, pos, cb) => {
      const n = nodes.get(p);
      if (!n) return cb(BaseFuse.ENOENT);
      const count = Math.max(0, Math.min(len, n.size - pos));
      buf.fill(0, 0, count);
      cb(count);
    },
    write: (p, _fd, _buf, len, pos, cb) => {
      const n = nodes.get(p);
      if (!n) return cb(BaseFuse.ENOENT);
      if (pos + len > n.size) n.size = pos + len;
      n.mtime = Date.now();
      cb(len);
    },
    truncate: (p, size, cb) => withNode(p, cb, (n) => { n.size = size; n.mtime = n.ctime = Date.now(); }),
    ftruncate: (p, _fd, size, cb) => withNode(p, cb, (n) => { n.size = size; n.mtime = n.ctime = Date.now(); }),
    flush: (_p, _fd, cb) => cb(0),
    fsync: (_p, _datasync, _fd, cb) => cb(0),
    release: (_p, _fd, cb) => cb(0),
    unlink: (p, cb) => withNode(p, cb, (n) => {
      if (n.children) return BaseFuse.EISDIR;
      remove(p);
    }),
    rename: (from, to, cb) => withNode(from, cb, (n) => {
      const target = nodes.get(to);
      if (target?.children?.size) return BaseFuse.ENOTEMPTY;
      const parent = nodes.get(parentOf(to));
      if (!parent?.children) return BaseFuse.ENOENT;
      if (target) remove(to);
      remove(from);
      nodes.set(to, n);
      parent.children.add(path.posix.basename(to));
      // Only top-level renames are needed here (libfuse's .fuse_hidden files); a
      // directory's descendants keep their old keys.
    }),
    mkdir: (p, mode, cb) => {
      if (nodes.has(p)) return cb(BaseFuse.EEXIST);
      const made = add(p, S_IFDIR | (mode & 0o7777));
      cb(typeof made === 'number' ? made : 0);
    },
    rmdir: (p, cb) => withNode(p, cb, (n) => {
      if (!n.children) return BaseFuse.ENOTDIR;
      if (n.children.size) return BaseFuse.ENOTEMPTY;
      remove(p);
    }),
    utimens: (p, atime, mtime, cb) => withNode(p, cb, (n) => {
      if (atime < OMIT_TIME_FROM) n.atime = atime;
      if (mtime < OMIT_TIME_FROM) n.mtime = mtime;
      n.ctime = Date.now();
    }),
    chmod: (p, mode, cb) => withNode(p, cb, (n) => { n.mode = (n.mode & ~0o7777) | (mode & 0o7777); n.ctime = Date.now(); }),
    chown: (p, newUid, newGid, cb) => withNode(p, cb, (n) => {
      if (newUid !== UNCHANGED_ID && newUid >= 0) n.uid = newUid;
      if (newGid !== UNCHANGED_ID && newGid >= 0) n.gid = newGid;
      n.ctime = Date.now();
    }),
  };

  // The same options as RaidfsMount.mount: both come from newFuse.
  const fuse = newFuse(BaseFuse, path.resolve(mountpoint), ops, { name: 'discard', smallWrites });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    fuse.unmount((err) => {
      if (err) process.stderr.write(`discard mount: unmount failed: ${err.message}\n`);
      process.exit(err ? 1 : 0);
    });
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  fuse.mount((err) => {
    if (err) {
      process.stderr.write(`discard mount: cannot mount ${mountpoint}: ${err.message}\n`);
      process.exit(1);
    }
    process.stdout.write(`discard mount ready: ${fuse.mnt}${smallWrites ? ' (small writes)' : ''}\n`);
  });
}

try {
  main();
} catch (err) {
  process.stderr.write(`discard mount: ${(err as Error).message}\n`);
  process.exit(1);
}
