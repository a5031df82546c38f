/**
 * FUSE benchmark (a section of `npm run bench`, run as its own process): the same
 * workload, driven by child processes (cp, cat, ls, rm; this process serves no mount),
 * on three targets on the same machine:
 *   - raidfs: a real `raidfs up` (controller + 4 storage nodes + the mount) in a child
 *     process, default options;
 *   - "discard FUSE": bench/discard-mount.ts in a child process, a fuse-native mount
 *     with raidfs's mount options whose handlers store nothing: the ceiling of the
 *     FUSE binding, which every raidfs figure is compared with;
 *   - a local directory on the same disk (in each row's text).
 * Workload: (a) cp of one FILE_MIB random file into the target, timed until cp exits
 * (close returned), then cat back to /dev/null after dropping the kernel page cache
 * (when allowed, i.e. as root); the raidfs copy is checked with cmp, outside the
 * timing. (a) runs in BIG_ROUNDS rounds on all three targets, which are up at once:
 * their order is reversed every other round, and each figure is the median of its
 * rounds (the range is printed with it). Then (b) cp -r of 2000 files of 4 KiB, then
 * again into another directory (a first copy after start-up and big-file traffic,
 * and a second); (c) ls -l of them, cold (after the 1 s attribute/entry cache expired
 * and dentries were dropped) then warm; (d) rm -r; target after target.
 * Also (a)'s write through a read-write handle, which uses the page cache, on the
 * discard mount and on one with fuse-native's default options (4 KiB writes), to show
 * what big_writes buys (cp's write-only handle bypasses the page cache, where the
 * write size is not limited), and the peak RSS of the controller and of
 * the storage nodes. For the big write and read and the cp -r, the CPU time they
 * cost (the command's and the mount's processes'), which bounds what this machine's
 * cores allow whatever the overlap.
 * Before each big write and read, as much free memory as the file needs is made
 * recently used (warmFreeMemory: this virtual machine hands long-free memory back to
 * its host). Every timing is taken by bash itself ($EPOCHREALTIME around the
 * command), so process start-up of the bench is not counted. Prints its rows as JSON
 * on stdout.
 *
 * RAIDFS_BENCH_FUSE_MIB sets the big file's size (default 1024), RAIDFS_BENCH_FUSE_ROUNDS
 * the rounds of (a) (default 3).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { isMounted } from '../test/helpers/host';
import { MountedRaidfs, sh } from '../test/helpers/mounted-raidfs';
import { ReadyProcess } from '../test/helpers/ready-process';
import { BenchRow, cpuSeconds, fmt, mbPerSecond, peakRssMiB } from './report';

const FILE_MIB = Number(process.env.RAIDFS_BENCH_FUSE_MIB ?? 1024);
const SMALL_COUNT = 2000;
const SMALL_BYTES = 4096;
/** Longer than the mounts' attribute/entry cache (1 s), so the first ls -l is cold. */
const CACHE_EXPIRY_S = 1.2;
const BIG_TIMEOUT_MS = 10 * 60_000;
/**
 * Rounds of the big write and read on each target. One sample of a ratio is too
 * little here: this host's figures for one build spread by ~±15 %, and its ceilings
 * by up to 4x between runs; the rounds alternate the targets and each figure is the
 * median of its rounds (RAIDFS_BENCH_FUSE_ROUNDS, default 3).
 */
const BIG_ROUNDS = Number(process.env.RAIDFS_BENCH_FUSE_ROUNDS ?? 3);
if (!Number.isInteger(BIG_ROUNDS) || BIG_ROUNDS < 1) throw new Error(`RAIDFS_BENCH_FUSE_ROUNDS must be a whole number from 1, not ${process.env.RAIDFS_BENCH_FUSE_ROUNDS}`);

const log = (msg: string): void => { process.stderr.write(`fuse bench: ${msg}\n`); };
/** Double-quoted shell word; the bench's paths are mkdtemp paths (no $, `, " or \). */
const q = (p: string): string => JSON.stringify(p);

