/**
 * The local, disk-backed copy of a file being written through the mount. Writes land
 * here at their offsets; on close the whole spool is streamed into the core, which
 * cuts it into parts (write-on-close, as in AFS). A file written sequentially from
 * its start needs none until it stops being sequential (see streaming-upload.ts).
 *
 * Invariants: the spool file is unlinked as soon as it is opened, so a crash leaves
 * nothing behind; memory use is one read buffer at a time, whatever the file size.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

const PIECE = 1 << 20;

export class Spool {
  private constructor(private readonly handle: fs.FileHandle, public size: number) {}

  static async create(dir: string): Promise<Spool> {
    const file = path.join(dir, `spool-${process.pid}-${randomBytes(6).toString('hex')}`);
    const handle = await fs.open(file, 'w+', 0o600);
    await fs.unlink(file);
    return new Spool(handle, 0);
  }

  /** Copies `source` in as the initial content. */
  async fill(source: AsyncIterable<Buffer>): Promise<void> {
    for await (const piece of source) await this.write(piece, this.size);
  }

  async write(data: Uint8Array, position: number): Promise<number> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
    this.size = Math.max(this.size, position + data.length);
    return done;
  }

  /** Writes `data` at the end; the end moves at once, so appends that overlap in time each get their own place. */
  append(data: Uint8Array): Promise<number> {
    const at = this.size;
    this.size += data.length;
    return this.write(data, at);
  }

  async read(into: Buffer, length: number, position: number): Promise<number> {
    const wanted = Math.max(0, Math.min(length, this.size - position));
    let done = 0;
    while (done < wanted) {
      const { bytesRead } = await this.handle.read(into, done, wanted - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done;
  }

  async truncate(size: number): Promise<void> {
    await this.handle.truncate(size);
    this.size = size;
  }

  /** The whole content, in pieces of up to 1 MiB (each a fresh buffer). */
  async *stream(): AsyncGenerator<Buffer> {
    for (let position = 0; position < this.size;) {
      const piece = Buffer.allocUnsafe(Math.min(PIECE, this.size - position));
      const n = await this.read(piece, piece.length, position);
      if (n === 0) throw new Error('spool shrank while being read');
      position += n;
      yield n === piece.length ? piece : piece.subarray(0, n);
    }
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
