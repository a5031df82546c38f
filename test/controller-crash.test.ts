/**
 * kill -9 of the controller while programs write through the mount, then a restart on
 * the same metadata. In the middle of a large `cp` over a file: the file is the
 * previous complete version (never a partial one, and there although its close-time
 * commit was never fsynced: a crash of the process loses no commit), the nodes
 * reconnect by themselves, and scrub finds the parts the crashed upload left behind,
 * which are then deleted. While a program writes a new file it has not closed yet:
 * the name is gone after the restart (and the restart logs it), while files finished
 * before the crash, empty ones included, are there with their bytes and modes.
 * Everything runs as real processes: `raidfs controller --mount`, three `raidfs
 * node`s, `cp`, `cmp`, `touch` and a writer that never closes.
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

/**
 * `raidfs controller --mount` and three real nodes in a temp directory of their own,
 * started before the tests of the describe that calls crashRig(). crash() kills the
 * controller with SIGKILL; restart() unmounts the dead mount and starts the controller
 * again on the same metadata, spool and node endpoint, and waits for the nodes to
 * reconnect. After the tests, failed ones included, everything it started is stopped
 * by PID, the mount unmounted and the directory removed.
 */
class CrashRig {
  dir = '';
  mnt = '';
  controller?: ControllerProcess;
  readonly nodes: LocalNode[] = [];
  private endpoint = 'tcp://127.0.0.1:0';

  private args(): string[] {
    return ['--db', path.join(this.dir, 'meta.sqlite'), '--mount', this.mnt, '--spool', path.join(this.dir, 'spool'),
      '--listen', this.endpoint, '--rest', '127.0.0.1:0', '--node-timeout', '1500ms', '--delete-delay', '0', '--sync-delay', '1h'];
  }

  async start(): Promise<void> {
    this.dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-crash-'));
    this.mnt = path.join(this.dir, 'mnt');
    this.controller = await ControllerProcess.start(this.args());
    this.endpoint = this.controller.endpoint;
    this.nodes.push(...await this.controller.startNodes(this.dir, 3));
  }

  /** kill -9 of the controller; its mount answers ENOTCONN until restart(). */
  async crash(): Promise<void> {
    await this.controller!.stop('SIGKILL');
  }

  /** Starts the controller again on the same metadata (with log level `log`, if given) once its dead mount is gone. */
  async restart(options: { log?: string } = {}): Promise<ControllerProcess> {
    assert.equal((await sh(`fusermount -uz ${JSON.stringify(this.mnt)}`)).code, 0);
    this.controller = await ControllerProcess.start(this.args(), options);
    await this.controller.waitForStatus((s) => s.nodesUp === 3, 'the nodes reconnect to the restarted controller');
    return this.controller;
  }

