/**
 * The raidfs command line as a user runs it: help and usage errors with their exit
 * codes; `raidfs up` starting the controller plus 4 storage nodes (5 processes, the
 * nodes with their malloc settings unless the user has their own) and stopping all
 * of them on Ctrl-C (SIGINT), even one sent the moment it says it is ready; a node
 * of `raidfs up` killed with -9 started again (one stopped on purpose left down); a
 * `raidfs up` killed with -9 taking its nodes with it; a node refused on a data
 * directory in use, and a stale lock taken over; a second controller refused on a
 * metadata file in use; a metadata file, data directory, spool or mount point raidfs
 * cannot use (a file, a non-empty mount point, a path in /proc where mkdir fails) and
 * a working directory since removed refused at once with one line naming it and what
 * is wrong; endpoint options checked before anything starts.
 */
import assert from 'node:assert/strict';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { CLI_ENTRY } from '../src/cli/local-nodes';
import { STORAGE_NODE_MALLOC_ENV } from '../src/node/allocator-settings';
import { testBytes, waitUntil } from './helpers/data';
import { freePort, isMounted, pidAlive, procStat } from './helpers/host';
import { raidfs, raidfsUnprivileged, raidfsWithEnv } from './helpers/raidfs-cli';
import { ReadyProcess } from './helpers/ready-process';

function childrenOf(pid: number): number[] {
  return readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((p) => {
    try {
      return Number(procStat(p)[1]) === pid;
    } catch {
      return false;
    }
  });
}

/** `raidfs up` runs on a fresh directory; cleanUp() stops what they started and removes it. */
/** `raidfs up`'s arguments for a test run: its own mount point and data, `nodes` nodes, free ports. */
function upArgs(mnt: string, data: string, nodes: number): string[] {
  return ['up', mnt, '--data', data, '--nodes', String(nodes), '--listen', 'tcp://127.0.0.1:0', '--rest', '127.0.0.1:0'];
}

class UpRuns {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-up-'));
  readonly mnt = path.join(this.dir, 'mnt');
  readonly data = path.join(this.dir, 'data');
  up?: ReadyProcess;
  /** The node processes of the last run started. */
  nodes: number[] = [];

  constructor(private readonly nodeCount: number) {}

  /** Starts `raidfs up` with this environment plus `env`. */
  async start(env: NodeJS.ProcessEnv = {}): Promise<ReadyProcess> {
    this.up = await ReadyProcess.start(CLI_ENTRY, upArgs(this.mnt, this.data, this.nodeCount), /raidfs ready/,
      { env: { ...process.env, RAIDFS_LOG: 'warn', ...env }, timeoutMs: 20_000 });
    this.nodes = childrenOf(this.up.pid);
    return this.up;
  }

