/**
 * The REST facade under real faults: a storage node killed (kill -9) while downloads
 * are streaming, too few live nodes to store or read (503), nodes without room
 * (507), and clients that stop reading mid-download while others want the
 * controller's REST memory (downloads and uploads 503 after the wait; the mount's
 * writes unaffected), a JSON upload larger than that memory, streamed, and a scrub
 * longer than the idle timeout answered with its report. Every
 * download is checked byte-exact; every failed upload is checked to have left
 * nothing behind.
 *
 * The clusters use a 1 s node request deadline: a copy requested from a node in the
 * instant it dies (and reads of a part whose nodes are all down) wait out that
 * deadline before the fallback or the 503, and 1 s keeps the tests short.
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { RestServer, startRestServer } from '../src/rest/server';
import { TestCluster } from './helpers/cluster';
import { testBytes, waitUntil } from './helpers/data';
import { PrometheusText } from './helpers/prometheus-text';

const STRIPE = 64 * 1024;

async function bytesOf(res: Response): Promise<Buffer> {
  return Buffer.from(await res.arrayBuffer());
}

async function assertJsonError(res: Response, status: number, message?: RegExp): Promise<void> {
  const body = await res.text();
  assert.equal(res.status, status, body);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  if (message) assert.match(JSON.parse(body).error, message);
}

describe('REST facade under failures', () => {
  let cluster: TestCluster | undefined;
  let rest: RestServer | undefined;
  afterEach(async () => {
    await rest?.close();
    await cluster?.stop();
    rest = undefined;
    cluster = undefined;
  });

  it('answers a scrub that takes longer than the idle timeout with its report, not a closed connection', async () => {
    cluster = await TestCluster.start({ nodes: 2, controller: { stripeSize: STRIPE, scrubBytesPerSecond: 256 << 10 } });
    await cluster.controller.writeFile('/slow', testBytes(4 * STRIPE, 'slow-scrub'));
    rest = await startRestServer(cluster.controller, { port: 0, idleTimeoutMs: 300 });
    // 8 copies of 64 KiB at 256 KiB/s: about 2 s, nothing sent meanwhile.
    const started = Date.now();
    const res = await fetch(`${rest.url}/scrub`, { method: 'POST' });
    assert.equal(res.status, 200);
    const report = await res.json() as { corrupt: number; errors: string[] };
    assert.ok(Date.now() - started > 1_000, 'the pass outlasted the idle timeout');
    assert.deepEqual([report.corrupt, report.errors], [0, []]);
  });

  it('keeps downloads byte-exact when a node is killed while they stream', async () => {
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, cacheBytes: 1, requestTimeoutMs: 1_000 } });
    rest = await startRestServer(cluster.controller, { port: 0 });
    const files = [0, 1, 2].map((i) => ({ path: `/dl/f${i}.bin`, data: testBytes(48 * STRIPE + i, `dl${i}`) }));
    for (const f of files) assert.equal((await fetch(`${rest.url}/fs${f.path}`, { method: 'PUT', body: f.data })).status, 201);

    // Each download has delivered its first bytes (and then stops reading) when the node dies.
    const streams = await Promise.all(files.map(async (f) => {
      const res = await fetch(`${rest!.url}/fs${f.path}`);
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.ok(!first.done && first.value.length < f.data.length, 'the download is under way');
      return { f, reader, received: [Buffer.from(first.value!)] };
    }));
    const started = Date.now();
    await cluster.killNode(1);
    await Promise.all(streams.map(async ({ f, reader, received }) => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) received.push(Buffer.from(r.value));
      assert.ok(Buffer.concat(received).equals(f.data), `${f.path}: bytes differ`);
    }));
    assert.ok(Date.now() - started < 5_000, 'no timeout on the dead node was waited out');

    const { files: listed } = await (await fetch(`${rest.url}/files`)).json() as { files: Array<{ id: number; path: string }> };
    for (const f of files) {
      const { id } = listed.find((l) => l.path === f.path)!;
      assert.ok((await bytesOf(await fetch(`${rest.url}/files/${id}`))).equals(f.data), `${f.path} by id after the kill`);
      const ranged = await fetch(`${rest.url}/fs${f.path}`, { headers: { Range: `bytes=${10 * STRIPE - 7}-${30 * STRIPE}` } });
      assert.equal(ranged.status, 206);
      assert.ok((await bytesOf(ranged)).equals(f.data.subarray(10 * STRIPE - 7, 30 * STRIPE + 1)));
    }
    const info = await (await fetch(`${rest.url}/files/${listed.find((l) => l.path === files[0].path)!.id}/info`)).json() as
      { parts: Array<{ replicas: Array<{ node: string; alive: boolean }> }> };
    const replicas = info.parts.flatMap((p) => p.replicas);
    assert.ok(replicas.some((r) => r.node === 'node2' && !r.alive), 'info shows the dead node as not alive');
  });

  it('answers 507 when the nodes are full, 503 when too few nodes are alive, and stores nothing', async () => {
    cluster = await TestCluster.start({ nodes: 2, controller: { stripeSize: STRIPE, cacheBytes: 1, requestTimeoutMs: 1_000 }, capacities: [12 * STRIPE, 12 * STRIPE] });
    rest = await startRestServer(cluster.controller, { port: 0 });
    const url = rest.url;
    const keep = testBytes(2 * STRIPE, 'keep');
    const kept = await (await fetch(`${url}/files`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ filename: 'keep.bin', contents_b64: keep.toString('base64') }),
    })).json() as { id: number };

    await assertJsonError(await fetch(`${url}/fs/huge.bin`, { method: 'PUT', body: testBytes(30 * STRIPE, 'huge') }), 507);
    await assertJsonError(await fetch(`${url}/fs/huge.bin`), 404);

    await cluster.killNode(0);
    await cluster.waitUntilDown(0);
    await assertJsonError(await fetch(`${url}/fs/late.bin`, { method: 'PUT', body: testBytes(3 * STRIPE, 'late') }), 503, /alive; 2 are needed/);
    const form = new FormData();
    form.append('file', new Blob([testBytes(1000, 'late-form')]), 'late-form.bin');
    await assertJsonError(await fetch(`${url}/files`, { method: 'POST', body: form }), 503);
    await assertJsonError(await fetch(`${url}/files`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ filename: 'late.json', contents_b64: 'aGk=' }),
    }), 503);
    const { files } = await (await fetch(`${url}/files`)).json() as { files: Array<{ filename: string }> };
    assert.deepEqual(files.map((f) => f.filename), ['keep.bin'], 'no failed upload left a file');
    assert.ok((await bytesOf(await fetch(`${url}/files/${kept.id}`))).equals(keep), 'the surviving copy is read');

    await cluster.killNode(1);
    await cluster.waitUntilDown(1);
    await assertJsonError(await fetch(`${url}/files/${kept.id}`), 503, /no readable copy/);
    await assertJsonError(await fetch(`${url}/fs/keep.bin`, { headers: { Range: 'bytes=5-10' } }), 503);
    assert.equal((await fetch(`${url}/fs/keep.bin`, { method: 'HEAD' })).status, 200, 'metadata needs no node');
    assert.equal((await fetch(`${url}/files`)).status, 200);
  });

  it('keeps slow downloads within the REST memory: stalled clients hold it, the next download or upload gets 503, the mount\'s writes go on', { timeout: 60_000 }, async () => {
    const stripe = 1 << 20;
    // The REST memory is the least it can be, one upload's worth: (1 part in flight + 2) stripes.
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: stripe, partsInFlight: 1, restMemoryBytes: 1 } });
    rest = await startRestServer(cluster.controller, { port: 0, roomWaitMs: 300 });
    const url = rest.url;
    // Larger than what loopback's socket buffers take in, so the server is left holding a part.
    const big = testBytes(32 * stripe + 5, 'stalled');
    assert.equal((await fetch(`${url}/fs/big.bin`, { method: 'PUT', body: big })).status, 201);
    const small = testBytes(3000, 'small');
    assert.equal((await fetch(`${url}/fs/small.bin`, { method: 'PUT', body: small })).status, 201);
    const restMemory = async () => {
      const m = await PrometheusText.scrape(url);
      return {
        budget: m.value('raidfs_rest_memory_budget_bytes'),
        reserved: m.value('raidfs_rest_memory_reserved_bytes'),
        waiting: m.value('raidfs_rest_memory_waiting'),
        sent: m.value('raidfs_frontend_bytes_total', { frontend: 'rest', direction: 'out' }),
      };
    };
    assert.equal((await restMemory()).budget, 3 * stripe);

    // Three clients stop reading: their socket buffers fill up, then the server waits
    // for each with a part in hand, and the three parts fill the REST memory.
    const stalled = await Promise.all([0, 1, 2].map(async () => {
      const res = await fetch(`${url}/fs/big.bin`);
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      return { reader, received: [Buffer.from((await reader.read()).value!)] };
    }));
    let before = -1;
    await waitUntil(async () => {
      const { sent } = await restMemory();
      const still = sent === before;
      before = sent;
      await new Promise((resolve) => setTimeout(resolve, 200));
      return still;
    }, 'the downloads stall');
    assert.ok(before < 3 * big.length, `the downloads stalled after ${before} of ${3 * big.length} bytes`);
    assert.deepEqual(await restMemory(), { budget: 3 * stripe, reserved: 3 * stripe, waiting: 0, sent: before },
      'the part each download is sending is reserved; nothing is read ahead past half the budget');

    const started = Date.now();
    const refused = await fetch(`${url}/fs/small.bin`);
    assert.equal(refused.status, 503, await refused.clone().text());
    assert.equal(refused.headers.get('retry-after'), '5');
    assert.match(((await refused.json()) as { error: string }).error, /too many transfers at once/);
    assert.ok(Date.now() - started >= 300, 'it waited for room first');

    // A client that leaves while it waits leaves the queue.
    const leaving = new AbortController();
    const gone = fetch(`${url}/fs/small.bin`, { signal: leaving.signal });
    await waitUntil(async () => (await restMemory()).waiting === 1, 'the next download waits');
    leaving.abort();
    await assert.rejects(gone);
    await waitUntil(async () => (await restMemory()).waiting === 0, 'it left the queue');

    // The mount's writes take their memory elsewhere: they go on. REST uploads wait
    // their turn, and are refused like downloads when it does not come in time.
    const mounted = testBytes(3 * stripe, 'mount');
    cluster.controller.commitDraft('/mount.bin', await cluster.controller.storeDraft([mounted]));
    const put = await fetch(`${url}/fs/during.bin`, { method: 'PUT', body: testBytes(3 * stripe, 'during') });
    assert.equal(put.status, 503, await put.clone().text());
    assert.equal(put.headers.get('retry-after'), '5');
    const form = new FormData();
    form.append('file', new Blob([small]), 'form.bin');
    const posted = await fetch(`${url}/files`, { method: 'POST', body: form });
    assert.equal(posted.status, 503, await posted.clone().text());
    assert.match(((await posted.json()) as { error: string }).error, /too many transfers at once/);
    assert.equal((await fetch(`${url}/fs/during.bin`, { method: 'HEAD' })).status, 404, 'a refused upload leaves nothing');
    assert.equal((await restMemory()).waiting, 0);

    // The stalled clients read on and get every byte; then uploads are stored, and the memory given back.
    await Promise.all(stalled.map(async ({ reader, received }) => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) received.push(Buffer.from(r.value));
      assert.ok(Buffer.concat(received).equals(big), 'a stalled download is byte-exact');
    }));
    assert.equal((await fetch(`${url}/fs/during.bin`, { method: 'PUT', body: testBytes(3 * stripe, 'during') })).status, 201);
    assert.ok((await bytesOf(await fetch(`${url}/fs/small.bin`))).equals(small));
    assert.ok((await bytesOf(await fetch(`${url}/fs/during.bin`))).equals(testBytes(3 * stripe, 'during')));
    assert.ok((await bytesOf(await fetch(`${url}/fs/mount.bin`))).equals(mounted));
    await waitUntil(async () => (await restMemory()).reserved === 0, 'the REST memory is given back');
  });

  it('holds three stripes of the REST memory for an upload whose client pauses, not one per part it may have in flight', { timeout: 60_000 }, async () => {
    const stripe = 1 << 20;
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: stripe } });
    rest = await startRestServer(cluster.controller, { port: 0 });
    const url = rest.url;
    const data = testBytes(6 * stripe + 77, 'paused');
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => { resume = resolve; });
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent === 5 * stripe / 2) await resumed; // pauses mid-part
        const piece = data.subarray(sent, Math.min(data.length, sent + 64 * 1024, sent < 5 * stripe / 2 ? 5 * stripe / 2 : data.length));
        sent += piece.length;
        controller.enqueue(piece);
        if (sent === data.length) controller.close();
      },
    });
    const upload = fetch(`${url}/fs/paused.bin`, { method: 'PUT', body, duplex: 'half' } as RequestInit);
    const restMemory = async () => {
      const m = await PrometheusText.scrape(url);
      return { reserved: m.value('raidfs_rest_memory_reserved_bytes'), received: m.value('raidfs_frontend_bytes_total', { frontend: 'rest', direction: 'in' }) };
    };
    await waitUntil(async () => (await restMemory()).received === 5 * stripe / 2, 'the first 2.5 stripes arrive');
    // Its two whole parts are stored: what it holds now is the part being cut, the next piece and one part's room.
    await waitUntil(async () => (await restMemory()).reserved === 3 * stripe, 'the upload holds 3 stripes');

    const other = testBytes(8 * stripe, 'other');
    assert.equal((await fetch(`${url}/fs/other.bin`, { method: 'PUT', body: other })).status, 201, 'another upload goes on meanwhile');
    resume();
    assert.equal((await upload).status, 201);
    assert.ok((await bytesOf(await fetch(`${url}/fs/paused.bin`))).equals(data));
    assert.ok((await bytesOf(await fetch(`${url}/fs/other.bin`))).equals(other));
    assert.equal((await restMemory()).reserved, 0);
  });

  it('streams a JSON upload: its contents are stored while its body still comes, within the REST memory', { timeout: 60_000 }, async () => {
    cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, restMemoryBytes: 1 << 20 } });
    rest = await startRestServer(cluster.controller, { port: 0 });
    const url = rest.url;
    const metrics = async () => PrometheusText.scrape(url);
    const received = async () => (await metrics()).value('raidfs_frontend_bytes_total', { frontend: 'rest', direction: 'in' });

    // 4 MiB of contents, four times the REST memory, and its filename after them. The
    // client sends the first half of the body, then waits.
    const data = testBytes(4 << 20, 'json-streamed');
    const body = Buffer.from(JSON.stringify({ contents_b64: data.toString('base64'), filename: 'streamed.bin' }));
    let resume!: () => void;
    const resumed = new Promise<void>((resolve) => { resume = resolve; });
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        if (sent >= body.length / 2) await resumed;
        const piece = body.subarray(sent, Math.min(body.length, sent + (64 << 10)));
        sent += piece.length;
        controller.enqueue(piece);
        if (sent === body.length) controller.close();
      },
    });
    const upload = fetch(`${url}/files`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: stream, duplex: 'half' } as RequestInit);
    await waitUntil(async () => (await received()) >= (1 << 20), 'contents stored before the body has ended');
    assert.ok((await metrics()).value('raidfs_rest_memory_reserved_bytes') <= 1 << 20, 'within the REST memory');
    assert.equal(((await (await fetch(`${url}/files`)).json()) as { files: unknown[] }).files.length, 0, 'nothing visible before the commit');
    resume();
    const reply = await upload;
    assert.equal(reply.status, 201, await reply.clone().text());
    const { id, filename } = (await reply.json()) as { id: number; filename: string };
    assert.equal(filename, 'streamed.bin');
    assert.ok((await bytesOf(await fetch(`${url}/files/${id}`))).equals(data));

    // A bad filename before the contents is refused before any of them is stored.
    const before = await received();
    const badName = JSON.stringify({ filename: '../escape.bin', contents_b64: data.toString('base64') });
    await assertJsonError(await fetch(`${url}/files`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: badName }), 400, /invalid file name/);
    assert.equal(await received(), before, 'none of its contents was stored');
    // A bad one after them is found at the end: what was stored is dropped.
    const badAfter = JSON.stringify({ contents_b64: data.toString('base64'), filename: '../escape.bin' });
    await assertJsonError(await fetch(`${url}/files`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: badAfter }), 400, /invalid file name/);
    const files = ((await (await fetch(`${url}/files`)).json()) as { files: Array<{ filename: string }> }).files;
    assert.deepEqual(files.map((f) => f.filename), ['streamed.bin']);
    assert.equal((await metrics()).value('raidfs_rest_memory_reserved_bytes'), 0);
  });
});
