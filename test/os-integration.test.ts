/**
 * The OS side under native/: the fstab helper mount.raidfs, run exactly as mount(8)
 * runs it (`mount.raidfs CONFIG DIR -o OPTIONS`), mounts a real raidfs whose files
 * read back byte-exact, and `umount DIR` stops the daemon it started; bad options fail
 * with mount(8)'s exit codes and mount nothing. The systemd unit files pass
 * `systemd-analyze verify`, and the node's carries the malloc settings raidfs up gives
 * its nodes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalNode } from '../src/cli/local-nodes';
import { STORAGE_NODE_MALLOC_ENV } from '../src/node/allocator-settings';
import { waitUntil } from './helpers/data';
import { freePort, isMounted, pidAlive } from './helpers/host';
import { sh } from './helpers/mounted-raidfs';

const ROOT = path.resolve(__dirname, '../..');
const MOUNT_HELPER = path.join(ROOT, 'native/mount.raidfs');

describe('mount.raidfs, the fstab helper', () => {
  let dir: string;
  let mnt: string;
  let config: string;
  let restUrl: string;
  let nodes: LocalNode[] = [];
  const daemons: number[] = [];

  const mountHelper = (...args: string[]) => spawnSync('sh', [MOUNT_HELPER, ...args], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, RAIDFS_BIN: path.join(ROOT, 'bin/raidfs'), RAIDFS_MOUNT_LOG: path.join(dir, 'mount.log'), RAIDFS_LOG: 'warn' },
  });

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-fstab-'));
    mnt = path.join(dir, 'mnt');
    mkdirSync(mnt);
    const endpoint = `tcp://127.0.0.1:${await freePort()}`;
    config = path.join(dir, 'controller.json');
    const restPort = await freePort();
    restUrl = `http://127.0.0.1:${restPort}`;
    writeFileSync(config, JSON.stringify({ db: path.join(dir, 'meta.sqlite'), spool: path.join(dir, 'spool'), listen: endpoint, rest: `127.0.0.1:${restPort}`, 'node-timeout': '1500ms' }));
    nodes = [1, 2].map((i) => new LocalNode({ id: `node${i}`, dataDir: path.join(dir, `node${i}`), controller: endpoint }, 'ignore'));
  });

  after(async () => {
    for (const pid of daemons) if (pidAlive(pid)) process.kill(pid, 'SIGKILL');
    await sh(`fusermount -uz ${JSON.stringify(mnt)} 2>/dev/null`);
    await Promise.all(nodes.map((n) => n.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('mounts from an fstab-style call, serves files, and `umount` stops the daemon', async () => {
    const r = mountHelper(config, mnt, '-v', '-o', 'rw,_netdev,nofail,x-systemd.automount,cache-seconds=0');
    const pid = Number(/\(pid (\d+),/.exec(r.stdout)?.[1]);
    if (pid) daemons.push(pid);
    assert.equal(r.status, 0, r.stdout + r.stderr + readFileSync(path.join(dir, 'mount.log'), 'utf8'));
    assert.ok(pid > 0 && pidAlive(pid), r.stdout);
    assert.ok(isMounted(mnt), 'listed in /proc/mounts');
    await waitUntil(async () => (await (await fetch(`${restUrl}/status`)).json() as { nodes: Array<{ alive: boolean }> }).nodes.filter((n) => n.alive).length === 2, 'both nodes registered');

    const copy = await sh(`head -c 700000 /dev/urandom > ${dir}/src.bin && cp ${dir}/src.bin ${mnt}/a.bin && cmp ${dir}/src.bin ${mnt}/a.bin && stat -c %s ${mnt}/a.bin`);
    assert.equal(copy.code, 0, copy.stderr);
    assert.equal(copy.stdout.trim(), '700000');

    const umount = await sh(`umount ${JSON.stringify(mnt)}`);
    assert.equal(umount.code, 0, umount.stderr);
    await waitUntil(() => !pidAlive(pid), 'the daemon exits after umount', 15_000);
    assert.equal(isMounted(mnt), false);
    assert.match(readFileSync(path.join(dir, 'mount.log'), 'utf8'), /unmounted from outside/);
  });

  it('refuses bad calls with mount(8) exit codes and mounts nothing', () => {
    const cases: Array<{ args: string[]; status: number; says: RegExp }> = [
      { args: [config], status: 1, says: /usage: mount\.raidfs CONFIG MOUNTPOINT/ },
      { args: [path.join(dir, 'nope.json'), mnt], status: 1, says: /cannot read the config file/ },
      { args: [config, path.join(dir, 'no-such-dir')], status: 1, says: /mount point .* does not exist/ },
      { args: [config, mnt, '-o', 'ro'], status: 1, says: /read-only/ },
      { args: [config, mnt, '-o', 'frobnicate=1'], status: 32, says: /did not mount[\s\S]*unknown option '--frobnicate'/i },
    ];
    for (const { args, status, says } of cases) {
      const r = mountHelper(...args);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, says);
      assert.equal(isMounted(mnt), false);
    }
  });
});

describe('systemd units', () => {
  it('start a node with the malloc settings raidfs up gives its nodes', () => {
    const unit = readFileSync(path.join(ROOT, 'native/systemd/raidfs-node@.service'), 'utf8');
    const assignments = unit.split('\n').filter((line) => line.startsWith('Environment=')).flatMap((line) => line.slice('Environment='.length).split(' '));
    const malloc = Object.fromEntries(assignments.filter((a) => a.startsWith('MALLOC_')).map((a) => a.split('=')));
    assert.deepEqual(malloc, STORAGE_NODE_MALLOC_ENV);
  });

  const analyze = spawnSync('systemd-analyze', ['--version']);
  it('pass `systemd-analyze verify` (controller, and a node instance)', { skip: analyze.error ? 'systemd-analyze is not installed' : false }, () => {
    // A root with the units, the system's own targets and an executable at /usr/local/bin/raidfs.
    const root = mkdtempSync(path.join(os.tmpdir(), 'raidfs-units-'));
    try {
      mkdirSync(path.join(root, 'usr/local/bin'), { recursive: true });
      writeFileSync(path.join(root, 'usr/local/bin/raidfs'), '#!/bin/sh\n', { mode: 0o755 });
      cpSync('/lib/systemd/system', path.join(root, 'lib/systemd/system'), { recursive: true });
      cpSync(path.join(ROOT, 'native/systemd'), path.join(root, 'etc/systemd/system'), { recursive: true });
      const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, 'raidfs-controller.service', 'raidfs-node@1.service'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stderr.trim(), '', 'no warnings');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
