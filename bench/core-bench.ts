/**
 * Core benchmark (run as its own process, so its peak RSS is the controller's): a
 * controller and 4 local storage nodes on loopback; one FILE_MIB file streamed in
 * through Controller.writeFile and read back through readStream. The ceiling is the
 * same bytes written (with fsync) to and read from one local file on the same disk.
 * Prints its rows as JSON on stdout.
 */
import '../src/common/gc-tuning'; // the controller here runs with raidfs's V8 settings, as `raidfs controller` does
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Controller } from '../src/core/controller';
import { LocalNode } from '../src/cli/local-nodes';
import { BenchRow, mbPerSecond, peakRssMiB } from './report';

const FILE_MIB = Number(process.env.RAIDFS_BENCH_CORE_MIB ?? 256);
const PIECE = 1 << 20;

/** FILE_MIB MiB of random-looking bytes in 1 MiB pieces (each its own buffer: a writer may keep what it is given). */
async function* source(): AsyncGenerator<Buffer> {
  const random = randomBytes(PIECE);
  for (let i = 0; i < FILE_MIB; i++) {
    const piece = Buffer.from(random);
    piece.writeUInt32LE(i, 0);
    yield piece;
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-bench-core-'));
  const bytes = FILE_MIB * PIECE;
  const controller = await Controller.start({ dbPath: path.join(dir, 'meta.sqlite'), endpoint: 'tcp://127.0.0.1:0' });
  const nodes = [1, 2, 3, 4].map((i) => new LocalNode({ id: `node${i}`, dataDir: path.join(dir, `node${i}`), controller: controller.endpoint }, 'ignore'));
  try {
    await controller.waitForNodes(4, 15_000);
    const writeMs = await timed(() => controller.writeFile('/bench.bin', source()));
    const readMs = await timed(async () => {
      let n = 0;
      for await (const piece of controller.readStream('/bench.bin')) n += piece.length;
      if (n !== bytes) throw new Error(`read ${n} of ${bytes} bytes`);
    });
    const rss = peakRssMiB();

    const local = path.join(dir, 'ceiling.bin');
    const localWriteMs = await timed(async () => {
      const handle = await fs.open(local, 'w');
      for await (const piece of source()) await handle.write(piece);
      await handle.sync();
      await handle.close();
    });
    const localReadMs = await timed(async () => {
      const handle = await fs.open(local, 'r');
      const buf = Buffer.allocUnsafe(4 << 20);
      while ((await handle.read(buf, 0, buf.length)).bytesRead > 0);
      await handle.close();
    });
    const rows: BenchRow[] = [
      { section: 'core', what: `write ${FILE_MIB} MiB (2 copies, 4 nodes)`, value: mbPerSecond(bytes, writeMs), unit: 'MB/s',
        ceiling: { name: 'local file + fsync', value: mbPerSecond(bytes, localWriteMs) } },
      { section: 'core', what: `read ${FILE_MIB} MiB`, value: mbPerSecond(bytes, readMs), unit: 'MB/s',
        ceiling: { name: 'local file read', value: mbPerSecond(bytes, localReadMs) } },
      { section: 'core', what: `controller peak RSS, ${FILE_MIB} MiB write+read`, value: rss, unit: 'MiB', target: '< 256 MiB', met: rss < 256 },
    ];
    process.stdout.write(JSON.stringify(rows) + '\n');
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await controller.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`core bench failed: ${err.stack ?? err}\n`); process.exit(1); });
