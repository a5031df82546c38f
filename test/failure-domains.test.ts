/**
 * Copies on different file systems, with real nodes: two keep their data on the test
 * machine's disk and two on a tmpfs the test mounts (and unmounts, even on failure).
 * Every part must get one copy on each, the cluster's space counts each file
 * system once, and copies on their way to one node of the tmpfs count against the
 * other's room. (Placement's rules on their own, machines included, are in
 * placement.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestCluster } from './helpers/cluster';
import { testBytes, waitUntil } from './helpers/data';

const STRIPE = 64 * 1024;
const TMPFS_BYTES = 256 * 2 ** 20;

describe('copies across file systems (2 nodes on the disk, 2 on a tmpfs)', () => {
  let cluster: TestCluster;
  let tmpfs: string;

  before(async () => {
    tmpfs = mkdtempSync(path.join(os.tmpdir(), 'raidfs-tmpfs-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES}`, 'raidfs-test', tmpfs]);
    cluster = await TestCluster.start({ nodes: 2, controller: { stripeSize: STRIPE } });
    for (const index of [2, 3]) cluster.startNode(index, undefined, { dataDir: path.join(tmpfs, cluster.nodeId(index)) });
    await cluster.controller.waitForNodes(4, 15_000);
  });

  after(async () => {
    await cluster?.stop();
    execFileSync('umount', ['-l', tmpfs]);
    rmSync(tmpfs, { recursive: true, force: true });
  });

  it('puts one copy of every part on each file system', async () => {
    const onTmpfs = new Set([cluster.nodeId(2), cluster.nodeId(3)]);
    const files = [...Array(10).keys()].map((i) => ({ path: `/small${i}.txt`, data: testBytes(3000 + i, `small${i}`) }));
    files.push({ path: '/big.bin', data: testBytes(20 * STRIPE + 5, 'big') });
    for (const file of files) await cluster.controller.writeFile(file.path, file.data);
    let parts = 0;
    for (const file of files) {
      for (const part of cluster.controller.snapshot(file.path).parts) {
        parts += 1;
        assert.equal(part.nodes.filter((id) => onTmpfs.has(id)).length, 1, `${file.path} part ${part.idx}: copies on ${part.nodes.join(', ')}`);
      }
      assert.ok((await cluster.controller.readFile(file.path)).equals(file.data));
    }
    assert.equal(parts, 10 * 2 + 21);
  });

  it('counts each file system once in the cluster\'s space', async () => {
    const disk = statfsSync(cluster.dir);
    await waitUntil(() => cluster.controller.nodes().every((n) => n.volume !== null), 'every node reported its volume', 5_000);
    const volumes = new Set(cluster.controller.nodes().map((n) => n.volume!.id));
    assert.equal(volumes.size, 2);
    assert.equal(new Set(cluster.controller.nodes().map((n) => n.volume!.host)).size, 1);
    assert.equal(cluster.controller.status().capacityBytes, disk.blocks * disk.bsize + TMPFS_BYTES);
  });

  it('counts copies on their way to one node of a file system against its other nodes too', async () => {
    const { registry } = cluster.controller;
    const [node2, node3] = [cluster.nodeId(2), cluster.nodeId(3)];
    const onDisk = new Set([cluster.nodeId(0), cluster.nodeId(1)]);
    await waitUntil(() => cluster.controller.nodes().every((n) => n.volume !== null), 'every node reported its volume', 5_000);
    const tmpfsFree = Math.min(...cluster.controller.nodes().filter((n) => !onDisk.has(n.id)).map((n) => n.volume!.freeBytes));
    const MiB = 2 ** 20;
    assert.equal(registry.choose(1, 2 * MiB, onDisk).length, 1);
    // Copies on their way to node2 that take all but 1 MiB of the tmpfs leave no room
    // for a 2 MiB copy on node3, which reports the whole tmpfs free.
    registry.reserve(node2, tmpfsFree - MiB);
    try {
      assert.deepEqual(registry.choose(1, 2 * MiB, onDisk), []);
      assert.deepEqual(registry.choose(1, MiB / 2, new Set([...onDisk, node2])), [node3]);
    } finally {
      registry.release(node2, tmpfsFree - MiB);
    }
  });
});
