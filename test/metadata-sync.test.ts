/**
 * Lazy metadata commits (a file closed in the mount), on a real controller with real
 * storage-node processes and a real SQLite file: visible at once, fsynced within the
 * sync delay, made durable by any later fsynced commit that writes, synced before the
 * copies they doomed are deleted, and never lazy with a sync delay of 0. (That a crash
 * of the process loses none is controller-crash.test.ts; fsync(2) in the mount is
 * fuse-mount.test.ts.)
 */
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { TestCluster } from './helpers/cluster';
import { testBytes, waitUntil } from './helpers/data';

describe('lazy metadata commits', () => {
  let cluster: TestCluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });
  const start = async (syncDelayMs: number) => {
    cluster = await TestCluster.start({ nodes: 2, controller: { syncDelayMs, deleteDelayMs: 0 } });
    return cluster.controller;
  };

  it('are visible at once and fsynced within the sync delay', async () => {
    const controller = await start(300);
    const data = testBytes(10_000, 'lazy');
    await controller.writeFile('/lazy.bin', data, { lazy: true });
    assert.equal(controller.unsyncedCommits, 1); // before any wait on I/O, which lets the 300 ms timer run
    assert.ok((await controller.readFile('/lazy.bin')).equals(data));
    await waitUntil(() => controller.unsyncedCommits === 0, 'the sync timer ran', 5_000);
  });

  it('become durable with the next fsynced commit that writes, and with syncMetadata', async () => {
    const controller = await start(3600_000);
    await controller.writeFile('/a', testBytes(100, 'a'), { lazy: true });
    controller.createFile('/b');
    assert.equal(controller.unsyncedCommits, 2);
    controller.snapshot('/a');
    assert.equal(controller.unsyncedCommits, 2, 'a read-only transaction syncs nothing');
    controller.mkdir('/dir');
    assert.equal(controller.unsyncedCommits, 0, 'the fsynced mkdir carried both');
    await controller.writeFile('/c', testBytes(100, 'c'), { lazy: true });
    assert.equal(controller.unsyncedCommits, 1);
    controller.syncMetadata();
    assert.equal(controller.unsyncedCommits, 0);
  });

  it('are synced before the copies they doomed are deleted', async () => {
    const controller = await start(3600_000);
    await controller.writeFile('/f', testBytes(5_000, 'v1'), { lazy: true });
    await controller.writeFile('/f', testBytes(5_000, 'v2'), { lazy: true });
    assert.equal(controller.unsyncedCommits, 2);
    assert.equal(await controller.collectGarbage(), 4, 'v1: two halves, two copies each');
    assert.equal(controller.unsyncedCommits, 0, 'the commit that doomed them was synced first');
    assert.ok((await controller.readFile('/f')).equals(testBytes(5_000, 'v2')));
  });

  it('are never lazy with a sync delay of 0', async () => {
    const controller = await start(0);
    await controller.writeFile('/a', testBytes(100, 'a'), { lazy: true });
    controller.createFile('/b');
    assert.equal(controller.unsyncedCommits, 0);
  });
});