  async stop(): Promise<void> {
    await this.controller?.stop();
    await Promise.all(this.nodes.map((n) => n.stop(2_000)));
    if (isMounted(this.mnt)) await sh(`fusermount -uz ${JSON.stringify(this.mnt)}`);
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A CrashRig started before, and stopped after, the tests of the calling describe. */
function crashRig(): CrashRig {
  const rig = new CrashRig();
  before(() => rig.start());
  after(() => rig.stop());
  return rig;
}

/** A program that creates the file named by its argument, writes 64 KiB to it, says "written" and keeps it open until killed. */
const UNCLOSED_WRITER = `
  const fs = require('node:fs');
  const fd = fs.openSync(process.argv[1], 'wx');
  fs.writeSync(fd, Buffer.alloc(65536, 7));
  process.stdout.write('written\\n');
  setInterval(() => fs.fstatSync(fd), 60_000);
`;

describe('controller crash mid-write', () => {
  const rig = crashRig();

  const chunksOnNodes = async () => {
    const counts = await Promise.all(rig.nodes.map(async (n) => {
      const out = await sh(`find ${JSON.stringify(path.join(n.spec.dataDir, 'chunks'))} -type f | wc -l`);
      return Number(out.stdout.trim());
    }));
    return counts.reduce((a, b) => a + b, 0);
  };

  it('leaves the previous complete version and collects the orphans', async (t) => {
    const { dir, mnt } = rig;
    const previous = path.join(dir, 'v1');
    const next = path.join(dir, 'v2');
    await fs.writeFile(previous, testBytes(3 << 20, 'v1'));
    assert.equal((await sh(`cp ${previous} ${mnt}/big.bin`)).code, 0);
    const metrics = await PrometheusText.scrape(rig.controller!.restUrl);
    assert.ok(metrics.value('raidfs_metadata_unsynced_commits') >= 1, 'the commit of v1 at close is not fsynced yet');
    const committed = (await rig.controller!.status()).parts.total;
    const committedChunks = await chunksOnNodes();
    assert.equal(committedChunks, committed * 2);
    await sh(`head -c 400M /dev/urandom > ${next}`);

    const cp = spawn('cp', [next, `${mnt}/big.bin`], { stdio: 'ignore' });
    const cpExit = new Promise<number | null>((resolve) => cp.once('exit', (code) => resolve(code)));
    await waitUntil(async () => (await chunksOnNodes()) >= committedChunks + 20, 'the new version is being uploaded', 60_000);
    await rig.crash();
    const cpCode = await cpExit;
    t.diagnostic(`kill -9 of the controller with ${(await chunksOnNodes()) - committedChunks} chunks of the new version stored; cp exited ${cpCode}`);
    assert.notEqual(cpCode, 0, 'cp reports the failure');

    const controller = await rig.restart();
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

describe('controller crash while a new file is written', () => {
  const rig = crashRig();

  it('removes the file being created, and keeps the files finished before it, empty ones included', async (t) => {
    const at = (name: string) => path.join(rig.mnt, name);
    const finished = testBytes(100_000, 'finished');
    await fs.writeFile(at('finished.bin'), finished);
    assert.equal((await sh(`ln ${JSON.stringify(at('finished.bin'))} ${JSON.stringify(at('finished-link'))}`)).code, 0);
    assert.equal((await sh(`touch ${JSON.stringify(at('touched'))}`)).code, 0);
    // Created, made private and truncated before its first close: a finished empty file once closed.
    const priv = JSON.stringify(at('private'));
    assert.equal((await sh(`exec 3>${priv} && chmod 600 ${priv} && truncate -s 0 ${priv} && exec 3>&-`)).code, 0);
    const put = await fetch(`${rig.controller!.restUrl}/fs/rest-empty`, { method: 'PUT', body: '' });
    assert.equal(put.status, 201, 'an empty REST upload');

    const writer = spawn(process.execPath, ['-e', UNCLOSED_WRITER, at('being-written.bin')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const writerExit = new Promise((resolve) => writer.once('exit', resolve));
    t.after(() => { writer.kill('SIGKILL'); });
    let said = '';
    writer.stdout.on('data', (d) => { said += d; });
    await waitUntil(() => said.includes('written'), 'the writer has written without closing');
    assert.equal((await fs.stat(at('being-written.bin'))).size, 65536, 'the new file is there while being written');
    assert.equal((await sh(`ln ${JSON.stringify(at('being-written.bin'))} ${JSON.stringify(at('being-written-link'))}`)).code, 0);

    await rig.crash();
    writer.kill('SIGKILL');
    await writerExit;
    const restarted = await rig.restart({ log: 'warn' });

    assert.deepEqual((await fs.readdir(rig.mnt)).sort(), ['finished-link', 'finished.bin', 'private', 'rest-empty', 'touched'],
      'the file being written is gone under both its names; every finished file is there');
    assert.deepEqual(await fs.readFile(at('finished.bin')), finished);
    assert.equal((await fs.stat(at('finished-link'))).nlink, 2);
    assert.deepEqual(await fs.readFile(at('finished-link')), finished);
    assert.equal((await fs.stat(at('touched'))).size, 0);
    const privStat = await fs.stat(at('private'));
    assert.deepEqual([privStat.size, privStat.mode & 0o7777], [0, 0o600]);
    assert.equal((await fs.stat(at('rest-empty'))).size, 0);
    const removal = restarted.process.stderr.split('\n').filter((line) => line.includes('created but never written before the controller stopped'));
    assert.equal(removal.length, 1, 'one warning says what the restart removed');
    assert.match(removal[0], /\/being-written\.bin/);
  });
});