/** Cleanups still to run, newest last; run on success, failure and SIGINT/SIGTERM. */
const cleanups: Array<() => Promise<void>> = [];
async function cleanupAll(): Promise<void> {
  while (cleanups.length) {
    try {
      await cleanups.pop()!();
    } catch (err) {
      log(`cleanup failed: ${(err as Error).message}`);
    }
  }
}

interface Timing {
  ms: number;
  /** CPU seconds (user + system) the command's processes and the `servers` used meanwhile. */
  cpuS: number;
}

/**
 * Runs `script` (bash) and returns its wall time in ms as bash measured it, and the
 * CPU time it took: its own processes' (bash's `times`, which includes the kernel
 * work done in their system calls, such as FUSE's copies) plus what the processes
 * `servers` (the mount's) used meanwhile. Throws if the script fails.
 */
async function timed(script: string, servers: readonly number[] = [], timeoutMs = 120_000): Promise<Timing> {
  const serversCpu = (): number => servers.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
  const before = serversCpu();
  const r = await sh(`s=$EPOCHREALTIME; { ${script}; } || exit $?; e=$EPOCHREALTIME; times; echo "$s $e"`, { timeoutMs });
  const serversUsed = serversCpu() - before;
  if (r.code !== 0) throw new Error(`\`${script}\` failed (exit ${r.code}): ${r.stderr.trim()}`);
  const lines = r.stdout.replace(/,/g, '.').trim().split('\n');
  const [s, e] = lines.at(-1)!.split(' ').map(Number);
  // `times` prints the shell's user and system time, then its children's: "0m1.250s 0m0.500s".
  const children = [...(lines.at(-2) ?? '').matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  if (!(e >= s) || children.length !== 2) throw new Error(`cannot parse the timing of \`${script}\`: ${JSON.stringify(r.stdout)}`);
  return { ms: (e - s) * 1000, cpuS: children[0] + children[1] + serversUsed };
}

async function run(script: string, timeoutMs = 120_000): Promise<void> {
  const r = await sh(script, { timeoutMs });
  if (r.code !== 0) throw new Error(`\`${script}\` failed (exit ${r.code}): ${r.stderr.trim()}`);
}

/** Writes back dirty pages and drops the page cache, dentries and inodes; false when not allowed. */
async function dropCaches(): Promise<boolean> {
  return (await sh('sync && echo 3 > /proc/sys/vm/drop_caches', { timeoutMs: 120_000 })).code === 0;
}

/**
 * Run before each big write and read: leaves more free memory than the big file
 * recently used, so that it is quick to use again (a child process touches that much
 * and exits). This machine's balloon device reports free guest pages to the host,
 * which takes them back, and the first touch of such a page costs 2.5-9 µs instead of
 * 1.6. Whatever goes through the page cache (every read here, a local directory's
 * writes) fills it with as many pages as the file has, so without this its speed
 * depended on whether the step before had just freed that much memory (dropping the
 * cached pages of a write did).
 */
async function warmFreeMemory(src: Sources): Promise<void> {
  await run(`${q(process.execPath)} -e 'Buffer.alloc(${src.bigBytes + 256 * 1024 * 1024}, 1)'`);
}

/** Before each big write: the source file in memory (so every target reads it alike), then warm free memory. */
async function readyForBigWrite(src: Sources): Promise<void> {
  await run(`cat ${q(src.big)} > /dev/null`);
  await warmFreeMemory(src);
}

/** The big write and read on one target, in one round. */
interface BigFigures {
  writeMBps: number;
  readMBps: number;
  /** CPU seconds of the big write and the big read (see timed()). */
  writeCpuS: number;
  readCpuS: number;
}

interface SmallFigures {
  filesPerSec: number;
  /** A second cp -r of the same files into another directory, right after the first. */
  againFilesPerSec: number;
  lsColdMs: number;
  lsWarmMs: number;
  rmMs: number;
  /** CPU seconds of the first cp -r (see timed()). */
  copyCpuS: number;
}

interface Sources {
  big: string;
  bigBytes: number;
  small: string;
}

/** A mount or a local directory the workload runs on; `servers` are the processes serving a mount, whose CPU time counts with the commands'. */
interface Target {
  name: string;
  root: string;
  servers: number[];
  /** cmp the big copy with its source after its read (outside the timing). */
  verify: boolean;
  /** Keep each round's big file until removeBigFiles, after the small files (raidfs deletes copies in the background, which would run during the next measurements). */
  keepBigFiles: boolean;
}

/**
 * One round of the big write and read on `target`: cp of the big file (timed until cp
 * exits, close returned), then cat to /dev/null after the page cache was dropped.
 */
async function bigFile(target: Target, src: Sources, round: number): Promise<BigFigures> {
  const big = path.join(target.root, `big-${round}.bin`);
  await readyForBigWrite(src);
  log(`${target.name}: round ${round}: cp ${FILE_MIB} MiB`);
  const write = await timed(`cp ${q(src.big)} ${q(big)}`, target.servers, BIG_TIMEOUT_MS);
  await dropCaches();
  await warmFreeMemory(src);
  log(`${target.name}: round ${round}: cat ${FILE_MIB} MiB`);
  const read = await timed(`cat ${q(big)} > /dev/null`, target.servers, BIG_TIMEOUT_MS);
  if (target.verify) {
    log(`${target.name}: round ${round}: cmp`);
    const r = await sh(`cmp ${q(src.big)} ${q(big)}`, { timeoutMs: BIG_TIMEOUT_MS });
    if (r.code !== 0) throw new Error(`${target.name}: the ${FILE_MIB} MiB copy differs from its source: ${(r.stdout + r.stderr).trim()}`);
  }
  if (!target.keepBigFiles) await run(`rm ${q(big)}`);
  return { writeMBps: mbPerSecond(src.bigBytes, write.ms), readMBps: mbPerSecond(src.bigBytes, read.ms), writeCpuS: write.cpuS, readCpuS: read.cpuS };
}

/**
 * BIG_ROUNDS rounds of bigFile on every target, the targets' order reversed every
 * other round (A B C, C B A, A B C, ...), so that a host growing slower or faster
 * during the run weighs on all of them alike. Returns each target's rounds, in order.
 */
async function bigFileRounds(targets: readonly Target[], src: Sources): Promise<Map<Target, BigFigures[]>> {
  const rounds = new Map<Target, BigFigures[]>(targets.map((t) => [t, []]));
  for (let round = 1; round <= BIG_ROUNDS; round++) {
    const order = round % 2 === 1 ? targets : [...targets].reverse();
    for (const target of order) rounds.get(target)!.push(await bigFile(target, src, round));
  }
  return rounds;
}

/** Removes the big files a target kept (keepBigFiles) from its rounds. */
async function removeBigFiles(target: Target): Promise<void> {
  if (!target.keepBigFiles) return;
  for (let round = 1; round <= BIG_ROUNDS; round++) await run(`rm ${q(path.join(target.root, `big-${round}.bin`))}`);
}

/** The median of the rounds' values of one figure, and their range. */
interface Summary {
  median: number;
  min: number;
  max: number;
}

function summarize(rounds: readonly BigFigures[], figure: (f: BigFigures) => number): Summary {
  const values = rounds.map(figure).sort((a, b) => a - b);
  const mid = values.length >> 1;
  const median = values.length % 2 === 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
  return { median, min: values[0], max: values.at(-1)! };
}

/**
 * The small-file part of the workload on `target`: cp -r of the small files, again
 * into another directory, ls -l of them cold then warm, and rm -r.
 */
async function smallFiles(target: Target, src: Sources): Promise<SmallFigures> {
  const small = path.join(target.root, 'small');
  log(`${target.name}: cp -r ${SMALL_COUNT} files`);
  const copy = await timed(`cp -r ${q(src.small)} ${q(small)}`, target.servers);
  const again = await timed(`cp -r ${q(src.small)} ${q(`${small}-again`)}`, target.servers);
  await dropCaches();
  await run(`sleep ${CACHE_EXPIRY_S}`);
  const lsCold = await timed(`ls -l ${q(small)} > /dev/null`);
  const lsWarm = await timed(`ls -l ${q(small)} > /dev/null`);
  const listed = await sh(`ls ${q(small)} | wc -l`);
  if (Number(listed.stdout.trim()) !== SMALL_COUNT) throw new Error(`${target.name}: ls lists ${listed.stdout.trim()} files, not ${SMALL_COUNT}`);
  log(`${target.name}: rm -r`);
  const rm = await timed(`rm -r ${q(small)}`);
  await run(`rm -r ${q(`${small}-again`)}`);
  return {
    filesPerSec: SMALL_COUNT / (copy.ms / 1000),
    againFilesPerSec: SMALL_COUNT / (again.ms / 1000),
    lsColdMs: lsCold.ms,
    lsWarmMs: lsWarm.ms,
    rmMs: rm.ms,
    copyCpuS: copy.cpuS,
  };
}

/**
 * The big write through a read-write handle (`cat SRC 1<> DST`), which goes through
 * the kernel's page cache, where the mount's write size applies (a write-only handle,
 * as cp's, bypasses the cache: see native/fuse-binding.mjs). In MB/s.
 */
async function writeThroughPageCache(name: string, root: string, src: Sources): Promise<number> {
  const target = path.join(root, 'read-write.bin');
  await readyForBigWrite(src);
  log(`${name}: cat ${FILE_MIB} MiB 1<> a read-write handle`);
  const write = await timed(`cat ${q(src.big)} 1<> ${q(target)}`, [], BIG_TIMEOUT_MS);
  await run(`rm ${q(target)}`);
  return mbPerSecond(src.bigBytes, write.ms);
}

/** Starts bench/discard-mount.js on `mnt` and registers its cleanup; returns its pid and its stop. */
async function startDiscardMount(mnt: string, smallWrites: boolean): Promise<{ pid: number; stop: () => Promise<void> }> {
  mkdirSync(mnt, { recursive: true });
  const proc = await ReadyProcess.start(path.join(__dirname, 'discard-mount.js'), [mnt, ...(smallWrites ? ['--small-writes'] : [])],
    /discard mount ready/, { timeoutMs: 15_000 });
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await proc.stop('SIGTERM', 5_000);
    if (isMounted(mnt)) await sh(`fusermount -uz ${q(mnt)}`);
  };
  cleanups.push(stop);
  return { pid: proc.pid, stop };
}

