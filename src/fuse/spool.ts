/**
 * The local, disk-backed copy of a file being written through the mount, over the
 * committed version it started from (its base). Writes land here at their offsets;
 * on close the spool becomes an edit of the base (core/file-edit.ts), so only the
 * stripes written are stored again (write-on-close, as in AFS). A file written
 * sequentially from its start needs none until it stops being sequential (see
 * streaming-upload.ts).
 *
 * A stripe of the base is copied in only when first touched (read, written, or cut
 * by a truncate): a line appended to a file of gigabytes fetches and stores its last
 * stripe, not the whole file.
 *
 * Invariants:
 * - The spool file is as long as the content. Its bytes are the content's in every
 *   stripe `filled` and every stripe wholly at or past `ownFrom`; any other stripe
 *   is the base's bytes below `baseLimit` (zeros past it), copied in (filled) before
 *   anything reads or writes it there.
 * - `changed` holds every stripe written since the base: the edit's invariant, since
 *   a stripe not written is the base's bytes below baseLimit and zeros past it.
 * - A write or truncate past MAX_FILE_SIZE fails (EFBIG) before anything changes.
 * - The spool file is unlinked as soon as it is opened, so a crash leaves nothing
 *   behind; memory use is one stripe at a time, whatever the file size.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Controller, FileEdit, FileSnapshot } from '../core/controller';
import { requireStorableSize } from '../core/file-size';

export class Spool {
  private readonly filled = new Set<number>();
  private readonly filling = new Map<number, Promise<void>>();
  private readonly changed = new Set<number>();
  private readonly stripeSize: number;

  private constructor(
    private readonly handle: fs.FileHandle,
    private readonly controller: Controller,
    private base: FileSnapshot,
    /** How much of the base the content still shows: its size, or less once cut. */
    private baseLimit: number,
    /** Where the spool starts holding every byte itself (see the invariants). */
    private ownFrom: number,
    public size: number,
  ) {
    this.stripeSize = controller.stripeSize;
  }

  /** A spool over `base`, holding its content (copied in as touched), or nothing if `empty`. */
  static async create(dir: string, controller: Controller, base: FileSnapshot, empty: boolean): Promise<Spool> {
    const file = path.join(dir, `spool-${process.pid}-${randomBytes(6).toString('hex')}`);
    const handle = await fs.open(file, 'w+', 0o600);
    await fs.unlink(file);
    const size = empty ? 0 : base.entry.size;
    try {
      await handle.truncate(size);
    } catch (err) {
      await handle.close();
      throw err;
    }
    return new Spool(handle, controller, base, size, size, size);
  }

  /** Appends `source` (an empty spool's initial content). */
  async fill(source: AsyncIterable<Buffer>): Promise<void> {
    for await (const piece of source) await this.write(piece, this.size);
  }

  async write(data: Uint8Array, position: number): Promise<number> {
    const end = position + data.length;
    requireStorableSize(end);
    const before = this.size;
    if (end > before) this.resized(end);
    let done = 0;
    try {
      await this.touch(position, end, true);
      while (done < data.length) {
        const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
      return done;
    } catch (err) {
      // The content ends where the bytes written so far do: a short write, as POSIX
      // reports one, or the error if none got in.
      this.undoGrowth(end, Math.max(before, position + done));
      if (done > 0) return done;
      throw err;
    }
  }

  /** Writes `data` at the end; the end moves at once, so appends that overlap in time each get their own place. */
  append(data: Uint8Array): Promise<number> {
    return this.write(data, this.size);
  }

  async read(into: Buffer, length: number, position: number): Promise<number> {
    const wanted = Math.max(0, Math.min(length, this.size - position));
    await this.touch(position, position + wanted, false);
    let done = 0;
    while (done < wanted) {
      const { bytesRead } = await this.handle.read(into, done, wanted - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async truncate(size: number): Promise<void> {
    requireStorableSize(size);
    const before = this.size;
    this.baseLimit = Math.min(this.baseLimit, size);
    this.ownFrom = Math.min(this.ownFrom, size);
    this.resized(size);
    await this.settleFills();
    try {
      await this.handle.truncate(size);
    } catch (err) {
      this.undoGrowth(size, before); // (a cut fails only on an I/O error; it is not undone)
      throw err;
    }
  }

  /** What the spool holds, as an edit of its base: to store and commit (Controller.writeEdit). */
  edit(): FileEdit {
    return {
      base: this.base, size: this.size, baseLimit: this.baseLimit, changed: new Set(this.changed),
      readChanged: async (offset, length) => {
        const data = Buffer.allocUnsafe(length);
        if (await this.read(data, length, offset) !== length) throw new Error('spool shrank while being read');
        return data;
      },
    };
  }

  /** The edit was committed as `version`: from now on the spool is an edit of that (which holds what the spool holds). */
  rebase(version: FileSnapshot): void {
    this.base = version;
    this.baseLimit = this.size;
    this.changed.clear();
  }

  async close(): Promise<void> {
    await this.settleFills();
    await this.handle.close();
  }

  /** The size is now `size` (at once, so that appends overlapping in time each get their own place). */
  private resized(size: number): void {
    this.size = size;
    const stripes = Math.ceil(size / this.stripeSize);
    for (const stripe of this.changed) if (stripe >= stripes) this.changed.delete(stripe);
  }

  /**
   * After a write or truncate that grew the size to `grown` failed (the spool's file
   * system refused the size, or is full): the size goes back to `held`, what the
   * spool file holds, unless another change moved it since, so the commit at close
   * stores what the spool holds.
   */
  private undoGrowth(grown: number, held: number): void {
    if (grown > held && this.size === grown) this.resized(held);
  }

  /** Copies in the base's bytes of every stripe of [start, end) not here yet; marks them changed if `writing`. */
  private async touch(start: number, end: number, writing: boolean): Promise<void> {
    if (end <= start) return;
    const stripes: number[] = [];
    for (let stripe = Math.floor(start / this.stripeSize); stripe * this.stripeSize < end; stripe++) stripes.push(stripe);
    await Promise.all(stripes.map((stripe) => this.fillStripe(stripe)));
    // Only once copied in: a stripe whose copy failed must not be stored from the spool.
    if (writing) for (const stripe of stripes) this.changed.add(stripe);
  }

  /** Copies stripe `stripe` of the base in, once, if the spool does not hold its bytes yet. */
  private fillStripe(stripe: number): Promise<void> {
    const offset = stripe * this.stripeSize;
    if (this.filled.has(stripe) || offset >= this.ownFrom || offset >= this.baseLimit) return Promise.resolve();
    let fill = this.filling.get(stripe);
    if (!fill) {
      const length = Math.min(this.stripeSize, this.baseLimit - offset);
      fill = (async () => {
        const data = Buffer.allocUnsafe(length);
        await this.controller.readExactly(this.base, offset, data);
        await this.handle.write(data, 0, length, offset);
        this.filled.add(stripe);
      })().finally(() => this.filling.delete(stripe));
      this.filling.set(stripe, fill);
    }
    return fill;
  }

  /** Waits for the stripe copies under way (a truncate must not be undone by one finishing after it). */
  private async settleFills(): Promise<void> {
    await Promise.allSettled([...this.filling.values()]);
  }
}
