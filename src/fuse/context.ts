/**
 * What every FUSE operation family shares: the controller core, fuse-native's class
 * (for errno constants), the open-file table, the spool directory, the mount's
 * metrics, its read and write windows, its page-cache policy, what it tells the
 * binding about a file just created or a handle just opened, who makes the operation,
 * and `answer`, the one place that turns a handler's result or failure into a FUSE
 * reply. Every operation that goes through it is counted in the metrics, none is
 * served once the mount went away (ENOTCONN), and the bytes read and write reply with
 * are counted as bytes out and in.
 */
import { Controller } from '../core/controller';
import type { FrontendMetrics } from '../core/metrics';
import type Fuse from 'fuse-native';
import type { Caller, FuseClass } from './binding';
import { errnoOf } from './errno';
import { OpenFiles } from './open-files';
import type { PageCache } from './page-cache';
import type { IoWindows } from './io-window';

export interface FuseContext {
  controller: Controller;
  Fuse: FuseClass;
  files: OpenFiles;
  spoolDir: string;
  metrics: FrontendMetrics;
  /** Buffers lent to the binding to answer reads and sequential writes. */
  windows: IoWindows;
  /** While answering a create: hands the binding the new file's attributes (readdirAttrCache().created). */
  created(fh: number, stat: Fuse.Stat): void;
  /** Which handles use the kernel's page cache, and which opens empty it. */
  pageCache: PageCache;
  /** The process making the operation being answered (currentCaller): ask before any await. */
  caller(): Caller;
  /** Tells the kernel its cached attributes of a node (Caller.nodeId) are out of date (forgetKernelAttributes). */
  attributesChanged(nodeId: number): void;
  /** The mount went away (the daemon stops) and its open files are closed: what still comes is answered ENOTCONN. */
  unmounted: boolean;
}

/**
 * Runs `work` and replies: cb(0, value) on success, cb(-errno) on failure. Never
 * throws, so no operation can take the mount down.
 */
export function answer<T>(ctx: FuseContext, op: string, path: string, cb: (err: number, value?: T) => void, work: () => T | Promise<T>): void {
  ctx.metrics.operation(op);
  if (ctx.unmounted) {
    cb(ctx.Fuse.ENOTCONN);
    return;
  }
  let result: T | Promise<T>;
  try {
    result = work();
  } catch (err) {
    cb(errnoOf(ctx.Fuse, err, op, path));
    return;
  }
  if (result instanceof Promise) {
    result.then((value) => cb(0, value), (err) => cb(errnoOf(ctx.Fuse, err, op, path)));
  } else {
    cb(0, result);
  }
}

/** For read/write, whose callback takes a byte count (counted as sent or received) or a negative errno. */
export function answerBytes(ctx: FuseContext, op: 'read' | 'write', path: string, cb: (bytesOrErr: number) => void, work: () => Promise<number>): void {
  answer<number>(ctx, op, path, (err, n) => {
    if (err < 0) return cb(err);
    if (op === 'read') ctx.metrics.sent(n ?? 0);
    else ctx.metrics.received(n ?? 0);
    cb(n ?? 0);
  }, work);
}
