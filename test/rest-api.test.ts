/**
 * The REST facade over real HTTP against a real cluster (4 storage-node processes):
 * every route of the course API and of the streaming /fs endpoints, byte-exact round
 * trips (empty, small, two halves, multi-stripe; bodies with and without a length),
 * Range reads, conditional requests (304, 412, two PUTs racing with one If-Match),
 * PUTs racing to create one file (one 201), UTF-8 filenames and clashing names at
 * the 255-byte limit, each error case with its status and JSON body (those of Node's
 * HTTP parser too), clients that disconnect mid-upload, multipart forms cut off after
 * their file part, and 16 concurrent uploads and downloads. After every refused or
 * broken upload the tree is checked: nothing partial is ever visible.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { RestServer, startRestServer } from '../src/rest/server';
import { TestCluster } from './helpers/cluster';
import { pieces, testBytes, waitUntil } from './helpers/data';
import { checksumOf } from '../src/wire/checksum';
import { PrometheusText } from './helpers/prometheus-text';

const STRIPE = 64 * 1024;
const SIZES = [0, 1, 1000, 2 * STRIPE, 2 * STRIPE + 1, 5 * STRIPE + 123];
/** Upload limits of the second, `limited` server on the same controller. */
const LIMIT = 256 * 1024;

interface Reply {
  status: number;
  headers: Headers;
  body: Buffer;
  json: () => any;
}

let cluster: TestCluster;
let rest: RestServer;
let limited: RestServer;

async function call(method: string, urlPath: string, init: { body?: RequestInit['body']; headers?: Record<string, string> } = {}, server = rest): Promise<Reply> {
  const res = await fetch(server.url + urlPath, { method, body: init.body, headers: init.headers, duplex: 'half' } as RequestInit);
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, headers: res.headers, body, json: () => JSON.parse(body.toString()) };
}

/** A request with its path sent exactly as given (fetch would normalize '..' away). */
function rawCall(method: string, rawPath: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const url = new URL(rest.url);
    const req = httpRequest({ host: url.hostname, port: url.port, method, path: rawPath }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode!, headers: new Headers(res.headers as Record<string, string>), body, json: () => JSON.parse(body.toString()) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function assertError(reply: Reply, status: number, message?: RegExp): void {
  assert.equal(reply.status, status, `expected ${status}, got ${reply.status}: ${reply.body.toString().slice(0, 200)}`);
  assert.match(reply.headers.get('content-type') ?? '', /^application\/json/);
  const { error } = reply.json();
  assert.equal(typeof error, 'string');
  if (message) assert.match(error, message);
}

const jsonUpload = (fields: Record<string, unknown>, server = rest) =>
  call('POST', '/files', { body: JSON.stringify(fields), headers: { 'Content-Type': 'application/json' } }, server);

function multipartUpload(filename: string, data: Buffer, type = 'application/octet-stream', field = 'file', server = rest): Promise<Reply> {
  const form = new FormData();
  form.append('note', 'a plain field before the file');
  form.append(field, new Blob([data], { type }), filename);
  return call('POST', '/files', { body: form }, server);
}

async function assertAbsent(corePath: string): Promise<void> {
  assertError(await call('GET', `/fs${encodeURI(corePath)}`), 404);
  const { files } = (await call('GET', '/files')).json();
  assert.ok(!files.some((f: { path: string }) => f.path === corePath), `${corePath} is listed`);
}

/** Checks for `timeoutMs` that none of `corePaths` appears (an upload that failed late would commit meanwhile). */
async function assertStaysAbsent(corePaths: string[], timeoutMs = 1_000): Promise<void> {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    for (const corePath of corePaths) await assertAbsent(corePath);
    await sleep(100);
  }
}

/**
 * Sends `request` as raw bytes on a connection of its own and returns all the server
 * sent until it closed the connection; with `hangUpAfterMs`, the client closes it
 * itself that long after its bytes went out.
 */
function rawExchange(request: Buffer | string, hangUpAfterMs?: number): Promise<Buffer> {
  const url = new URL(rest.url);
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(request, () => {
        if (hangUpAfterMs !== undefined) setTimeout(() => socket.destroy(), hangUpAfterMs);
      });
    });
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.on('error', () => undefined); // a reset still closes: what came before it counts
    socket.on('close', () => resolve(Buffer.concat(received)));
  });
}

/** A raw HTTP/1.1 answer (one, with its length or ended by the close) as a Reply. */
function replyOf(raw: Buffer): Reply {
  const headEnd = raw.indexOf('\r\n\r\n');
  assert.ok(headEnd >= 0, `not an HTTP answer: ${JSON.stringify(raw.toString('latin1').slice(0, 200))}`);
  const [statusLine, ...lines] = raw.subarray(0, headEnd).toString('latin1').split('\r\n');
  const headers = new Headers(lines.map((line): [string, string] => [line.slice(0, line.indexOf(':')).trim(), line.slice(line.indexOf(':') + 1).trim()]));
  const body = raw.subarray(headEnd + 4);
  return { status: Number(statusLine.split(' ')[1]), headers, body, json: () => JSON.parse(body.toString()) };
}

/** Bytes the REST API received in upload bodies so far (its metric). */
async function receivedBytes(): Promise<number> {
  return (await PrometheusText.scrape(rest.url)).value('raidfs_frontend_bytes_total', { frontend: 'rest', direction: 'in' });
}

/** A request body that sends `first` and then waits for `held` before it ends. */
function heldBody(first: Buffer, held: Promise<void>, last?: Buffer): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(first);
      await held;
      if (last) controller.enqueue(last);
      controller.close();
    },
  });
}

