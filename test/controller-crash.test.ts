/**
 * kill -9 of the controller in the middle of a large `cp` into the mount: after a
 * restart on the same metadata, the file is the previous complete version (never a
 * partial one, and there although its close-time commit was never fsynced: a crash
 * of the process loses no commit), the nodes reconnect by themselves, and scrub
 * finds the parts the crashed upload left behind, which are then deleted. Everything runs as real
 * processes: `raidfs controller --mount`, three `raidfs node`s, `cp` and `cmp`.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalNode } from '../src/cli/local-nodes';
import { ControllerProcess } from './helpers/controller-process';
import { testBytes, waitUntil } from './helpers/data';
import { isMounted } from './helpers/host';
import { sh } from './helpers/mounted-raidfs';
import { PrometheusText } from './helpers/prometheus-text';

describe('controller crash mid-write', () => {
  let dir: string;
  let mnt: string;
  let controller: ControllerProcess | undefined;
  const nodes: LocalNode[] = [];

  const controllerArgs = (endpoint: string) => ['--db', path.join(dir, 'meta.sqlite'), '--mount', mnt, '--spool', path.join(dir, 'spool'),
    '--listen', endpoint, '--rest', '127.0.0.1:0', '--node-timeout', '1500ms', '--delete-delay', '0', '--sync-delay', '1h'];

  const chunksOnNodes = async () => {
    const counts = await Promise.all(nodes.map(async (n) => {
      const out = await sh(`find ${JSON.stringify(path.join(n.spec.dataDir, 'chunks'))} -type f | wc -l`);
      return Number(out.stdout.trim());
    }));
    return counts.reduce((a, b) => a + b, 0);
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-crash-'));
    mnt = path.join(dir, 'mnt');
    controller = await ControllerProcess.start(controllerArgs('tcp://127.0.0.1:0'));
    nodes.push(...await controller.startNodes(dir, 3));
  });

  after(async () => {
    await controller?.stop();
    await Promise.all(nodes.map((n) => n.stop(2_000)));
    if (isMounted(mnt)) await sh(`fusermount -uz ${JSON.stringify(mnt)}`);
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves the previous complete version and collects the orphans', async (t) => {
    const previous = path.join(dir, 'v1');
    const next = path.join(dir, 'v2');
    await fs.writeFile(previous, testBytes(3 << 20, 'v1'));
    assert.equal((await sh(`cp ${previous} ${mnt}/big.bin`)).code, 0);
    const metrics = await PrometheusText.scrape(controller!.restUrl);
    assert.ok(metrics.value('raidfs_metadata_unsynced_commits') >= 1, 'the commit of v1 at close is not fsynced yet');
    const committed = (await controller!.status()).parts.total;
    const committedChunks = await chunksOnNodes();
    assert.equal(committedChunks, committed * 2);
    await sh(`head -c 400M /dev/urandom > ${next}`);

    const cp = spawn('cp', [next, `${mnt}/big.bin`], { stdio: 'ignore' });
    const cpExit = new Promise<number | null>((resolve) => cp.once('exit', (code) => resolve(code)));
    await waitUntil(async () => (await chunksOnNodes()) >= committedChunks + 20, 'the new version is being uploaded', 60_000);
    const endpoint = controller!.endpoint;
    await controller!.stop('SIGKILL');
    const cpCode = await cpExit;
    t.diagnostic(`kill -9 of the controller with ${(await chunksOnNodes()) - committedChunks} chunks of the new version stored; cp exited ${cpCode}`);
    assert.notEqual(cpCode, 0, 'cp reports the failure');
    assert.equal((await sh(`fusermount -uz ${JSON.stringify(mnt)}`)).code, 0);

    controller = await ControllerProcess.start(controllerArgs(endpoint));
    await controller.waitForStatus((s) => s.nodesUp === 3, 'the nodes reconnect to the restarted controller');
    assert.equal((await sh(`cmp ${previous} ${mnt}/big.bin`)).code, 0, 'the mount shows the previous version');
    const res = await fetch(`${controller.restUrl}/fs/big.bin`);
    assert.equal(createHash('sha256').update(Buffer.from(await res.arrayBuffer())).digest('hex'),
      createHash('sha256').update(await fs.readFile(previous)).digest('hex'), 'REST serves the previous version');

    const scrub = await (await fetch(`${controller.restUrl}/scrub`, { method: 'POST' })).json() as { orphans: number; corrupt: number };
    assert.ok(scrub.orphans >= 20, `scrub found the crashed upload's parts: ${JSON.stringify(scrub)}`);
    assert.equal(scrub.corrupt, 0);
    await waitUntil(async () => (await chunksOnNodes()) === committedChunks, 'the orphans are deleted', 30_000);
    assert.equal((await sh(`cmp ${previous} ${mnt}/big.bin`)).code, 0);
  });
});
