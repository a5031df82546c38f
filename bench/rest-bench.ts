/**
 * REST benchmark (run as its own process, so its peak RSS is the controller's): a
 * controller with its REST server and 4 local storage nodes on loopback, and the HTTP
 * client in a child process (this same file, run as `rest-bench.js client PHASE URL`),
 * so the client's buffers and CPU are not the controller's.
 *
 * Phases: a STREAM_MIB file PUT to and GET from /fs (streaming, in 1 MiB writes that
 * respect backpressure), then a SMALL_MIB file uploaded through POST /files as JSON
 * base64 and as multipart/form-data, each downloaded with GET /files/ID. The ceiling
 * of each is the core alone in the same run, measured last: Controller.writeFile /
 * readStream of the same number of bytes, without HTTP. Peak RSS is measured per
 * phase (the high-water mark is reset in between). Prints its rows as JSON on stdout.
 */
import '../src/common/gc-tuning'; // raidfs's V8 settings, as `raidfs controller` has (for the HTTP client child too)
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { startRestServer } from '../src/rest/server';
import { PIECE, randomPieces, startLocalCluster, timed, writeAndReadBack } from './local-cluster';
import { BenchRow, mbPerSecond, peakRssMiB } from './report';

const STREAM_MIB = Number(process.env.RAIDFS_BENCH_REST_MIB ?? 256);
const SMALL_MIB = 16;
// ---- client side (child process) -------------------------------------------------

interface Answer {
  status: number;
  body: Buffer;
  bytes: number;
}

/** One HTTP request; the body pieces are written with backpressure; the answer is kept only if small. */
function send(url: string, method: string, headers: Record<string, string | number>, body: AsyncIterable<Buffer> | Buffer[] = []): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const kept: Buffer[] = [];
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (res.statusCode !== 200 || bytes <= 1 << 16) kept.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(kept), bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    void (async () => {
      for await (const piece of body) {
        if (!req.write(piece)) await new Promise((r) => req.once('drain', r));
      }
      req.end();
    })().catch(reject);
  });
}

function expect(answer: Answer, status: number, what: string): Answer {
  if (answer.status !== status) throw new Error(`${what}: HTTP ${answer.status} ${answer.body.toString().slice(0, 200)}`);
  return answer;
}

async function download(url: string, bytes: number, what: string): Promise<void> {
  const answer = expect(await send(url, 'GET', {}), 200, what);
  if (answer.bytes !== bytes) throw new Error(`${what}: got ${answer.bytes} of ${bytes} bytes`);
}