  async cleanUp(): Promise<void> {
    await this.up?.stop('SIGKILL');
    this.nodes.filter(pidAlive).forEach((pid) => process.kill(pid, 'SIGKILL'));
    if (isMounted(this.mnt)) spawnSync('fusermount', ['-uz', this.mnt]);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

describe('raidfs command line', () => {
  it('prints help with exit 0 and rejects misuse with exit 2', () => {
    const help = raidfs('--help');
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Commands:[\s\S]*up[\s\S]*controller[\s\S]*node/);
    const upHelp = raidfs('up', '--help');
    assert.equal(upHelp.status, 0);
    assert.match(upHelp.stdout, /--nodes VALUE.*\(default: 4\)/);
    for (const args of [['frobnicate'], ['node'], ['up', '--no-such-flag'], ['up', '--stripe-size', 'lots'], ['up', '--nodes', '0']]) {
      const r = raidfs(...args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^raidfs/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });

  it('a ZeroMQ endpoint that is malformed or has a port out of range is exit 2 naming the option and what is wrong, before anything is made', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-endpoints-'));
    const data = path.join(dir, 'never');
    try {
      const cases: Array<{ args: string[]; says: string }> = [
        { args: ['controller', '--db', path.join(data, 'meta.sqlite'), '--no-rest', '--listen', 'tcp://127.0.0.1:99999'], says: '--listen tcp://127.0.0.1:99999: port 99999 is out of range 0-65535' },
        { args: ['controller', '--db', path.join(data, 'meta.sqlite'), '--no-rest', '--listen', 'tcp://127.0.0.1:70000'], says: '--listen tcp://127.0.0.1:70000: port 70000 is out of range 0-65535' },
        { args: ['controller', '--db', path.join(data, 'meta.sqlite'), '--no-rest', '--listen', 'tcp://127.0.0.1:-5'], says: '--listen tcp://127.0.0.1:-5: port -5 is out of range 0-65535' },
        { args: ['controller', '--db', path.join(data, 'meta.sqlite'), '--no-rest', '--listen', '127.0.0.1:5557'], says: '--listen 127.0.0.1:5557: malformed endpoint: expected tcp://HOST:PORT' },
        { args: ['up', '--data', data, '--no-rest', '--listen', 'tcp://127.0.0.1:65536'], says: '--listen tcp://127.0.0.1:65536: port 65536 is out of range 0-65535' },
        { args: ['up', '--data', data, '--no-rest', '--listen', 'tcp://::1:5557'], says: '--listen tcp://::1:5557: malformed endpoint: an IPv6 address goes in brackets' },
        { args: ['node', '--data', data, '--controller', 'bogus'], says: '--controller bogus: malformed endpoint: expected tcp://HOST:PORT' },
        { args: ['node', '--data', data, '--controller', 'tcp://127.0.0.1:99999'], says: '--controller tcp://127.0.0.1:99999: port 99999 is out of range 1-65535' },
        { args: ['node', '--data', data, '--controller', 'tcp://127.0.0.1:0'], says: '--controller tcp://127.0.0.1:0: port 0 is out of range 1-65535' },
        { args: ['node', '--data', data, '--controller', 'tcp://127.0.0.1:port'], says: '--controller tcp://127.0.0.1:port: malformed endpoint: the port "port" is not a number' },
      ];
      for (const { args, says } of cases) {
        const r = raidfsWithEnv({ RAIDFS_LOG: 'error' }, ...args);
        assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.ok(r.stderr.startsWith(`raidfs ${args[0]}: ${says}`), r.stderr);
        assert.match(r.stderr, /^[^\n]+\nRun `raidfs \w+ --help` for usage\.\n$/);
        assert.equal(readdirSync(dir).length, 0, 'nothing made');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`raidfs up` runs 5 processes with mount and REST, and stops them all on Ctrl-C', async () => {
    const runs = new UpRuns(4);
    try {
      // A malloc setting of the user's own wins over the nodes' default; the other is added.
      const userTrim = String(48 * 1024 * 1024);
      const up = await runs.start({ MALLOC_TRIM_THRESHOLD_: userTrim });
      const out = () => up.stdout;
      const nodes = runs.nodes;
      assert.equal(nodes.length, 4, 'controller + 4 node processes');
      // Each node in a process group of its own: a terminal's Ctrl-C reaches raidfs up
      // alone, which stops the nodes after the controller.
      const groupOf = (pid: number) => procStat(pid)[2];
      for (const pid of nodes) assert.notEqual(groupOf(pid), groupOf(up.pid), `node ${pid} is not in raidfs up's process group`);
      const expected = [
        `MALLOC_MMAP_THRESHOLD_=${process.env.MALLOC_MMAP_THRESHOLD_ ?? STORAGE_NODE_MALLOC_ENV.MALLOC_MMAP_THRESHOLD_}`,
        `MALLOC_TRIM_THRESHOLD_=${userTrim}`,
      ];
      for (const pid of nodes) {
        const environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        assert.deepEqual(environ.filter((v) => v.startsWith('MALLOC_')).sort(), expected, `node ${pid}'s malloc settings`);
      }
      assert.match(out(), /4 storage nodes/);
      assert.match(out(), /mounted at /);
      const rest = /REST API on (\S+?),/.exec(out())?.[1];
      assert.deepEqual(await (await fetch(`${rest}/`)).json(), { message: 'Hello World!' });
      assert.equal(await up.stop('SIGINT'), 0);
      assert.match(out(), /stopped/);
      assert.deepEqual(nodes.filter(pidAlive), [], 'every node process stopped');
      assert.ok(!isMounted(runs.mnt), 'unmounted');
    } finally {
      await runs.cleanUp();
    }
  });

  it('`raidfs up` stopped by a SIGINT the moment its ready line appears still stops cleanly', { timeout: 90_000 }, async () => {
    // A script that waits for the ready line and then signals must find the handler in
    // place: before, the signal could arrive first and kill the process uncleaned
    // (13 of 30 such runs), leaving a mount behind.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-up-signal-'));
    try {
      for (let i = 0; i < 8; i++) {
        const up = spawn(process.execPath, [CLI_ENTRY, ...upArgs(path.join(dir, 'mnt'), path.join(dir, `data${i}`), 2)],
          { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAIDFS_LOG: 'warn' } });
        try {
          let out = '';
          let signalled = false;
          up.stdout!.on('data', (d) => {
            out += d;
            if (!signalled && out.includes('raidfs ready:')) {
              signalled = true;
              up.kill('SIGINT');
            }
          });
          const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => up.once('exit', (c, s) => resolve([c, s])));
          assert.deepEqual({ code, signal, signalled }, { code: 0, signal: null, signalled: true }, out);
          assert.match(out, /raidfs: stopped/);
          assert.ok(!isMounted(path.join(dir, 'mnt')), 'unmounted');
        } finally {
          if (up.exitCode === null && up.signalCode === null) up.kill('SIGKILL');
          if (isMounted(path.join(dir, 'mnt'))) spawnSync('fusermount', ['-uz', path.join(dir, 'mnt')]);
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`raidfs up` stopped while files are being written commits none of them: a new file is gone, a rewritten one keeps its content', { timeout: 90_000 }, async () => {
    // Before, the new file stayed behind, empty: the metadata closed while its handle was open.
    const runs = new UpRuns(2);
    const writer = path.join(runs.dir, 'writer.js');
    writeFileSync(writer, `
      const fs = require('fs');
      const fd = fs.openSync(process.argv[2], 'w');
      fs.writeSync(fd, Buffer.alloc(3 << 20, 7));
      console.log('written');
      setInterval(() => {
        try { fs.writeSync(fd, Buffer.alloc(64 << 10, 7)); } catch (err) { console.log(err.code); process.exit(1); }
      }, 20);`);
    const writers: ReadyProcess[] = [];
    try {
      const up = await runs.start();
      writeFileSync(path.join(runs.mnt, 'old'), 'original\n');
      for (const name of ['new', 'old']) writers.push(await ReadyProcess.start(writer, [path.join(runs.mnt, name)], /written/, { timeoutMs: 20_000 }));
      assert.equal(await up.stop('SIGINT'), 0, up.stderr);
      for (const w of writers) {
        assert.equal(await Promise.race([w.exited, new Promise((r) => setTimeout(r, 10_000, 'still running'))]), 1, 'the writer fails');
        assert.match(w.stdout, /ENOTCONN/);
      }
      await runs.start();
      assert.deepEqual(readdirSync(runs.mnt), ['old'], 'the file being created is not there');
      assert.equal(readFileSync(path.join(runs.mnt, 'old'), 'utf8'), 'original\n');
      assert.match(up.stderr, /files being written when the mount went away were left as last committed/);
    } finally {
      await Promise.all(writers.map((w) => w.stop('SIGKILL')));
      await runs.cleanUp();
    }
  });

  it('of two nodes started at once on one data directory, exactly one runs', { timeout: 60_000 }, async () => {
    const data = mkdtempSync(path.join(os.tmpdir(), 'raidfs-race-'));
    const started: ChildProcess[] = [];
    try {
      for (let round = 0; round < 5; round++) {
        const pair = [0, 1].map(() => spawn(process.execPath, [CLI_ENTRY, 'node', '--data', data, '--controller', 'tcp://127.0.0.1:1'],
          { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RAIDFS_LOG: 'error' } }));
        started.push(...pair);
        const stderr = pair.map((child) => { let text = ''; child.stderr!.on('data', (d) => { text += d; }); return () => text; });
        // 'close' comes once the process has exited and its stderr is drained.
        const exits = pair.map((child) => new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code))));
        const first = await Promise.race(exits.map((exit, i) => exit.then((code) => ({ i, code }))));
        const [loser, winner] = [pair[first.i], pair[1 - first.i]];
        assert.equal(first.code, 1, `round ${round}: the second node exits 1`);
        await new Promise((resolve) => setTimeout(resolve, 300)); // the winner had time to fail too, if it would
        assert.match(stderr[first.i](), new RegExp(`data directory .* is in use by process ${winner.pid} \\(a running raidfs node\\)`));
        assert.equal(winner.exitCode, null, `round ${round}: the first node keeps running (loser ${loser.pid})`);
        winner.kill('SIGKILL');
        await exits[1 - first.i];
      }
    } finally {
      for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('`raidfs up` whose own node cannot start exits 1 with the node\'s reason, promptly, and stops what it started', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-up-fails-'));
    const data = path.join(dir, 'data');
    const port = await freePort();
    // A node already runs on node1's data directory, as node1, and connects where `up` will
    // listen: it registered as node1 with up's controller, which took it for its own
    // node1 (that had exited: "in use by process N") and said ready.
    const holder = spawn(process.execPath, [CLI_ENTRY, 'node', '--id', 'node1', '--data', path.join(data, 'node1'), '--controller', `tcp://127.0.0.1:${port}`],
      { stdio: 'ignore', env: { ...process.env, RAIDFS_LOG: 'error' } });
    const runningOn = (node: string) => readdirSync('/proc').filter((d) => /^\d+$/.test(d)).map(Number).filter((pid) => {
      try {
        return pid !== holder.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(path.join(data, node));
      } catch {
        return false;
      }
    });
    try {
      await waitUntil(() => existsSync(path.join(data, 'node1', 'node-id')), 'the first node holds node1\'s data directory', 10_000);
      const started = Date.now();
      const up = spawnSync(process.execPath, [CLI_ENTRY, 'up', '--no-mount', '--no-rest', '--data', data, '--nodes', '2', '--listen', `tcp://127.0.0.1:${port}`],
        { encoding: 'utf8', timeout: 30_000, env: { ...process.env, RAIDFS_LOG: 'error' } });
      assert.equal(up.status, 1, up.stdout + up.stderr);
      assert.doesNotMatch(up.stdout, /ready/);
      assert.ok(up.stderr.endsWith(`raidfs: storage node node1 could not start: data directory ${path.join(data, 'node1')} is in use by process ${holder.pid} (a running raidfs node); stop it first\n`), up.stderr);
      assert.ok(Date.now() - started < 10_000, `failed after ${Date.now() - started} ms, not at once`);
      await waitUntil(() => runningOn('node2').length === 0, 'the node up started (node2) stopped with it', 10_000);
      assert.equal(holder.exitCode, null, 'the node up did not start is left alone');
    } finally {
      holder.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`raidfs up` starts a node that was killed -9 again on its data, and leaves one stopped with SIGTERM down', { timeout: 60_000 }, async () => {
    const runs = new UpRuns(3);
    try {
      const up = await runs.start();
      const rest = /REST API on (\S+?),/.exec(up.stdout)?.[1];
      const nodesDown = async () => ((await (await fetch(`${rest}/status`)).json()) as { nodesDown: number }).nodesDown;
      const body = testBytes(700_000, 'kept');
      assert.equal((await fetch(`${rest}/fs/kept.bin`, { method: 'PUT', body })).status, 201);
      const [victim, ...others] = runs.nodes;
      process.kill(victim, 'SIGKILL');
      await waitUntil(async () => childrenOf(up.pid).length === 3 && !pidAlive(victim) && (await nodesDown()) === 0, 'the killed node runs and is up again', 20_000);
      runs.nodes = childrenOf(up.pid);
      const [restarted] = runs.nodes.filter((pid) => !others.includes(pid));
      assert.notEqual(restarted, victim);
      assert.ok(readFileSync(`/proc/${restarted}/cmdline`, 'utf8').split('\0').includes(path.join(runs.data, 'node1')), 'on the killed node\'s data directory');
      assert.ok(Buffer.from(await (await fetch(`${rest}/fs/kept.bin`)).arrayBuffer()).equals(body));

      process.kill(others[0], 'SIGTERM');
      await waitUntil(() => !pidAlive(others[0]), 'the node stopped with SIGTERM exits', 10_000);
      await new Promise((resolve) => setTimeout(resolve, 4_000)); // twice the first restart delay
      assert.deepEqual(childrenOf(up.pid).sort(), [restarted, others[1]].sort(), 'a node stopped on purpose stays stopped');
      assert.equal(await nodesDown(), 1);
      assert.equal(await up.stop('SIGINT'), 0);
      assert.deepEqual(runs.nodes.filter(pidAlive), [], 'every node process stopped');
    } finally {
      await runs.cleanUp();
    }
  });

  it('`raidfs up` killed -9 takes its nodes with it; a data directory or metadata file in use is refused, a stale lock taken over', async () => {
    const runs = new UpRuns(2);
    const data = runs.data;
    try {
      const up = await runs.start();
      const nodes = runs.nodes;
      assert.equal(nodes.length, 2);
      const intruder = raidfs('node', '--data', path.join(data, 'node1'), '--controller', 'tcp://127.0.0.1:1');
      assert.equal(intruder.status, 1, 'a second node on a data directory in use must not start');
      assert.match(intruder.stderr, /data directory .*node1 is in use by process \d+/);
      const metadata = path.join(data, 'meta.sqlite');
      const rival = raidfs('controller', '--db', metadata, '--listen', 'tcp://127.0.0.1:0', '--no-rest');
      assert.equal(rival.status, 1, 'a second controller on a metadata file in use must not start');
      assert.match(rival.stderr, new RegExp(`metadata file .*meta\\.sqlite is in use by another raidfs controller \\(process ${up.pid}\\)`));
      await up.stop('SIGKILL');
      await waitUntil(() => nodes.every((pid) => !pidAlive(pid)), 'the nodes of the killed raidfs up have exited', 10_000);
      // The locks went with the killed processes. A LOCK in the old format (a text file
      // naming a PID, which no lock of the OS backed) is replaced.
      writeFileSync(path.join(data, 'node1', 'LOCK'), `${spawnSync('true').pid}\n`);
      const again = await runs.start(); // also recovers the mount the killed one left behind
      assert.equal(runs.nodes.length, 2, 'both nodes started again on their directories');
      assert.equal(await again.stop('SIGINT'), 0);
    } finally {
      await runs.cleanUp();
    }
  });

  it('a mount point served by a running raidfs, answering or stopped, is refused, and that raidfs keeps serving it', { timeout: 90_000 }, async () => {
    const runs = new UpRuns(2);
    try {
      const up = await runs.start();
      writeFileSync(path.join(runs.mnt, 'kept.txt'), 'kept\n');
      const rival = () => raidfsWithEnv({ RAIDFS_LOG: 'error' }, 'up', runs.mnt, '--data', path.join(runs.dir, 'rival'), '--nodes', '2',
        '--listen', 'tcp://127.0.0.1:0', '--no-rest');
      const answering = rival();
      assert.equal(answering.status, 1, answering.stderr);
      assert.equal(answering.stderr, `raidfs: the mount point ${runs.mnt} is in use by a running file system; stop it (fusermount -u ${runs.mnt}) or choose another mount point\n`);
      process.kill(up.pid, 'SIGSTOP');
      let stopped: ReturnType<typeof rival>;
      try {
        stopped = rival();
      } finally {
        process.kill(up.pid, 'SIGCONT');
      }
      assert.equal(stopped.status, 1, stopped.stderr);
      assert.match(stopped.stderr, /^raidfs: the mount point .* holds a FUSE mount whose daemon does not answer \(stopped or hung\)/);
      assert.equal(readFileSync(path.join(runs.mnt, 'kept.txt'), 'utf8'), 'kept\n', 'the first raidfs still serves its mount');
      assert.ok(pidAlive(up.pid));
      assert.equal(await up.stop('SIGINT'), 0);
    } finally {
      await runs.cleanUp();
    }
  });

  it('a metadata file, data directory, spool or mount point that cannot be used is exit 1 and one line naming it and what is wrong', { timeout: 60_000 }, () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-paths-'));
    chmodSync(dir, 0o755); // reachable by the unprivileged user below
    const aFile = path.join(dir, 'a-file');
    writeFileSync(aFile, 'not a directory');
    const notDatabase = path.join(dir, 'notes.txt');
    writeFileSync(notDatabase, 'not a database either, and long enough to be read as one\n'.repeat(20));
    const readOnly = path.join(dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    const controller = ['controller', '--listen', 'tcp://127.0.0.1:0', '--no-rest', '--db'];
    /** The run failed with exit 1 and exactly `line` on stderr: no stack trace, nothing started. */
    const refused = (run: { status: number | null; stderr: string }, line: string) => {
      assert.equal(run.status, 1, run.stderr);
      assert.equal(run.stderr, `raidfs: ${line}\n`);
    };
    try {
      refused(raidfs(...controller, path.join(aFile, 'meta.sqlite')), `the directory of the metadata file ${aFile} is a file, not a directory`);
      refused(raidfs(...controller, path.join(aFile, 'x', 'meta.sqlite')),
        `cannot make the directory of the metadata file ${path.join(aFile, 'x')}: ${aFile} is a file, not a directory`);
      refused(raidfs(...controller, dir), `cannot open the metadata file ${dir}: it is a directory`);
      refused(raidfs(...controller, notDatabase), `cannot open the metadata file ${notDatabase}: it is not a SQLite database`);
      refused(raidfsUnprivileged(...controller, path.join(readOnly, 'meta.sqlite')),
        `cannot open the metadata file ${path.join(readOnly, 'meta.sqlite')}: ${readOnly} is not writable (permission denied)`);
      refused(raidfs('up', path.join(dir, 'mnt'), '--data', aFile, '--nodes', '1', '--replicas', '1', '--listen', 'tcp://127.0.0.1:0', '--no-rest'),
        `the data directory ${aFile} is a file, not a directory`);
      const up = raidfsWithEnv({ RAIDFS_LOG: 'error' }, 'up', aFile, '--data', path.join(dir, 'data'), '--nodes', '1', '--replicas', '1', '--listen', 'tcp://127.0.0.1:0', '--no-rest');
      refused(up, `the mount point ${aFile} is a file, not a directory`);
      assert.equal(readFileSync(aFile, 'utf8'), 'not a directory');
      refused(raidfsWithEnv({ RAIDFS_LOG: 'error' }, 'node', '--data', aFile, '--controller', 'tcp://127.0.0.1:1'), `the data directory ${aFile} is a file, not a directory`);
      refused(raidfsWithEnv({ RAIDFS_LOG: 'error' }, ...controller, path.join(dir, 'c', 'meta.sqlite'), '--mount', path.join(dir, 'c', 'mnt'), '--spool', aFile),
        `the spool directory ${aFile} is a file, not a directory`);
      // libfuse refuses it ("fuse: mountpoint is not empty", then fuse-native's "fuse failed"): said before anything starts.
      const full = path.join(dir, 'full');
      mkdirSync(full);
      writeFileSync(path.join(full, 'kept.txt'), 'mine');
      refused(raidfsWithEnv({ RAIDFS_LOG: 'error' }, 'up', full, '--data', path.join(dir, 'data'), '--nodes', '1', '--replicas', '1', '--listen', 'tcp://127.0.0.1:0', '--no-rest'),
        `the mount point ${full} is not empty (1 entry, e.g. "kept.txt"): mount on an empty directory, or empty this one`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a directory that mkdir cannot make although its parent exists (in /proc), or a working directory since removed, is exit 1 and one line, at once', () => {
    const started = Date.now();
    /** Exit 1 and one line matching `line`, within seconds (Node's recursive mkdir spins forever on /proc). */
    const refused = (run: { status: number | null; stderr: string }, line: RegExp) => {
      assert.equal(run.status, 1, run.stderr);
      assert.match(run.stderr, line);
      assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
    };
    // Root may write in /proc, where mkdir fails with ENOENT; another user may not.
    const cannotMake = (what: string, dir: string) => new RegExp(`^raidfs: cannot make the ${what} ${dir}: ${path.dirname(dir)} `
      + `(does not let a directory be made in it \\(mkdir ${dir}: ENOENT, no such file or directory\\)|is not writable \\(permission denied\\))\n$`);
    refused(raidfsWithEnv({ RAIDFS_LOG: 'error' }, 'up', '/proc/raidfs-test-mnt', '--data', '/proc/raidfs-test-data', '--nodes', '1', '--replicas', '1', '--listen', 'tcp://127.0.0.1:0', '--no-rest'),
      cannotMake('data directory', '/proc/raidfs-test-data'));
    refused(raidfsWithEnv({ RAIDFS_LOG: 'error' }, 'node', '--data', '/proc/1/raidfs-test', '--controller', 'tcp://127.0.0.1:1'), cannotMake('data directory', '/proc/1/raidfs-test'));
    refused(raidfsWithEnv({ RAIDFS_LOG: 'error' }, 'keygen', '--out', '/proc/raidfs-test-keys'), cannotMake('key directory', '/proc/raidfs-test-keys'));
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-mnt-'));
    try {
      refused(raidfsWithEnv({ RAIDFS_LOG: 'error' }, 'up', '/proc/raidfs-test-mnt', '--data', dir, '--nodes', '1', '--replicas', '1', '--listen', 'tcp://127.0.0.1:0', '--no-rest'),
        cannotMake('mount point', '/proc/raidfs-test-mnt'));
      // The shell leaves the directory it started in removed, then runs raidfs there.
      const gone = path.join(dir, 'gone');
      mkdirSync(gone);
      const run = spawnSync('sh', ['-c', 'cd "$1" && rmdir "$1" && exec "$2" "$3" up', 'sh', gone, process.execPath, CLI_ENTRY], { encoding: 'utf8', timeout: 20_000 });
      refused(run, /^raidfs: the current directory no longer exists; cd somewhere else\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