describe('REST facade', () => {
  before(async () => {
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE } });
    rest = await startRestServer(cluster.controller, { port: 0 });
    limited = await startRestServer(cluster.controller, { port: 0, maxUploadBytes: LIMIT });
  });
  after(async () => {
    await rest?.close();
    await limited?.close();
    await cluster?.stop();
  });

  describe('the course API', () => {
    it('answers GET / with Hello World', async () => {
      const reply = await call('GET', '/');
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json(), { message: 'Hello World!' });
    });

    it('round-trips files byte-exact through POST /files (JSON base64 and multipart) and GET /files/ID', async () => {
      for (const size of SIZES) {
        const data = testBytes(size, `course-${size}`);
        const viaJson = await jsonUpload({ filename: `j${size}.bin`, content_type: 'application/x-test', contents_b64: data.toString('base64') });
        assert.equal(viaJson.status, 201, viaJson.body.toString());
        const viaForm = await multipartUpload(`m${size}.bin`, data, 'image/png');
        assert.equal(viaForm.status, 201, viaForm.body.toString());
        for (const [reply, type] of [[viaJson, 'application/x-test'], [viaForm, 'image/png']] as const) {
          const { id, filename, path: stored, size: storedSize } = reply.json();
          assert.ok(Number.isInteger(id) && id > 0);
          assert.equal(reply.headers.get('location'), `/files/${id}`);
          assert.equal(stored, `/${filename}`, 'stored in the root under its filename');
          assert.equal(storedSize, size);
          const download = await call('GET', `/files/${id}`);
          assert.equal(download.status, 200);
          assert.equal(download.headers.get('content-type'), type);
          assert.equal(download.headers.get('content-length'), String(size));
          assert.ok(download.body.equals(data), `${filename}: bytes differ`);
        }
      }
    });

    it('lists every regular file in the tree with the course fields', async () => {
      const put = await call('PUT', '/fs/list/deep/er/x.txt', { body: 'xyz', headers: { 'Content-Type': 'text/plain' } });
      assert.equal(put.status, 201);
      const reply = await call('GET', '/files');
      assert.equal(reply.status, 200);
      const { files } = reply.json();
      const deep = files.find((f: { id: number }) => f.id === put.json().id);
      assert.deepEqual(Object.keys(deep).sort(), ['content_type', 'created', 'filename', 'id', 'modified', 'path', 'size']);
      assert.equal(deep.filename, 'x.txt');
      assert.equal(deep.path, '/list/deep/er/x.txt');
      assert.equal(deep.size, 3);
      assert.equal(deep.content_type, 'text/plain');
      assert.ok(!Number.isNaN(Date.parse(deep.created)) && !Number.isNaN(Date.parse(deep.modified)));
      assert.ok(!files.some((f: { path: string }) => f.path === '/list' || f.path === '/list/deep'), 'directories are not files');
    });

    it('shows where every part and copy is in GET /files/ID/info', async () => {
      const data = testBytes(3 * STRIPE + 5, 'info');
      const { id } = (await multipartUpload('info.bin', data)).json();
      const reply = await call('GET', `/files/${id}/info`);
      assert.equal(reply.status, 200);
      const info = reply.json();
      assert.equal(info.id, id);
      assert.equal(info.size, data.length);
      assert.equal(info.parts.length, 4);
      let offset = 0;
      for (const [i, part] of info.parts.entries()) {
        assert.equal(part.index, i);
        assert.equal(part.offset, offset);
        offset += part.size;
        assert.match(part.chunk_id, /^[0-9a-f]{32,}$/);
        assert.deepEqual(part.checksum, { algorithm: 'blake3', digest: checksumOf(data.subarray(part.offset, part.offset + part.size)).digest.toString('hex') });
        assert.equal(part.replicas.length, 2);
        assert.notEqual(part.replicas[0].node, part.replicas[1].node, 'copies on distinct nodes');
        assert.ok(part.replicas.every((r: { alive: boolean }) => r.alive));
      }
      assert.equal(offset, data.length);
    });

    it('deletes a file with DELETE /files/ID, and its chunks from the nodes', async () => {
      const { id } = (await multipartUpload('doomed.bin', testBytes(3 * STRIPE, 'doomed'))).json();
      const { parts } = (await call('GET', `/files/${id}/info`)).json();
      const chunkFiles = parts.flatMap((p: { chunk_id: string; replicas: Array<{ node: string }> }) => p.replicas.map((r) =>
        path.join(cluster.nodeDir(cluster.indexOf(r.node)), 'chunks', p.chunk_id.slice(0, 2), p.chunk_id)));
      assert.ok(chunkFiles.every(existsSync));
      const reply = await call('DELETE', `/files/${id}`);
      assert.equal(reply.status, 200);
      assert.deepEqual(reply.json(), { id, deleted: true });
      assertError(await call('GET', `/files/${id}`), 404);
      assertError(await call('DELETE', `/files/${id}`), 404);
      await assertAbsent('/doomed.bin');
      await waitUntil(() => !chunkFiles.some(existsSync), 'the chunks are deleted from the nodes', 5_000);
    });

    it('never replaces on a name clash: the next upload gets "NAME (N).EXT", also when concurrent', async () => {
      const first = (await jsonUpload({ filename: 'clash.txt', contents_b64: Buffer.from('one').toString('base64') })).json();
      const second = (await multipartUpload('clash.txt', Buffer.from('two'))).json();
      assert.equal(first.filename, 'clash.txt');
      assert.equal(second.filename, 'clash (1).txt');
      const concurrent = await Promise.all([3, 4, 5].map((n) => multipartUpload('clash.txt', testBytes(2 * STRIPE + n, `clash${n}`))));
      const names = concurrent.map((r) => r.json().filename).sort();
      assert.deepEqual(names, ['clash (2).txt', 'clash (3).txt', 'clash (4).txt']);
      assert.equal((await call('GET', `/files/${first.id}`)).body.toString(), 'one');
      assert.equal((await call('GET', `/files/${second.id}`)).body.toString(), 'two');
      for (const [i, reply] of concurrent.entries()) {
        assert.ok((await call('GET', `/files/${reply.json().id}`)).body.equals(testBytes(2 * STRIPE + 3 + i, `clash${3 + i}`)));
      }
    });

    it('stores multipart filenames sent as raw UTF-8 as sent, and refuses ones that are not UTF-8 with 400', async () => {
      for (const name of ['résumé.txt', '日本語 ✓.txt', '😀 smile.bin']) {
        const reply = await multipartUpload(name, Buffer.from(name));
        assert.equal(reply.status, 201, reply.body.toString());
        assert.equal(reply.json().filename, name);
        assert.equal((await call('GET', `/fs/${encodeURIComponent(name)}`)).body.toString(), name);
      }
      const form = (filename: Buffer) => call('POST', '/files', {
        body: Buffer.concat([Buffer.from('--XyZ\r\nContent-Disposition: form-data; name="file"; '), filename, Buffer.from('\r\n\r\ndata\r\n--XyZ--\r\n')]),
        headers: { 'Content-Type': 'multipart/form-data; boundary=XyZ' },
      });
      const extended = await form(Buffer.from("filename*=UTF-8''na%C3%AFve.txt"));
      assert.equal(extended.status, 201, extended.body.toString());
      assert.equal(extended.json().filename, 'naïve.txt');
      const notUtf8 = [
        Buffer.concat([Buffer.from('filename="bad-'), Buffer.from([0xff, 0xfe]), Buffer.from('.txt"')]),
        Buffer.concat([Buffer.from('filename="bad-'), Buffer.from([0xc3]), Buffer.from('.txt"')]),
        Buffer.from("filename*=UTF-8''bad-%E9.txt"),
      ];
      for (const filename of notUtf8) assertError(await form(filename), 400, /not valid UTF-8/);
      const { files } = (await call('GET', '/files')).json();
      assert.ok(!files.some((f: { filename: string }) => f.filename.startsWith('bad-')), 'nothing stored');
    });

    it('shortens a clashing name to fit 255 bytes, on a character boundary, keeping the extension when it fits', async () => {
      const cases: Array<[string, string]> = [
        [`${'l'.repeat(251)}.txt`, '.txt'],
        [`${'€'.repeat(83)}ab.txt`, '.txt'], // 3-byte characters, cut at one
        [`${'😀'.repeat(62)}abc.txt`, '.txt'], // 4-byte characters (surrogate pairs in JS), cut at one
        [`x.${'e'.repeat(253)}`, ''], // an extension too long to keep
      ];
      for (const [name, ext] of cases) {
        assert.equal(Buffer.byteLength(name), 255);
        const upload = () => jsonUpload({ filename: name, contents_b64: Buffer.from('x').toString('base64') });
        const first = await upload();
        assert.equal(first.status, 201, first.body.toString());
        assert.equal(first.json().filename, name);
        for (let n = 1; n <= 2; n++) {
          const reply = await upload();
          assert.equal(reply.status, 201, reply.body.toString());
          const stored: string = reply.json().filename;
          const suffix = ` (${n})${ext}`;
          assert.ok(stored.endsWith(suffix), `${stored} ends with ${suffix}`);
          const stem = stored.slice(0, -suffix.length);
          assert.ok(stem.length > 0 && name.startsWith(stem) && !/\p{Surrogate}/u.test(stem), `${stored}: a whole-character prefix of the name`);
          assert.ok(Buffer.byteLength(stored) <= 255 && Buffer.byteLength(stored) > 255 - 4, `${Buffer.byteLength(stored)} bytes: shortened no more than needed`);
          assert.equal((await call('GET', `/files/${reply.json().id}`)).body.toString(), 'x');
        }
      }
    });

    it('takes JSON uploads as encoders write them: any member order, escaped slashes, other members, compressed', async () => {
      const data = testBytes(3 * STRIPE + 5, 'json-forms');
      const b64 = data.toString('base64');
      assert.ok(b64.includes('/'), 'the base64 has slashes to escape');
      const json = (text: string) => ({ 'Content-Type': 'application/json', ...(text ? { 'Content-Encoding': text } : {}) });
      // As PHP's json_encode writes it, every slash escaped; its first 16 KiB sent in
      // 7-byte pieces, so that escapes and quartets straddle them (7-byte pieces all the
      // way took ~3 s of the event loop this test's nodes share: heartbeats came late).
      const escaped = Buffer.from(`{"filename":"slashes.bin","contents_b64":"${b64.replaceAll('/', '\\/')}"}`);
      const straddled = [...escaped.subarray(0, 16 * 1024).entries()].filter(([i, byte]) => byte === 0x5c && (i + 1) % 7 === 0);
      assert.ok(straddled.length > 0, 'a piece ends inside an escape');
      const forms: Array<[string, RequestInit['body'], Record<string, string>]> = [
        ['last.bin', `{"contents_b64": "${b64}", "content_type": "text/x-last", "filename": "last.bin"}`, json('')],
        ['slashes.bin', (async function* () {
          yield* pieces(escaped.subarray(0, 16 * 1024), 7);
          yield* pieces(escaped.subarray(16 * 1024), 64 * 1024);
        })(), json('')],
        ['unicode.bin', `{"filename":"unicode.bin","contents_b64":"\\u${b64.charCodeAt(0).toString(16).padStart(4, '0')}${b64.slice(1)}"}`, json('')],
        ['others.bin', `{"meta": {"tags": ["a\\"}", "{["], "n": [1, 2.5e3, null, true]}, "filename": "others.bin", "note": "contents_b64", "contents_b64": "${b64}"}`, json('')],
        ['bom.bin', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(`{"filename":"bom.bin","contents_b64":"${b64}"}`)]), json('')],
        ['gzip.bin', gzipSync(`{"filename":"gzip.bin","contents_b64":"${b64}"}`), json('gzip')],
        ['br.bin', brotliCompressSync(`{"filename":"br.bin","contents_b64":"${b64}"}`), json('br')],
        ['charset.bin', `{"filename":"charset.bin","contents_b64":"${b64}"}`, { 'Content-Type': 'application/json; charset=UTF-8' }],
      ];
      for (const [name, body, headers] of forms) {
        const reply = await call('POST', '/files', { body, headers });
        assert.equal(reply.status, 201, `${name}: ${reply.body.toString()}`);
        assert.equal(reply.json().filename, name);
        const download = await call('GET', `/files/${reply.json().id}`);
        assert.ok(download.body.equals(data), name);
        if (name === 'last.bin') assert.equal(download.headers.get('content-type'), 'text/x-last');
      }
    });

    it('serves Range requests on GET /files/ID too', async () => {
      const data = testBytes(3 * STRIPE, 'id-range');
      const { id } = (await multipartUpload('id-range.bin', data)).json();
      const reply = await call('GET', `/files/${id}`, { headers: { Range: `bytes=${STRIPE - 3}-${STRIPE + 3}` } });
      assert.equal(reply.status, 206);
      assert.ok(reply.body.equals(data.subarray(STRIPE - 3, STRIPE + 4)));
    });

    it('answers 404 for unknown or non-file ids and 400 for ids that are not numbers', async () => {
      assertError(await call('GET', '/files/99999999'), 404);
      assertError(await call('GET', '/files/99999999/info'), 404);
      assertError(await call('DELETE', '/files/99999999'), 404);
      const dir = (await call('PUT', '/fs/a-dir/')).json();
      assertError(await call('GET', `/files/${dir.id}`), 404, /no file with id/);
      assertError(await call('DELETE', `/files/${dir.id}`), 404);
      assertError(await call('GET', '/files/1'), 404, /no file with id 1/); // the root directory
      for (const bad of ['abc', '0', '-1', '1.5', '1e3', '%zz']) assertError(await call('GET', `/files/${bad}`), 400);
      // Past 2^53 - 1 a number would round to another id: such an id names no file, as given.
      for (const big of ['9007199254740992', '9999999999999999', '123456789012345678901234567890']) {
        assertError(await call('GET', `/files/${big}`), 404, new RegExp(`^no file with id ${big}$`));
        assertError(await call('DELETE', `/files/${big}`), 404, new RegExp(`^no file with id ${big}$`));
      }
    });
  });

  describe('the streaming /fs endpoints', () => {
    it('round-trips files byte-exact with PUT and GET, with and without Content-Length', async () => {
      for (const size of SIZES) {
        const data = testBytes(size, `fs-${size}`);
        const sized = await call('PUT', `/fs/rt/sized-${size}.bin`, { body: data });
        assert.equal(sized.status, 201, sized.body.toString());
        assert.equal(sized.json().size, size);
        const chunked = await call('PUT', `/fs/rt/chunked-${size}.bin`, { body: pieces(data, 10_000) });
        assert.equal(chunked.status, 201, chunked.body.toString());
        for (const name of [`sized-${size}.bin`, `chunked-${size}.bin`]) {
          const reply = await call('GET', `/fs/rt/${name}`);
          assert.equal(reply.status, 200);
          assert.equal(reply.headers.get('content-length'), String(size));
          assert.equal(reply.headers.get('accept-ranges'), 'bytes');
          assert.ok(reply.body.equals(data), `${name}: bytes differ`);
        }
      }
    });

    it('replaces an existing file (200), keeps its id, and stores the Content-Type', async () => {
      const created = await call('PUT', '/fs/replace/me.json', { body: '{"v":1}', headers: { 'Content-Type': 'application/json' } });
      assert.equal(created.status, 201);
      const replaced = await call('PUT', '/fs/replace/me.json', { body: testBytes(3 * STRIPE, 'v2'), headers: { 'Content-Type': 'application/x-v2' } });
      assert.equal(replaced.status, 200);
      assert.equal(replaced.json().id, created.json().id);
      const reply = await call('GET', '/fs/replace/me.json');
      assert.equal(reply.headers.get('content-type'), 'application/x-v2');
      assert.ok(reply.body.equals(testBytes(3 * STRIPE, 'v2')));
    });

    it('a download keeps sending the version it started with when the file is replaced meanwhile; its copies go once it ends', async () => {
      const old = testBytes(512 * STRIPE, 'download-old'); // 32 MiB: more than loopback's socket buffers hold
      assert.equal((await call('PUT', '/fs/held/big.bin', { body: old })).status, 201);
      const oldParts = cluster.controller.snapshot('/held/big.bin').parts;
      const res = await fetch(`${rest.url}/fs/held/big.bin`);
      const reader = res.body!.getReader();
      const received: Buffer[] = [];
      const first = await reader.read();
      received.push(Buffer.from(first.value!));
      assert.equal((await call('PUT', '/fs/held/big.bin', { body: testBytes(STRIPE, 'download-new') })).status, 200);
      // A collector pass ends while the download holds its copies (with no delete
      // delay, the pinned copies are due again at once: a pass must not go round them).
      const collected = await Promise.race([cluster.controller.collectGarbage().then(() => true), sleep(10_000, false, { ref: false })]);
      assert.ok(collected, 'the collector pass ended while the download held its copies');
      assert.equal(cluster.copiesOnDisk(oldParts).length, 2 * oldParts.length, 'the version being sent keeps its copies');
      for (let r = await reader.read(); !r.done; r = await reader.read()) received.push(Buffer.from(r.value));
      assert.ok(Buffer.concat(received).equals(old), 'the whole old version arrived');
      await waitUntil(async () => { await cluster.controller.collectGarbage(); return cluster.copiesOnDisk(oldParts).length === 0; },
        'the old version\'s copies are deleted once the download ended', 10_000);
    });

    it('decodes percent-encoded names', async () => {
      const put = await call('PUT', `/fs/${encodeURIComponent('spaced dir')}/${encodeURIComponent('naïve & (odd) #1.txt')}`, { body: 'odd' });
      assert.equal(put.status, 201);
      assert.equal(put.json().path, '/spaced dir/naïve & (odd) #1.txt');
      assert.equal((await call('GET', `/fs/spaced%20dir/${encodeURIComponent('naïve & (odd) #1.txt')}`)).body.toString(), 'odd');
    });

    it('serves byte ranges: 206 with Content-Range, 416 when unsatisfiable, 200 when ignored', async () => {
      const data = testBytes(5 * STRIPE + 123, 'ranges');
      await call('PUT', '/fs/ranges.bin', { body: data });
      const size = data.length;
      const cases: Array<[string, number, number]> = [
        ['bytes=0-0', 0, 0],
        ['bytes=10-19', 10, 19],
        [`bytes=${STRIPE - 5}-${3 * STRIPE + 5}`, STRIPE - 5, 3 * STRIPE + 5], // crosses parts
        [`bytes=${4 * STRIPE}-`, 4 * STRIPE, size - 1],
        ['bytes=-100', size - 100, size - 1],
        [`bytes=-${size + 50}`, 0, size - 1], // a suffix longer than the file is all of it
        [`bytes=${size - 10}-${size + 1000}`, size - 10, size - 1], // clipped to the end
        ['bytes=0-9,5-20', 0, 20], // overlapping ranges are combined
      ];
      for (const [range, start, end] of cases) {
        const reply = await call('GET', '/fs/ranges.bin', { headers: { Range: range } });
        assert.equal(reply.status, 206, range);
        assert.equal(reply.headers.get('content-range'), `bytes ${start}-${end}/${size}`, range);
        assert.equal(reply.headers.get('content-length'), String(end - start + 1), range);
        assert.ok(reply.body.equals(data.subarray(start, end + 1)), `${range}: bytes differ`);
      }
      for (const range of [`bytes=${size}-`, `bytes=${size + 5}-${size + 10}`]) {
        const reply = await call('GET', '/fs/ranges.bin', { headers: { Range: range } });
        assertError(reply, 416);
        assert.equal(reply.headers.get('content-range'), `bytes */${size}`);
      }
      await call('PUT', '/fs/empty.bin', { body: '' });
      assertError(await call('GET', '/fs/empty.bin', { headers: { Range: 'bytes=0-' } }), 416);
      assertError(await call('GET', '/fs/empty.bin', { headers: { Range: 'bytes=-5' } }), 416);
      const etag = (await call('HEAD', '/fs/ranges.bin')).headers.get('etag')!;
      const ignored: Array<Record<string, string>> = [
        { Range: 'bytes=0-1,100-101' }, // disjoint ranges: the whole file
        { Range: 'lines=1-2' },
        { Range: 'bytes=0-9', 'If-Range': '"stale-etag"' },
        // Whole seconds: a version written within the second of this one would have the same date.
        { Range: 'bytes=0-9', 'If-Range': (await call('HEAD', '/fs/ranges.bin')).headers.get('last-modified')! },
      ];
      for (const headers of ignored) {
        const reply = await call('GET', '/fs/ranges.bin', { headers });
        assert.equal(reply.status, 200, JSON.stringify(headers));
        assert.ok(reply.body.equals(data));
      }
      const matching = await call('GET', '/fs/ranges.bin', { headers: { Range: 'bytes=0-9', 'If-Range': etag } });
      assert.equal(matching.status, 206);
    });

    it('answers HEAD with the headers of GET and no body', async () => {
      const data = testBytes(3 * STRIPE, 'head');
      await call('PUT', '/fs/head.bin', { body: data, headers: { 'Content-Type': 'application/x-head' } });
      const head = await call('HEAD', '/fs/head.bin');
      assert.equal(head.status, 200);
      assert.equal(head.body.length, 0);
      assert.equal(head.headers.get('content-length'), String(data.length));
      assert.equal(head.headers.get('content-type'), 'application/x-head');
      assert.match(head.headers.get('etag')!, /^"\d+-\d+"$/);
      assert.ok(head.headers.get('last-modified'));
      const ranged = await call('HEAD', '/fs/head.bin', { headers: { Range: 'bytes=5-9' } });
      assert.equal(ranged.status, 206);
      assert.equal(ranged.headers.get('content-length'), '5');
      assertError(await call('GET', '/fs/no-such-file'), 404);
      assert.equal((await call('HEAD', '/fs/no-such-file')).status, 404);
    });

    it('answers conditional GETs with 304 and refuses conditional PUTs and DELETEs that do not hold with 412, changing nothing', async () => {
      const created = await call('PUT', '/fs/cond.txt', { body: 'v1', headers: { 'If-None-Match': '*' } });
      assert.equal(created.status, 201);
      const v1 = created.headers.get('etag')!;
      assert.equal(v1, (await call('HEAD', '/fs/cond.txt')).headers.get('etag'));
      assertError(await call('PUT', '/fs/cond.txt', { body: 'again', headers: { 'If-None-Match': '*' } }), 412, /If-None-Match/);

      const lastModified = (await call('HEAD', '/fs/cond.txt')).headers.get('last-modified')!;
      const notModified: Array<Record<string, string>> = [{ 'If-None-Match': v1 }, { 'If-None-Match': `"other", W/${v1}` }, { 'If-Modified-Since': lastModified }];
      for (const headers of notModified) {
        const reply = await call('GET', '/fs/cond.txt', { headers });
        assert.equal(reply.status, 304, JSON.stringify(headers));
        assert.equal(reply.body.length, 0);
        assert.equal(reply.headers.get('etag'), v1);
      }
      const earlier = new Date(Date.parse(lastModified) - 1000).toUTCString();
      const modified: Array<Record<string, string>> = [{ 'If-None-Match': '"other"' }, { 'If-Modified-Since': earlier }, { 'If-Modified-Since': 'not a date' }, { 'If-Match': v1 }];
      for (const headers of modified) {
        const reply = await call('GET', '/fs/cond.txt', { headers });
        assert.equal(reply.status, 200, JSON.stringify(headers));
        assert.equal(reply.body.toString(), 'v1');
      }
      assertError(await call('GET', '/fs/cond.txt', { headers: { 'If-Match': '"other"' } }), 412);

      // Writes: each refusal leaves v1 as it was.
      assertError(await call('PUT', '/fs/cond.txt', { body: 'lost', headers: { 'If-Match': '"1-1"' } }), 412, /If-Match/);
      assertError(await call('PUT', '/fs/cond.txt', { body: 'lost', headers: { 'If-Unmodified-Since': earlier } }), 412, /If-Unmodified-Since/);
      assertError(await call('DELETE', '/fs/cond.txt', { headers: { 'If-Match': `W/${v1}` } }), 412); // If-Match compares strongly
      assertError(await call('PUT', '/fs/no-cond.txt', { body: 'x', headers: { 'If-Match': '*' } }), 412);
      await assertAbsent('/no-cond.txt');
      assert.equal((await call('GET', '/fs/cond.txt')).body.toString(), 'v1');

      const replaced = await call('PUT', '/fs/cond.txt', { body: 'v2', headers: { 'If-Match': v1 } });
      assert.equal(replaced.status, 200);
      const v2 = replaced.headers.get('etag')!;
      assert.notEqual(v2, v1);
      assertError(await call('DELETE', `/files/${created.json().id}`, { headers: { 'If-Match': v1 } }), 412);
      assert.equal((await call('GET', '/fs/cond.txt')).body.toString(), 'v2');
      assert.equal((await call('DELETE', '/fs/cond.txt', { headers: { 'If-Match': v2 } })).status, 204);
      await assertAbsent('/cond.txt');
    });

    it('of two PUTs with the same If-Match, the one that commits second gets 412, even when it began first', async () => {
      const base = await call('PUT', '/fs/race.bin', { body: 'base' });
      const etag = base.headers.get('etag')!;
      // The slow writer's body is held open until the fast writer has committed.
      let release!: () => void;
      const held = new Promise<void>((resolve) => { release = resolve; });
      const slowBody = heldBody(testBytes(3 * STRIPE, 'race-slow'), held, testBytes(STRIPE, 'race-slow-end'));
      const before = await receivedBytes();
      const slow = call('PUT', '/fs/race.bin', { body: slowBody, headers: { 'If-Match': etag } });
      // Its first bytes went on to be stored: it passed the check made before the body is read.
      await waitUntil(async () => await receivedBytes() - before >= 3 * STRIPE, 'the slow upload is under way', 10_000);
      const fast = testBytes(2 * STRIPE, 'race-fast');
      assert.equal((await call('PUT', '/fs/race.bin', { body: fast, headers: { 'If-Match': etag } })).status, 200);
      release();
      assertError(await slow, 412, /If-Match/);
      assert.ok((await call('GET', '/fs/race.bin')).body.equals(fast), 'the first commit is kept');
    });

    it('of concurrent PUTs that create one path, exactly one answers 201 Created, the others 200', async () => {
      // Every body is held open until all have begun: each PUT found no file there when it started.
      let release!: () => void;
      const held = new Promise<void>((resolve) => { release = resolve; });
      const before = await receivedBytes();
      const puts = Array.from({ length: 8 }, (_, i) => call('PUT', '/fs/race-new/new.bin', { body: heldBody(testBytes(STRIPE, `race-new${i}`), held) }));
      await waitUntil(async () => await receivedBytes() - before >= 8 * STRIPE, 'every PUT is under way', 10_000);
      release();
      const replies = await Promise.all(puts);
      assert.deepEqual(replies.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201], 'one created the file, the others replaced it');
      assert.equal(new Set(replies.map((r) => r.json().id)).size, 1, 'one file');
      const dirs = await Promise.all(Array.from({ length: 8 }, () => call('PUT', '/fs/race-new/dir/')));
      assert.deepEqual(dirs.map((r) => r.status).sort(), [200, 200, 200, 200, 200, 200, 200, 201], 'mkdir: one created it');
    });

    it('lists a directory and every file a page at a time, whole, sorted and as valid JSON, while other requests are served', async () => {
      const c = cluster.controller;
      const count = 2_345; // over two pages of 1000
      const name = (i: number) => `f${String(i).padStart(5, '0')}`;
      c.mkdir('/paged');
      for (let i = 0; i < count; i++) await c.writeFile(`/paged/${name(i)}`, Buffer.alloc(0));
      const listing = await call('GET', '/fs/paged/');
      assert.equal(listing.status, 200);
      assert.match(listing.headers.get('content-type') ?? '', /^application\/json/);
      const { path: dir, entries } = listing.json();
      assert.equal(dir, '/paged');
      assert.deepEqual(entries.map((e: { name: string }) => e.name), Array.from({ length: count }, (_, i) => name(i)));
      assert.equal(entries[count - 1].path, `/paged/${name(count - 1)}`);

      const [files, status] = await Promise.all([call('GET', '/files'), call('GET', '/status')]);
      assert.equal(status.status, 200);
      const paged = files.json().files.filter((f: { path: string }) => f.path.startsWith('/paged/'));
      assert.equal(paged.length, count);
      assert.equal(new Set(paged.map((f: { id: number }) => f.id)).size, count, 'each file once');
      const ids = files.json().files.map((f: { id: number }) => f.id);
      assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'by id');
      assert.equal((await call('DELETE', '/fs/paged?recursive=true')).status, 204, 'removed a page of entries at a time');
      assertError(await call('GET', '/fs/paged/'), 404);
    });

    it('lists directories as JSON, makes them with PUT DIR/, and deletes files and directories', async () => {
      assert.equal((await call('PUT', '/fs/tree/sub/')).status, 201);
      assert.equal((await call('PUT', '/fs/tree/sub/')).status, 200, 'mkdir -p of an existing directory');
      await call('PUT', '/fs/tree/b.txt', { body: 'bee', headers: { 'Content-Type': 'text/plain' } });
      await call('PUT', '/fs/tree/sub/c.bin', { body: testBytes(10, 'c') });
      const listing = await call('GET', '/fs/tree/');
      assert.equal(listing.status, 200);
      const { path: dir, entries } = listing.json();
      assert.equal(dir, '/tree');
      assert.deepEqual(entries.map((e: { name: string; type: string; path: string }) => [e.name, e.type, e.path]),
        [['b.txt', 'file', '/tree/b.txt'], ['sub', 'dir', '/tree/sub']]);
      assert.equal(entries[0].size, 3);
      assert.equal(entries[0].content_type, 'text/plain');
      assert.deepEqual((await call('GET', '/fs/tree')).json(), listing.json(), 'a directory without the trailing slash lists too');
      const root = (await call('GET', '/fs/')).json();
      assert.equal(root.path, '/');
      assert.ok(root.entries.some((e: { name: string }) => e.name === 'tree'));
      assertError(await call('GET', '/fs/tree/b.txt/'), 409, /not a directory/);

      assertError(await call('DELETE', '/fs/tree'), 409, /not empty/);
      assert.equal((await call('DELETE', '/fs/tree/b.txt')).status, 204);
      assertError(await call('GET', '/fs/tree/b.txt'), 404);
      assert.equal((await call('DELETE', '/fs/tree?recursive=true')).status, 204);
      assertError(await call('GET', '/fs/tree/'), 404);
      await call('PUT', '/fs/empty-dir/');
      assert.equal((await call('DELETE', '/fs/empty-dir')).status, 204);
      assertError(await call('DELETE', '/fs/tree'), 404);
      assertError(await call('DELETE', '/fs/'), 400);
      assertError(await call('DELETE', '/fs/x?recursive=maybe'), 400);
    });
  });

  describe('errors', () => {
    it('refuses malformed or incomplete JSON uploads with 400 and stores nothing', async () => {
      const bad: Array<[string, RegExp]> = [
        ['{"filename": "a.txt", "contents_b64": ', /malformed JSON/],
        ['[1, 2]', /must be an object/],
        ['"text"', /malformed JSON|must be an object/],
        ['{"contents_b64": "aGk="}', /"filename"/],
        ['{"filename": "", "contents_b64": "aGk="}', /"filename"/],
        ['{"filename": 7, "contents_b64": "aGk="}', /"filename"/],
        ['{"filename": "bad-b64.txt"}', /"contents_b64"/],
        ['{"filename": "bad-b64.txt", "contents_b64": 12}', /"contents_b64"/],
        ['{"filename": "bad-b64.txt", "contents_b64": "not base64!"}', /base64/],
        ['{"filename": "bad-b64.txt", "contents_b64": "aGk"}', /base64/],
        ['{"filename": "bad-b64.txt", "contents_b64": "a=Gk"}', /base64/],
        ['{"filename": "bad-type.txt", "contents_b64": "aGk=", "content_type": "text/plain\\r\\nX-Evil: 1"}', /media type/],
        ['{"filename": "../escape.txt", "contents_b64": "aGk="}', /invalid file name/],
        ['{"filename": "..", "contents_b64": "aGk="}', /invalid file name/],
        [`{"filename": "${'n'.repeat(300)}", "contents_b64": "aGk="}`, /too long/],
        // A lone surrogate has no UTF-8 form: stored, it would be U+FFFD, another name.
        ['{"filename": "lone-\\ud800.txt", "contents_b64": "aGk="}', /not valid Unicode/],
        ['{"filename": "bad-b64.txt", "contents_b64": "aGk=", "contents_b64": "aGk="}', /more than once/],
        ['{"filename": "bad-b64.txt", "contents_b64": "aGk=aGk="}', /base64/],
        ['{"filename": "bad-b64.txt", "contents_b64": "aGk\\n"}', /base64/],
        ['{"filename": "bad-b64.txt", "contents_b64": "aGk\\q="}', /malformed JSON/],
        ['{"filename": "bad-b64.txt", "contents_b64": "aGk=" "x": 1}', /malformed JSON/],
        ['{"filename": "bad-b64.txt", "contents_b64": "aGk="} {}', /malformed JSON/],
        ['{"filename": "bad-b64.txt", "contents_b64": "aGk=', /malformed JSON/],
      ];
      for (const [body, message] of bad) {
        assertError(await call('POST', '/files', { body, headers: { 'Content-Type': 'application/json' } }), 400, message);
      }
      const good = '{"filename": "bad-b64.txt", "contents_b64": "aGk="}';
      assertError(await call('POST', '/files', { body: good, headers: { 'Content-Type': 'application/json; charset=latin1' } }), 415, /UTF-8/);
      assertError(await call('POST', '/files', { body: good, headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'zstd' } }), 415, /Content-Encoding/);
      assertError(await call('POST', '/files', { body: good.slice(0, 20), headers: { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' } }), 400);
      await assertAbsent('/bad-b64.txt');
      await assertAbsent('/bad-type.txt');
      assertError(await call('POST', '/files', { body: 'filename=x', headers: { 'Content-Type': 'text/plain' } }), 415);
    });

    it('refuses multipart forms without a "file" part with 400', async () => {
      const noFile = new FormData();
      noFile.append('file', 'a plain field, not a file');
      assertError(await call('POST', '/files', { body: noFile }), 400, /no file part named "file"/);
      assertError(await multipartUpload('wrong-field.txt', Buffer.from('x'), 'text/plain', 'upload'), 400);
      await assertAbsent('/wrong-field.txt');
      assertError(await call('POST', '/files', { body: 'garbage', headers: { 'Content-Type': 'multipart/form-data' } }), 400, /multipart/);
      const cut = '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="cut.txt"\r\n\r\nhalf a fi';
      assertError(await call('POST', '/files', { body: cut, headers: { 'Content-Type': 'multipart/form-data; boundary=XyZ' } }), 400);
      await assertAbsent('/cut.txt');
    });

    it('stores nothing of a multipart upload whose form is cut off or malformed after the file part', async () => {
      const data = testBytes(200 * 1024, 'form-tail');
      const post = (name: string, tail: string, extraLength = 0) => {
        const body = Buffer.concat([
          Buffer.from(`--XYZ\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
          data,
          Buffer.from(tail),
        ]);
        const head = `POST /files HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=XYZ\r\nContent-Length: ${body.length + extraLength}\r\n\r\n`;
        return Buffer.concat([Buffer.from(head), body]);
      };
      // The file part ends at its delimiter, then the client is gone before the rest of the body.
      await rawExchange(post('tail-cut.bin', '\r\n--XYZ', 100), 500);
      // The body is all Content-Length says, but the form does not end: no closing delimiter,
      // or a part after the file cut short.
      const malformed: Array<[string, string]> = [
        ['tail-unclosed.bin', '\r\n--XYZ'],
        ['tail-truncated.bin', '\r\n--XYZ\r\nContent-Disp'],
        ['tail-field.bin', '\r\n--XYZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nno end'],
      ];
      for (const [name, tail] of malformed) assertError(replyOf(await rawExchange(post(name, tail))), 400, /multipart/);
      await assertStaysAbsent(['/tail-cut.bin', ...malformed.map(([name]) => `/${name}`)]);
      const whole = replyOf(await rawExchange(post('tail-whole.bin', '\r\n--XYZ\r\nContent-Disposition: form-data; name="note"\r\n\r\nend\r\n--XYZ--\r\n')));
      assert.equal(whole.status, 201, whole.body.toString());
      assert.ok((await call('GET', '/fs/tail-whole.bin')).body.equals(data), 'the same form, whole, is stored');
    });

    it('refuses JSON uploads whose text is not UTF-8 with 400 and stores nothing', async () => {
      const bodies = [
        Buffer.concat([Buffer.from('{"filename": "not-utf8-'), Buffer.from([0xff]), Buffer.from('.txt", "contents_b64": "aGk="}')]),
        Buffer.concat([Buffer.from('{"contents_b64": "aGk=", "filename": "not-utf8-'), Buffer.from([0xc3]), Buffer.from('.txt"}')]),
        Buffer.concat([Buffer.from('{"filename": "not-utf8-other.txt", "note": "'), Buffer.from([0xe9]), Buffer.from('", "contents_b64": "aGk="}')]),
      ];
      for (const body of bodies) assertError(await call('POST', '/files', { body, headers: { 'Content-Type': 'application/json' } }), 400, /not valid UTF-8/);
      const { files } = (await call('GET', '/files')).json();
      assert.ok(!files.some((f: { filename: string }) => f.filename.startsWith('not-utf8-')), 'nothing stored');
    });

    it('answers what Node\'s HTTP parser refuses with JSON errors too, and keeps serving', async () => {
      assertError(replyOf(await rawExchange(`GET /fs/${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`)), 431, /larger than/);
      assertError(replyOf(await rawExchange(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20 * 1024)}\r\n\r\n`)), 431);
      assertError(replyOf(await rawExchange('NOT AN HTTP REQUEST\r\n\r\n')), 400, /malformed HTTP request/);
      assertError(replyOf(await rawExchange('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n')), 400, /malformed HTTP request/);
      assert.equal((await call('GET', '/')).status, 200);
    });

    it('refuses bad paths with 400: "..", ".", empty names, encoded slashes, bad encoding', async () => {
      for (const raw of ['/fs/../etc/passwd', '/fs/a/../../b', '/fs/./a', '/fs/a//b', '/fs/a%2Fb', '/fs/%2e%2e/x', '/fs/%zz', '/fs/a%00b']) {
        assertError(await rawCall('GET', raw), 400);
        assertError(await rawCall('PUT', raw), 400);
        assertError(await rawCall('DELETE', raw), 400);
      }
      assertError(await call('PUT', `/fs/${'n'.repeat(300)}`, { body: 'x' }), 400, /too long/);
    });

    it('answers 404 for unknown paths and routes, 405 for unsupported methods', async () => {
      assertError(await call('GET', '/fs/nowhere/file.txt'), 404);
      assertError(await call('GET', '/fs/nowhere/'), 404);
      assertError(await call('DELETE', '/fs/nowhere'), 404);
      assertError(await call('GET', '/nope'), 404, /no such route/);
      assertError(await call('GET', '/filesystem'), 404);
      const post = await call('POST', '/fs/x', { body: 'x' });
      assertError(post, 405);
      assert.equal(post.headers.get('allow'), 'GET, HEAD, PUT, DELETE');
      assertError(await call('PUT', '/files', { body: 'x' }), 405);
      assertError(await call('PATCH', '/files/1'), 405);
    });

    it('answers 405 with Allow and a JSON error to every method a path does not take, `/` and the dashboard\'s included', async () => {
      const cases: Array<[method: string, path: string, allow: string]> = [
        ['POST', '/', 'GET, HEAD'], ['PUT', '/', 'GET, HEAD'], ['DELETE', '/', 'GET, HEAD'], ['OPTIONS', '/', 'GET, HEAD'],
        ['PUT', '/files', 'GET, HEAD, POST'], ['PATCH', '/files/1', 'GET, HEAD, DELETE'], ['POST', '/files/1/info', 'GET, HEAD'],
        ['PATCH', '/fs/x', 'GET, HEAD, PUT, DELETE'], ['POST', '/status', 'GET, HEAD'], ['GET', '/repair', 'POST'], ['GET', '/scrub', 'POST'],
        ['GET', '/nodes/node1', 'DELETE'], ['GET', '/nodes/node1/drain', 'POST, DELETE'], ['POST', '/metrics', 'GET, HEAD'],
        ['POST', '/ui/', 'GET, HEAD'], ['POST', '/ui/assets/rest/ui/dashboard.js', 'GET, HEAD'], ['DELETE', '/ui/assets/rest/ui/index.html', 'GET, HEAD'],
      ];
      for (const [method, path, allow] of cases) {
        const reply = await call(method, path);
        assertError(reply, 405, new RegExp(`^${method} is not supported here; use ${allow}$`));
        assert.equal(reply.headers.get('allow'), allow, `${method} ${path}`);
      }
      // A path no route serves is a 404 whatever the method, and so is an asset that is not there.
      assertError(await call('POST', '/nope'), 404, /no such route/);
      assertError(await call('GET', '/ui/assets/rest/ui/missing.js'), 404);
      assertError(await call('GET', '/ui/assets/rest/ui'), 404);
      assert.equal((await call('GET', '/')).status, 200);
    });

    it('answers 409 for conflicts with the tree and leaves the tree as it was', async () => {
      await call('PUT', '/fs/conflict/file.txt', { body: 'keep me' });
      assertError(await call('PUT', '/fs/conflict', { body: 'x' }), 409, /is a directory/);
      assertError(await call('PUT', '/fs/conflict/file.txt/child', { body: 'x' }), 409, /not a directory/);
      assertError(await call('PUT', '/fs/conflict/file.txt/'), 409);
      assertError(await call('DELETE', '/fs/conflict'), 409, /not empty/);
      // "FILE/" names a directory, for DELETE as for GET and PUT (and rm): the file stays.
      assertError(await call('DELETE', '/fs/conflict/file.txt/'), 409, /not a directory/);
      assertError(await call('DELETE', '/fs/conflict/file.txt/', { headers: { 'If-Match': '*' } }), 409, /not a directory/);
      assert.equal((await call('GET', '/fs/conflict/file.txt')).body.toString(), 'keep me');
      assert.equal((await call('PUT', '/fs/conflict/sub/')).status, 201);
      assert.equal((await call('DELETE', '/fs/conflict/sub/')).status, 204, 'a directory may be named with its slash');
    });

    it('refuses an upload through a file with 409 before reading its body', async () => {
      await call('PUT', '/fs/early/file.txt', { body: 'keep me' });
      const url = new URL(rest.url);
      const status = await new Promise<number>((resolve, reject) => {
        // Announces 64 MiB, sends 64 KiB and waits: only an answer that does not wait for the rest comes.
        const req = httpRequest({ host: url.hostname, port: url.port, method: 'PUT', path: '/fs/early/file.txt/child.bin', headers: { 'Content-Length': String(64 << 20) } }, (res) => {
          res.resume();
          resolve(res.statusCode!);
          req.destroy();
        });
        req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
        req.write(testBytes(64 * 1024, 'early'));
        setTimeout(() => { reject(new Error('no answer before the body was sent')); req.destroy(); }, 5_000);
      });
      assert.equal(status, 409);
      assert.equal((await call('GET', '/fs/early/file.txt')).body.toString(), 'keep me');
    });

    it('answers 413 for uploads over the limit, whatever the route, and stores nothing', async () => {
      const over = testBytes(LIMIT + 1, 'over');
      assertError(await call('PUT', '/fs/big-sized.bin', { body: over }, limited), 413, /limit of 262144 bytes/);
      assertError(await call('PUT', '/fs/big-chunked.bin', { body: pieces(over, 16 * 1024) }, limited), 413);
      assertError(await multipartUpload('big-form.bin', over, 'application/octet-stream', 'file', limited), 413);
      const overJson = testBytes(LIMIT + 1, 'json-over').toString('base64');
      assertError(await jsonUpload({ filename: 'big-json.bin', contents_b64: overJson }, limited), 413, /limit of 262144 bytes/);
      const wayOverJson = testBytes(4 * LIMIT, 'json-way-over').toString('base64');
      assertError(await jsonUpload({ contents_b64: wayOverJson, filename: 'bigger-json.bin' }, limited), 413);
      for (const name of ['big-sized.bin', 'big-chunked.bin', 'big-form.bin', 'big-json.bin', 'bigger-json.bin']) await assertAbsent(`/${name}`);
      const exact = testBytes(LIMIT, 'exact');
      assert.equal((await call('PUT', '/fs/exactly-at-limit.bin', { body: pieces(exact, 16 * 1024) }, limited)).status, 201);
      assert.ok((await call('GET', '/fs/exactly-at-limit.bin', {}, limited)).body.equals(exact));
      assert.equal((await call('GET', '/', {}, limited)).status, 200, 'the connection pool still works after refusals');
    });

    it('stores nothing when the client disconnects mid-upload, and keeps serving', async () => {
      const cutOff = (head: string, body: Buffer) => rawExchange(Buffer.concat([Buffer.from(head), body]), 100);
      const partial = testBytes(3 * STRIPE, 'partial');
      await cutOff(`PUT /fs/aborted/put.bin HTTP/1.1\r\nHost: x\r\nContent-Length: ${10 * STRIPE}\r\n\r\n`, partial);
      await cutOff(`PUT /fs/aborted/chunked.bin HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${partial.length.toString(16)}\r\n`, partial);
      const form = `--B\r\nContent-Disposition: form-data; name="file"; filename="aborted-form.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`;
      await cutOff(`POST /files HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: ${10 * STRIPE}\r\n\r\n${form}`, partial);
      const json = '{"filename": "aborted-json.bin", "contents_b64": "';
      await cutOff(`POST /files HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${10 * STRIPE}\r\n\r\n${json}`, Buffer.from(partial.toString('base64')));
      await assertStaysAbsent(['/aborted/put.bin', '/aborted/chunked.bin', '/aborted-form.bin', '/aborted-json.bin']);
      const whole = testBytes(3 * STRIPE, 'whole');
      assert.equal((await call('PUT', '/fs/aborted/put.bin', { body: whole })).status, 201, 'the path is free and the server serves');
      assert.ok((await call('GET', '/fs/aborted/put.bin')).body.equals(whole));
    });
  });

  it('serves 16 concurrent uploads and then 16 concurrent downloads byte-exact', async () => {
    const files = Array.from({ length: 16 }, (_, i) => ({ i, data: testBytes(i * 20_000 + (i % 3) * STRIPE + 7, `conc${i}`) }));
    const uploaded = await Promise.all(files.map(async ({ i, data }) => {
      const reply = i % 4 === 0 ? await jsonUpload({ filename: `conc${i}.bin`, contents_b64: data.toString('base64') })
        : i % 4 === 1 ? await multipartUpload(`conc${i}.bin`, data)
          : await call('PUT', `/fs/conc/${i}.bin`, { body: i % 4 === 2 ? data : pieces(data, 8_192) });
      assert.ok(reply.status === 201, `upload ${i}: ${reply.status} ${reply.body.toString()}`);
      return { i, data, id: reply.json().id as number, path: reply.json().path as string };
    }));
    await Promise.all(uploaded.map(async ({ i, data, id, path: stored }) => {
      const byId = await call('GET', `/files/${id}`);
      assert.ok(byId.body.equals(data), `download ${i} by id`);
      const byPath = await call('GET', `/fs${encodeURI(stored)}`);
      assert.ok(byPath.body.equals(data), `download ${i} by path`);
    }));
  });
});
