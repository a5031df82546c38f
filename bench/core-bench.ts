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
import { PIECE, randomPieces, startLocalCluster, timed, writeAndReadBack } from './local-cluster';
import { BenchRow, mbPerSecond, peakRssMiB } from './report';

const FILE_MIB = Number(process.env.RAIDFS_BENCH_CORE_MIB ?? 256);

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-bench-core-'));
  const bytes = FILE_MIB * PIECE;
  const cluster = await startLocalCluster(dir);
  try {
    const { writeMs, readMs } = await writeAndReadBack(cluster.controller, '/bench.bin', FILE_MIB);
    const rss = peakRssMiB();

    const local = path.join(dir, 'ceiling.bin');
    const localWriteMs = await timed(async () => {
      const handle = await fs.open(local, 'w');
      for await (const piece of randomPieces(FILE_MIB)) await handle.write(piece);
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
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0), (err) => { process.stderr.write(`core bench failed: ${err.stack ?? err}\n`); process.exit(1); });
