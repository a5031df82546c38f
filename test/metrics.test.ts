/**
 * GET /metrics of a real `raidfs up` (controller, 4 storage-node processes, the FUSE
 * mount, REST with a bearer token), scraped over HTTP and parsed as Prometheus text
 * (helpers/prometheus-text.ts) after real traffic: a multi-part file PUT and GET over
 * REST, cp and cmp through the mount (driven from this process, served by the
 * child), kill -9 of a node holding copies, a repair, and a scrub that finds a
 * corrupted copy and an orphan. Values are checked against the bytes that moved, the
 * reports of the passes and GET /status (the cluster state the gauges come from).
 * Last, two controllers in one process keep separate registries.
 */
import assert from 'node:assert/strict';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ClusterStatus, Controller, RepairReport, ScrubReport } from '../src/core/controller';
import { newChunkId } from '../src/wire/chunk-id';
import { testBytes, waitUntil } from './helpers/data';
import { MountedRaidfs, sh } from './helpers/mounted-raidfs';
import { PrometheusText, Sample } from './helpers/prometheus-text';

const STRIPE = 64 * 1024;
const TOKEN = 'metrics-test-token';
const HEADER = 48;
const REST_DATA = testBytes(5 * STRIPE + 123, 'metrics-rest'); // 6 parts
const FUSE_DATA = testBytes(3 * STRIPE + 7, 'metrics-fuse'); // 4 parts

interface PartInfo {
  chunk_id: string;
  replicas: Array<{ node: string; alive: boolean }>;
}