async function runClient(phase: string, base: string): Promise<Record<string, number>> {
  if (phase === 'stream') {
    const bytes = STREAM_MIB * PIECE;
    const url = `${base}/fs/bench/stream.bin`;
    const uploadMs = await timed(async () => expect(await send(url, 'PUT', { 'Content-Length': bytes }, randomPieces(STREAM_MIB)), 201, 'PUT'));
    const downloadMs = await timed(() => download(url, bytes, 'GET'));
    return { uploadMs, downloadMs };
  }
  const data = randomBytes(SMALL_MIB * PIECE);
  let body: Buffer[];
  let type: string;
  if (phase === 'json') {
    type = 'application/json';
    body = [Buffer.from(JSON.stringify({ filename: 'bench.json.bin', content_type: 'application/octet-stream', contents_b64: data.toString('base64') }))];
  } else {
    const boundary = `raidfs-bench-${randomBytes(8).toString('hex')}`;
    type = `multipart/form-data; boundary=${boundary}`;
    body = [
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.multipart.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`),
      data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ];
  }
  const length = body.reduce((n, b) => n + b.length, 0);
  let id = 0;
  const uploadMs = await timed(async () => {
    id = JSON.parse(expect(await send(`${base}/files`, 'POST', { 'Content-Type': type, 'Content-Length': length }, body), 201, `POST ${phase}`).body.toString()).id;
  });
  const downloadMs = await timed(() => download(`${base}/files/${id}`, data.length, `GET /files/${id}`));
  return { uploadMs, downloadMs };
}

// ---- controller side (this process) ----------------------------------------------

/** Starts a new peak-RSS (VmHWM) measurement from the current RSS (Linux: clear_refs 5). */
function resetPeakRss(): void {
  writeFileSync('/proc/self/clear_refs', '5');
}

function clientPhase(phase: string, url: string): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, 'client', phase, url], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`bench client ${phase} failed (exit ${code})`))));
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-bench-rest-'));
  const cluster = await startLocalCluster(dir);
  const { controller } = cluster;
  const rest = await startRestServer(controller, { port: 0 });
  try {
    const core = (mib: number, name: string) => writeAndReadBack(controller, `/ceiling/${name}`, mib, { parents: true });
    const stream = await clientPhase('stream', rest.url);
    const streamRss = peakRssMiB();
    resetPeakRss();
    const json = await clientPhase('json', rest.url);
    const multipart = await clientPhase('multipart', rest.url);
    const smallRss = peakRssMiB();
    const coreStream = await core(STREAM_MIB, 'stream.bin');
    const coreSmall = await core(SMALL_MIB, 'small.bin');

    const big = STREAM_MIB * PIECE;
    const small = SMALL_MIB * PIECE;
    const upload = (ms: number) => ({ name: 'core writeFile, no HTTP', value: mbPerSecond(small, ms) });
    const rows: BenchRow[] = [
      { section: 'rest', what: `PUT /fs ${STREAM_MIB} MiB (streamed)`, value: mbPerSecond(big, stream.uploadMs), unit: 'MB/s',
        ceiling: { name: 'core writeFile, no HTTP', value: mbPerSecond(big, coreStream.writeMs) } },
      { section: 'rest', what: `GET /fs ${STREAM_MIB} MiB (streamed)`, value: mbPerSecond(big, stream.downloadMs), unit: 'MB/s',
        ceiling: { name: 'core readStream, no HTTP', value: mbPerSecond(big, coreStream.readMs) } },
      { section: 'rest', what: `controller peak RSS, ${STREAM_MIB} MiB PUT+GET`, value: streamRss, unit: 'MiB', target: '< 256 MiB', met: streamRss < 256 },
      { section: 'rest', what: `POST /files ${SMALL_MIB} MiB, JSON base64`, value: mbPerSecond(small, json.uploadMs), unit: 'MB/s', ceiling: upload(coreSmall.writeMs) },
      { section: 'rest', what: `POST /files ${SMALL_MIB} MiB, multipart`, value: mbPerSecond(small, multipart.uploadMs), unit: 'MB/s', ceiling: upload(coreSmall.writeMs) },
      { section: 'rest', what: `GET /files/ID ${SMALL_MIB} MiB (JSON-uploaded)`, value: mbPerSecond(small, json.downloadMs), unit: 'MB/s',
        ceiling: { name: 'core readStream, no HTTP', value: mbPerSecond(small, coreSmall.readMs) } },
      { section: 'rest', what: `GET /files/ID ${SMALL_MIB} MiB (multipart-uploaded)`, value: mbPerSecond(small, multipart.downloadMs), unit: 'MB/s',
        ceiling: { name: 'core readStream, no HTTP', value: mbPerSecond(small, coreSmall.readMs) } },
      { section: 'rest', what: `controller peak RSS, ${SMALL_MIB} MiB JSON + multipart POST+GET`, value: smallRss, unit: 'MiB' },
    ];
    process.stdout.write(JSON.stringify(rows) + '\n');
  } finally {
    await rest.close();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'client') {
  runClient(process.argv[3], process.argv[4]).then(
    (result) => { process.stdout.write(JSON.stringify(result)); process.exit(0); },
    (err) => { process.stderr.write(`rest bench client failed: ${err.stack ?? err}\n`); process.exit(1); },
  );
} else {
  main().then(() => process.exit(0), (err) => { process.stderr.write(`rest bench failed: ${err.stack ?? err}\n`); process.exit(1); });
}
