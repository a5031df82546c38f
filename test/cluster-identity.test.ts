/**
 * Cluster identity, with real nodes: each node records the cluster of the metadata it
 * first registered with, and a controller whose metadata is another cluster's (the
 * metadata file lost, emptied or mistyped) refuses it, so none of its chunks is ever
 * taken for an orphan; nodes from before cluster ids adopt the cluster of metadata
 * that knows them, and are refused by metadata that never did if they hold chunks.
 * End to end: `raidfs status` lists refused nodes, /metrics counts them
 * (raidfs_nodes_refused) until a minute after their last try, and `raidfs up` on
 * data whose metadata file was deleted stops with the reason instead of starting. A
 * node of another cluster under a connected node's id is not let in.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, promises as fs, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { LocalNode } from '../src/cli/local-nodes';
import { ClusterMembership, REFUSAL_LISTED_MS } from '../src/core/cluster-membership';
import { ControllerProcess } from './helpers/controller-process';
import { TestCluster } from './helpers/cluster';
import { testBytes, waitUntil } from './helpers/data';
import { PrometheusText } from './helpers/prometheus-text';
import { raidfs, startRaidfs } from './helpers/raidfs-cli';

const STRIPE = 64 * 1024;
const CLUSTER_ID = /^[0-9a-f]{32}$/;

/** The cluster id recorded in a node's data directory ('' if none). */
function recordedCluster(nodeDir: string): string {
  try {
    return readFileSync(path.join(nodeDir, 'cluster-id'), 'utf8').trim();
  } catch {
    return '';
  }
}