describe('GET /metrics (raidfs up, 4 nodes, mount, REST with a token)', () => {
  let fsys: MountedRaidfs;
  let local: string;
  let restFileId: number;

  before(async () => {
    fsys = await MountedRaidfs.start({ args: ['--stripe-size', String(STRIPE), '--rest-token', TOKEN, '--no-node-restart'] });
    local = await fs.mkdtemp(path.join(os.tmpdir(), 'raidfs-metrics-'));
  });
  after(async () => {
    await fsys?.stop();
    if (local) await fs.rm(local, { recursive: true, force: true });
  });

  const api = (method: string, urlPath: string, body?: Buffer, token: string | null = TOKEN) =>
    fetch(fsys.restUrl + urlPath, { method, body, headers: token === null ? {} : { Authorization: `Bearer ${token}` } });
  const json = async <T>(method: string, urlPath: string): Promise<T> => {
    const res = await api(method, urlPath);
    assert.equal(res.status, 200, `${method} ${urlPath}`);
    return (await res.json()) as T;
  };
  const status = () => json<ClusterStatus>('GET', '/status');
  const scrape = async () => {
    const res = await api('GET', '/metrics');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    return PrometheusText.parse(await res.text());
  };
  const parts = async () => (await json<{ parts: PartInfo[] }>('GET', `/files/${restFileId}/info`)).parts;
  const chunkFile = (nodeId: string, chunkId: string) => path.join(fsys.dir, 'data', nodeId, 'chunks', chunkId.slice(0, 2), chunkId);

  it('answers 401 without the token, like every route', async () => {
    assert.equal((await api('GET', '/metrics', undefined, null)).status, 401);
    assert.equal((await api('GET', '/metrics', undefined, 'wrong')).status, 401);
  });

  it('counts the file bytes and operations of REST and FUSE where they flow', async () => {
    const put = await api('PUT', '/fs/m/rest.bin', REST_DATA);
    assert.equal(put.status, 201);
    restFileId = ((await put.json()) as { id: number }).id;
    const got = await api('GET', '/fs/m/rest.bin');
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(REST_DATA));
    await fs.writeFile(path.join(local, 'rest.bin'), REST_DATA);
    await fs.writeFile(path.join(local, 'fuse.bin'), FUSE_DATA);
    const copied = await sh(`cp fuse.bin ${fsys.at('m/fuse.bin')} && cmp rest.bin ${fsys.at('m/rest.bin')} && cmp fuse.bin ${fsys.at('m/fuse.bin')}`, { cwd: local });
    assert.equal(copied.code, 0, copied.stderr);

    const m = await scrape();
    assert.equal(m.family('raidfs_frontend_bytes_total').type, 'counter');
    const bytes = (frontend: string, direction: string) => m.value('raidfs_frontend_bytes_total', { frontend, direction });
    assert.equal(bytes('rest', 'in'), REST_DATA.length);
    assert.equal(bytes('rest', 'out'), REST_DATA.length);
    assert.ok(bytes('fuse', 'in') >= FUSE_DATA.length, `fuse in ${bytes('fuse', 'in')}`);
    assert.ok(bytes('fuse', 'out') >= REST_DATA.length, `fuse out ${bytes('fuse', 'out')}`);
    const ops = (frontend: string, operation: string) => m.value('raidfs_frontend_operations_total', { frontend, operation });
    assert.equal(ops('rest', 'PUT /fs'), 1);
    assert.equal(ops('rest', 'GET /fs'), 1);
    assert.equal(ops('rest', 'GET /metrics'), 1); // this scrape; the refused ones never got past auth
    for (const op of ['create', 'write', 'flush', 'release', 'getattr', 'open', 'read']) assert.ok(ops('fuse', op) >= 1, `fuse ${op} counted`);
  });

  it('times every node request in a histogram with consistent buckets', async () => {
    const m = await scrape();
    const family = m.family('raidfs_node_request_duration_seconds');
    assert.equal(family.type, 'histogram');
    const stored = m.value('raidfs_node_request_duration_seconds_count', { kind: 'storeChunk', outcome: 'ok' });
    assert.ok(stored >= 2 * (6 + 4), `${stored} stores: two copies of each part`);
    assert.ok(m.value('raidfs_node_request_duration_seconds_count', { kind: 'getChunk', outcome: 'ok' }) >= 6);
    const series = new Map<string, Sample[]>();
    for (const s of family.samples.filter((s) => s.name.endsWith('_bucket'))) {
      const key = `${s.labels.kind}/${s.labels.outcome}`;
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    assert.ok(series.size >= 2);
    for (const [key, buckets] of series) {
      const [kind, outcome] = key.split('/');
      const bounds = buckets.map((b) => Number(b.labels.le === '+Inf' ? Infinity : b.labels.le));
      assert.deepEqual(bounds, [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Infinity], key);
      for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i].value >= buckets[i - 1].value, `${key} buckets are cumulative`);
      assert.equal(buckets.at(-1)!.value, m.value('raidfs_node_request_duration_seconds_count', { kind, outcome }), `${key} +Inf == _count`);
      assert.ok(m.value('raidfs_node_request_duration_seconds_sum', { kind, outcome }) > 0);
    }
  });

  it('shows a node killed with kill -9 as down and its parts as under-replicated, as GET /status does', async () => {
    const victim = (await parts())[0].replicas[0].node;
    fsys.killNode(Number(victim.replace('node', '')) - 1);
    await waitUntil(async () => (await status()).nodesDown === 1, `${victim} is counted down`, 10_000);

    const m = await scrape();
    const cluster = await status();
    for (const node of ['node1', 'node2', 'node3', 'node4']) {
      assert.equal(m.value('raidfs_node_up', { node }), node === victim ? 0 : 1, node);
      assert.equal(m.value('raidfs_node_draining', { node }), 0, node);
    }
    assert.equal(m.value('raidfs_nodes', { state: 'up' }), 3);
    assert.equal(m.value('raidfs_nodes', { state: 'down' }), 1);
    assert.equal(m.value('raidfs_parts_total'), cluster.parts.total);
    assert.equal(m.value('raidfs_parts_under_replicated'), cluster.parts.underReplicated);
    assert.equal(m.value('raidfs_parts_unavailable'), cluster.parts.unavailable);
    assert.equal(m.value('raidfs_parts_to_move_off_draining'), 0);
    assert.ok(cluster.parts.underReplicated >= 1);
    assert.equal(cluster.parts.total, 10);
  });

  it('counts what repair copies, and the parts are whole again', async () => {
    const report = await json<RepairReport>('POST', '/repair');
    assert.ok(report.copiesMade >= 1 && report.failed === 0, JSON.stringify(report));
    const m = await scrape();
    assert.ok(m.value('raidfs_repair_passes_total') >= 1);
    assert.equal(m.value('raidfs_repair_copies_made_total'), report.copiesMade);
    assert.equal(m.value('raidfs_repair_bytes_copied_total'), report.bytesCopied);
    assert.equal(m.value('raidfs_repair_failures_total'), 0);
    assert.equal(m.value('raidfs_parts_under_replicated'), 0);
    assert.equal((await status()).parts.underReplicated, 0);
  });

  it('counts what scrub verifies, the corrupt copy it rewrites and the orphan it finds', async () => {
    const [first] = await parts();
    const holder = first.replicas.find((r) => r.alive)!.node;
    const copy = chunkFile(holder, first.chunk_id);
    const bytes = await fs.readFile(copy);
    bytes[HEADER + 100] ^= 0x01;
    await fs.writeFile(copy, bytes);
    const orphan = chunkFile(holder, newChunkId());
    await fs.mkdir(path.dirname(orphan), { recursive: true });
    await fs.copyFile(copy, orphan);

    const report = await json<ScrubReport>('POST', '/scrub');
    assert.equal(report.corrupt, 1, JSON.stringify(report));
    const m = await scrape();
    assert.equal(m.value('raidfs_scrub_passes_total'), 1);
    assert.equal(m.value('raidfs_scrub_copies_verified_total'), report.chunksVerified);
    assert.equal(report.chunksVerified, 2 * 10);
    assert.equal(m.value('raidfs_scrub_bytes_verified_total'), report.bytesVerified);
    assert.equal(m.value('raidfs_scrub_copies_corrupt_total'), 1);
    assert.equal(m.value('raidfs_scrub_copies_missing_total'), 0);
    assert.equal(m.value('raidfs_scrub_copies_rewritten_total'), 1);
    assert.equal(m.value('raidfs_scrub_orphans_total'), 1);
    assert.equal(m.family('raidfs_doomed_copies_deleted_total').type, 'counter');
  });

  it('carries the default process metrics, prefixed raidfs_, and HELP and TYPE for every family', async () => {
    const m = await scrape();
    assert.ok(m.value('raidfs_process_cpu_user_seconds_total') > 0);
    assert.ok(m.value('raidfs_nodejs_heap_size_used_bytes') > 0);
    for (const family of m.families.values()) {
      assert.ok(family.name.startsWith('raidfs_'), family.name);
      assert.ok(family.help && family.type, `${family.name} has HELP and TYPE`);
    }
  });
});

describe('metrics of two controllers in one process', () => {
  it('are kept in separate registries', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-metrics-two-'));
    const start = (name: string) => Controller.start({ dbPath: path.join(dir, `${name}.sqlite`), endpoint: 'tcp://127.0.0.1:0' });
    const [a, b] = [await start('a'), await start('b')];
    try {
      a.metrics.rest.received(1000);
      a.metrics.fuse.operation('getattr');
      const [ma, mb] = [PrometheusText.parse(await a.metrics.scrape()), PrometheusText.parse(await b.metrics.scrape())];
      assert.equal(ma.value('raidfs_frontend_bytes_total', { frontend: 'rest', direction: 'in' }), 1000);
      assert.equal(mb.value('raidfs_frontend_bytes_total', { frontend: 'rest', direction: 'in' }), 0);
      assert.equal(ma.value('raidfs_frontend_operations_total', { frontend: 'fuse', operation: 'getattr' }), 1);
      assert.deepEqual(mb.samples('raidfs_frontend_operations_total'), []);
      assert.ok(mb.value('raidfs_process_resident_memory_bytes') > 0);
    } finally {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