async function main(): Promise<void> {
  const started = Date.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-bench-fuse-'));
  cleanups.push(async () => { rmSync(dir, { recursive: true, force: true }); });

  const src: Sources = { big: path.join(dir, 'src-big.bin'), bigBytes: FILE_MIB * 1024 * 1024, small: path.join(dir, 'src-small') };
  log(`making a ${FILE_MIB} MiB random file and ${SMALL_COUNT} files of ${SMALL_BYTES} bytes in ${dir}`);
  await run(`head -c ${src.bigBytes} /dev/urandom > ${q(src.big)}`, BIG_TIMEOUT_MS);
  mkdirSync(src.small);
  for (let i = 0; i < SMALL_COUNT; i++) writeFileSync(path.join(src.small, `f${String(i).padStart(4, '0')}.dat`), randomBytes(SMALL_BYTES));
  const cachesDropped = await dropCaches();
  if (!cachesDropped) log('cannot drop the page cache (not root?): reads may come from memory');

  // The three targets, all up at once so that the big file's rounds can alternate:
  // 1. a local directory on the same disk;
  const localDir = path.join(dir, 'local');
  mkdirSync(localDir);
  const local: Target = { name: 'local dir', root: localDir, servers: [], verify: false, keepBigFiles: false };
  // 2. the discard mount, with raidfs's options;
  const discardMnt = path.join(dir, 'discard');
  let discardMount = await startDiscardMount(discardMnt, false);
  const discard: Target = { name: 'discard FUSE', root: discardMnt, servers: [discardMount.pid], verify: false, keepBigFiles: false };
  // 3. raidfs: `raidfs up` with 4 nodes; the controller is the nodes' parent.
  log('raidfs: starting raidfs up (4 nodes)');
  const raidfs = await MountedRaidfs.start({ nodes: 4 });
  let stopRaidfs: (() => Promise<void>) | undefined = () => raidfs.stop();
  cleanups.push(async () => { await stopRaidfs?.(); });
  const controllerPid = raidfs.pid;
  const rfsTarget: Target = { name: 'raidfs', root: raidfs.mnt, servers: [controllerPid, ...raidfs.nodePids], verify: true, keepBigFiles: true };

  const bigRounds = await bigFileRounds([local, discard, rfsTarget], src);
  // Peaks (VmHWM) so far: the highest any node reached in the rounds.
  const nodeRss = Math.max(...raidfs.nodePids.map((pid) => peakRssMiB(pid)));
  const localSmall = await smallFiles(local, src);
  const discardSmall = await smallFiles(discard, src);
  const rfsSmall = await smallFiles(rfsTarget, src);
  await removeBigFiles(rfsTarget);
  const controllerRss = peakRssMiB(controllerPid);
  await raidfs.stop();
  stopRaidfs = undefined;

  // The discard mount's write through the page cache, with raidfs's options, then with fuse-native's defaults.
  const cachedWriteMBps = await writeThroughPageCache('discard FUSE', discardMnt, src);
  await discardMount.stop();
  discardMount = await startDiscardMount(discardMnt, true);
  const smallWritesMBps = await writeThroughPageCache('discard FUSE, 4 KiB writes', discardMnt, src);
  await discardMount.stop();

  /** One figure of the big file's rounds, summarized for each target. */
  const summaries = (figure: (f: BigFigures) => number): Record<'rfs' | 'discard' | 'local', Summary> => ({
    rfs: summarize(bigRounds.get(rfsTarget)!, figure), discard: summarize(bigRounds.get(discard)!, figure), local: summarize(bigRounds.get(local)!, figure),
  });
  const write = summaries((f) => f.writeMBps);
  const read = summaries((f) => f.readMBps);
  const writeCpu = summaries((f) => f.writeCpuS);
  const readCpu = summaries((f) => f.readCpuS);
  /** How a median was found: "median of 3 rounds, alternated with the ceiling's; raidfs 350-420, discard FUSE 700-900 MB/s". */
  const spread = (s: { rfs: Summary; discard: Summary }, unit: string): string =>
    `median of ${BIG_ROUNDS} rounds, alternated with the ceiling's; raidfs ${fmt(s.rfs.min)}-${fmt(s.rfs.max)}, discard FUSE ${fmt(s.discard.min)}-${fmt(s.discard.max)} ${unit}`;

  const vsLocal = (v: number, l: number, unit: string): string => `local dir ${fmt(l)} ${unit}, ${(v / l).toFixed(2)}x`;
  // CPU time per GiB moved, and the rate at which it would use every core: a bound on
  // the MB/s this machine allows whatever the overlap.
  const gib = src.bigBytes / 2 ** 30;
  const cores = os.availableParallelism();
  const cpuBound = (cpuS: number): string => `${fmt(mbPerSecond(src.bigBytes, (cpuS / cores) * 1000))} MB/s`;
  const cpuMeasurement = (cmd: string, cpu: { rfs: Summary; discard: Summary }): string =>
    `${cmd} and the mount's processes (raidfs: controller and 4 nodes), user + system, median of ${BIG_ROUNDS} rounds; with all ${cores} cores busy that allows at most ${cpuBound(cpu.rfs.median)} for raidfs, ${cpuBound(cpu.discard.median)} for the discard mount`;
  const mib = `${FILE_MIB} MiB`;
  const rows: BenchRow[] = [
    { section: 'fuse', what: `write ${mib}: cp into the mount, until close returns (${spread(write, 'MB/s')}; ${vsLocal(write.rfs.median, write.local.median, 'MB/s')}, no fsync)`,
      value: write.rfs.median, unit: 'MB/s', ceiling: { name: 'discard FUSE', value: write.discard.median },
      target: '>= 0.5x ceiling', met: write.rfs.median >= 0.5 * write.discard.median },
    { section: 'fuse', what: `read ${mib}: cat to /dev/null, page cache ${cachesDropped ? 'dropped' : 'NOT dropped'} before (${spread(read, 'MB/s')}; ${vsLocal(read.rfs.median, read.local.median, 'MB/s')})`,
      value: read.rfs.median, unit: 'MB/s', ceiling: { name: 'discard FUSE', value: read.discard.median },
      target: '>= 0.5x ceiling', met: read.rfs.median >= 0.5 * read.discard.median },
    { section: 'fuse', what: `cp -r of ${SMALL_COUNT} files of 4 KiB, the first after start-up and the big files (${vsLocal(rfsSmall.filesPerSec, localSmall.filesPerSec, 'files/s')})`,
      value: rfsSmall.filesPerSec, unit: 'files/s', ceiling: { name: 'discard FUSE', value: discardSmall.filesPerSec },
      target: '>= 300 files/s', met: rfsSmall.filesPerSec >= 300 },
    { section: 'fuse', what: `cp -r of the same files again, into another directory: a second copy, after the first (${vsLocal(rfsSmall.againFilesPerSec, localSmall.againFilesPerSec, 'files/s')})`,
      value: rfsSmall.againFilesPerSec, unit: 'files/s', ceiling: { name: 'discard FUSE', value: discardSmall.againFilesPerSec } },
    { section: 'fuse (CPU)', what: `CPU time per GiB of the ${mib} write: ${cpuMeasurement('cp', writeCpu)}`,
      value: writeCpu.rfs.median / gib, unit: 's/GiB', ceiling: { name: 'discard FUSE', value: writeCpu.discard.median / gib } },
    { section: 'fuse (CPU)', what: `CPU time per GiB of the ${mib} read: ${cpuMeasurement('cat', readCpu)}`,
      value: readCpu.rfs.median / gib, unit: 's/GiB', ceiling: { name: 'discard FUSE', value: readCpu.discard.median / gib } },
    { section: 'fuse (CPU)', what: `CPU time per file of the first cp -r: cp and the mount's processes, user + system`,
      value: (rfsSmall.copyCpuS / SMALL_COUNT) * 1000, unit: 'ms', ceiling: { name: 'discard FUSE', value: (discardSmall.copyCpuS / SMALL_COUNT) * 1000 } },
    { section: 'fuse', what: `ls -l of ${SMALL_COUNT} files, cold: attr cache expired${cachesDropped ? ', dentries dropped' : ''} (${vsLocal(rfsSmall.lsColdMs, localSmall.lsColdMs, 'ms')})`,
      value: rfsSmall.lsColdMs, unit: 'ms', ceiling: { name: 'discard FUSE', value: discardSmall.lsColdMs },
      target: '< 300 ms', met: rfsSmall.lsColdMs < 300 },
    { section: 'fuse', what: `ls -l of ${SMALL_COUNT} files again at once, warm (${vsLocal(rfsSmall.lsWarmMs, localSmall.lsWarmMs, 'ms')})`,
      value: rfsSmall.lsWarmMs, unit: 'ms', ceiling: { name: 'discard FUSE', value: discardSmall.lsWarmMs } },
    { section: 'fuse', what: `rm -r of the ${SMALL_COUNT} files (${vsLocal(rfsSmall.rmMs, localSmall.rmMs, 'ms')})`,
      value: rfsSmall.rmMs, unit: 'ms', ceiling: { name: 'discard FUSE', value: discardSmall.rmMs } },
    { section: 'fuse', what: `storage node peak RSS, max of 4, after the ${mib} writes + reads`, value: nodeRss, unit: 'MiB' },
    { section: 'fuse', what: `controller (raidfs up) peak RSS, whole run incl. the ${mib} copies`, value: controllerRss, unit: 'MiB',
      target: '< 256 MiB', met: controllerRss < 256 },
    { section: 'fuse (discard FUSE)', what: `write ${mib} through a read-write handle (the page cache), with fuse-native's default options (4 KiB writes) vs raidfs's (big_writes, max_write=128K)`,
      value: smallWritesMBps, unit: 'MB/s', ceiling: { name: 'discard FUSE, big_writes', value: cachedWriteMBps } },
  ];
  log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  process.stdout.write(JSON.stringify(rows) + '\n');
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

main()
  .finally(cleanupAll)
  .then(() => process.exit(0), (err) => { process.stderr.write(`fuse bench failed: ${err.stack ?? err}\n`); process.exit(1); });