/** Every chunk file under `dataDirs`' chunks/ directories, sorted. */
async function chunkFilesIn(dataDirs: readonly string[]): Promise<string[]> {
  const files = await Promise.all(dataDirs.map(async (dir) => {
    const entries = await fs.readdir(path.join(dir, 'chunks'), { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
  }));
  return files.flat().sort();
}

describe('cluster identity', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => { await cluster?.stop(); cluster = undefined; });

  it('refuses the nodes of another cluster when the metadata file is new (lost, emptied, mistyped), and deletes none of their chunks', async () => {
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE } });
    const c = cluster;
    const data = testBytes(6 * STRIPE, 'kept');
    await c.controller.writeFile('/kept', data);
    const ours = c.controller.status().clusterId;
    assert.match(ours, CLUSTER_ID);
    await waitUntil(() => [0, 1, 2].every((i) => recordedCluster(c.nodeDir(i)) === ours), 'every node recorded the cluster');
    const nodeDirs = [0, 1, 2].map((i) => c.nodeDir(i));
    const stored = await chunkFilesIn(nodeDirs);
    assert.equal(stored.length, 12);

    // An empty metadata file: what a lost one, an emptied one or a mistyped --db gives (a new database).
    const empty = path.join(c.dir, 'empty.sqlite');
    writeFileSync(empty, '');
    await assert.rejects(c.restartController({ dbPath: empty }),
      /^Error: only 0 of 3 storage nodes registered; refused: node node\d belongs to cluster [0-9a-f]{32}, not to this controller's cluster [0-9a-f]{32};.*nothing on the node is deleted/);
    const status = c.controller.status();
    assert.notEqual(status.clusterId, ours);
    assert.deepEqual(status.refusedNodes.map((n) => [n.id, n.clusterId]), [['node1', ours], ['node2', ours], ['node3', ours]]);
    assert.equal(status.nodesUp, 0);
    // The nodes keep registering (every 5 s of silence), and are refused each time.
    const firstRefusal = status.refusedNodes[0].lastRefusedMs;
    await waitUntil(() => c.controller.status().refusedNodes[0].lastRefusedMs > firstRefusal, 'node1 registers again', 15_000);
    assert.equal(c.controller.status().nodesUp, 0, 'a refused node never counts as up');
    assert.equal(PrometheusText.parse(await c.controller.metrics.scrape()).value('raidfs_nodes_refused'), 3);
    const scrub = await c.controller.scrub();
    assert.deepEqual([scrub.nodesScrubbed, scrub.orphans], [0, 0]);
    await c.controller.collectGarbage();
    assert.deepEqual(await chunkFilesIn(nodeDirs), stored, 'every chunk is still there');
    assert.ok(nodeDirs.every((dir) => recordedCluster(dir) === ours), 'the nodes still belong to their cluster');

    // Back on the cluster's own metadata, the same nodes register and serve the file.
    await c.restartController({ stripeSize: STRIPE });
    assert.deepEqual(c.controller.status().refusedNodes, []);
    assert.equal(PrometheusText.parse(await c.controller.metrics.scrape()).value('raidfs_nodes_refused'), 0);
    assert.ok((await c.controller.readFile('/kept')).equals(data));
  });

  it('a node of another cluster that connects under the id of a connected node is not let in, and that node stays up', async () => {
    // Every `raidfs up` names its nodes node1..node4: another cluster's node2 pointed at
    // this controller by mistake. Before, ZeroMQ handed it node2's routing id, the real
    // node2 lost its connection and was counted down, and the two took the id from each
    // other every few seconds.
    cluster = await TestCluster.start({ nodes: 3, controller: { stripeSize: STRIPE } });
    const c = cluster;
    const id = c.nodeId(1);
    const strayDir = path.join(c.dir, 'stray');
    mkdirSync(strayDir);
    writeFileSync(path.join(strayDir, 'cluster-id'), `${'ab'.repeat(16)}\n`);
    const stray = new LocalNode({ id, dataDir: strayDir, controller: c.controller.endpoint }, 'ignore');
    try {
      await stray.started;
      // Past two of the stray's reconnects (after 5 s without an answer, each).
      for (let i = 0, until = Date.now() + 12_000; Date.now() < until; i++) {
        assert.ok(c.controller.registry.isAlive(id), `${id} stays up (${i})`);
        await c.controller.writeFile(`/during-${i}`, testBytes(2 * STRIPE, `during-${i}`));
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.equal(c.controller.status().nodesUp, 3);
    } finally {
      stray.kill('SIGKILL');
      await stray.exited;
    }
    assert.ok(c.controller.registry.isAlive(id), `${id} is still up after the stray left`);
    assert.ok((await c.controller.readFile('/during-0')).equals(testBytes(2 * STRIPE, 'during-0')));
  });

  it('a node with no cluster recorded adopts the metadata\'s if it knows the node or the node holds nothing, and is refused if it holds chunks the metadata never knew', async () => {
    cluster = await TestCluster.start({ nodes: 2, controller: { stripeSize: STRIPE } });
    const c = cluster;
    await c.controller.writeFile('/old', testBytes(4 * STRIPE, 'old'));
    const ours = c.controller.status().clusterId;
    const unrecord = async () => {
      for (const i of [0, 1]) {
        await c.killNode(i);
        await c.waitUntilDown(i);
        rmSync(path.join(c.nodeDir(i), 'cluster-id'));
      }
    };
    // Nodes from before cluster ids, which this metadata knows (it was upgraded with them).
    await unrecord();
    c.startNode(0);
    c.startNode(1);
    await c.controller.waitForNodes(2, 15_000);
    await waitUntil(() => [0, 1].every((i) => recordedCluster(c.nodeDir(i)) === ours), 'both adopted the cluster');

    // The same nodes, holding chunks, facing new metadata that never knew them.
    await unrecord();
    await c.restartController({ dbPath: path.join(c.dir, 'new.sqlite') });
    c.startNode(0);
    c.startNode(1);
    await assert.rejects(c.controller.waitForNodes(2, 15_000),
      /refused: node node1 holds \d+ chunks and has recorded no cluster \(it is older than cluster ids\), and this controller's metadata \(cluster [0-9a-f]{32}\) has never known it; node node2 holds/);
    assert.equal(recordedCluster(c.nodeDir(0)), '');
    // A new, empty node adopts the new cluster.
    c.startNode(2);
    await waitUntil(() => c.controller.registry.isAlive('node3'), 'node3 is up');
    const theirs = c.controller.status().clusterId;
    await waitUntil(() => recordedCluster(c.nodeDir(2)) === theirs, 'the new node recorded the new cluster');
    assert.notEqual(theirs, ours);
  });

  it('`raidfs status` lists the nodes it refused, with the reason, and /metrics counts them', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-cluster-'));
    const controllers: ControllerProcess[] = [];
    let node: LocalNode | undefined;
    const controller = async (db: string, listen: string) => {
      controllers.push(await ControllerProcess.start(['--db', path.join(dir, db), '--listen', listen, '--rest', '127.0.0.1:0']));
      return controllers.at(-1)!;
    };
    try {
      const first = await controller('meta.sqlite', 'tcp://127.0.0.1:0');
      node = first.startNode(dir, 'node1');
      await first.waitForStatus((s) => s.nodesUp === 1, 'node1 is up');
      const ours = (await first.status()).clusterId;
      assert.equal(await first.stop(), 0);
      const second = await controller('typo.sqlite', first.endpoint);
      await second.waitForStatus((s) => s.refusedNodes.length === 1, 'node1 is refused');
      const shown = raidfs('status', '--rest', second.restUrl.replace('http://', ''));
      assert.equal(shown.status, 0, shown.stderr);
      assert.match(shown.stdout, /: 0 nodes up, 0 down;/);
      assert.match(shown.stdout, new RegExp(`^refused \\S+ ago: node node1 belongs to cluster ${ours}, not to this controller's cluster [0-9a-f]{32} \\(\\S`, 'm'));
      const metrics = await PrometheusText.scrape(second.restUrl);
      assert.equal(metrics.value('raidfs_nodes_refused'), 1);
      assert.equal(metrics.value('raidfs_nodes', { state: 'up' }), 0);
    } finally {
      await node?.stop(2_000);
      await Promise.all(controllers.map((c) => c.stop('SIGKILL')));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists a refused node until it has not tried again for a minute (it tries every few seconds while it runs)', () => {
    let now = 1_800_000_000_000;
    const membership = new ClusterMembership('a'.repeat(32), () => now);
    const stray = { nodeId: 'node2', address: 'elsewhere', clusterId: 'b'.repeat(32), chunkCount: 0 };
    assert.match(membership.refusal(stray, false) ?? '', /^node node2 belongs to cluster b{32}, not to this controller's cluster a{32}/);
    now += REFUSAL_LISTED_MS - 1;
    assert.deepEqual([membership.isRefused('node2'), membership.refusedNodes().map((n) => n.id)], [true, ['node2']]);
    membership.refusal(stray, false); // it tried again
    now += REFUSAL_LISTED_MS - 1;
    assert.ok(membership.isRefused('node2'));
    now += 2;
    assert.deepEqual([membership.isRefused('node2'), membership.refusedNodes()], [false, []], 'stopped a minute ago: no longer listed');
  });

  it('`raidfs up` on data whose metadata file was deleted exits 1 with the reason, and deletes nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-cluster-'));
    const data = path.join(dir, 'data');
    const args = ['up', '--no-mount', '--data', data, '--nodes', '2', '--listen', 'tcp://127.0.0.1:0', '--rest', '127.0.0.1:0'];
    try {
      const up = await startRaidfs(args);
      assert.equal((await fetch(`${up.restUrl}/fs/kept.bin`, { method: 'PUT', body: testBytes(300_000, 'up') })).status, 201);
      assert.equal(await up.stop(), 0);
      const nodeDirs = [path.join(data, 'node1'), path.join(data, 'node2')];
      const stored = await chunkFilesIn(nodeDirs);
      assert.equal(stored.length, 4);
      for (const name of await fs.readdir(data)) if (name.startsWith('meta.sqlite')) rmSync(path.join(data, name));

      const again = raidfs(...args);
      assert.equal(again.status, 1, again.stderr);
      assert.match(again.stderr, /^raidfs: only 0 of 2 storage nodes registered; refused: node node1 belongs to cluster [0-9a-f]{32}, not to this controller's cluster [0-9a-f]{32}; node node2 belongs/m);
      assert.deepEqual(await chunkFilesIn(nodeDirs), stored, 'every chunk is still there');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
