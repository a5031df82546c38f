/**
 * Storage nodes on other hosts, the way raidfs is deployed: four hosts in network
 * namespaces (helpers/netns-hosts.ts) each run one real `raidfs node`, which reaches
 * a real `raidfs controller` in the root namespace over its veth link and the
 * bridge, authenticated and encrypted with CURVE keys from `raidfs keygen`.
 *
 * Proves: every node registers from its own host's address; multi-part files
 * round-trip byte-exact over REST; when one host's link is cut (its node process
 * keeps running, unreachable), reads still return the right bytes, the node is
 * counted down, and repair makes the missing copies until every part has two again
 * on the three hosts left; when the link comes back, the node comes back up.
 * Skips, never fails, where network namespaces cannot be made (not root, no iproute2).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { CLI_ENTRY } from '../src/cli/local-nodes';
import type { ClusterStatus, NodeStatus } from '../src/core/controller';
import { ControllerProcess } from './helpers/controller-process';
import { testBytes } from './helpers/data';
import { HostProcess, HostsUnavailable, NetnsHosts } from './helpers/netns-hosts';
import { raidfs } from './helpers/raidfs-cli';

const STRIPE = 256 * 1024;
const MiB = 1 << 20;

interface StoredFile {
  path: string;
  data: Buffer;
}

/**
 * Files of 4 to 13 parts. The controller keeps the chunks it has read in a 32 MiB
 * cache, so the "cold" files are read for the first time only after the cut: those
 * reads must really fetch every part from the hosts still reachable.
 */
const warm: StoredFile[] = [MiB, 2 * MiB + 4097, 3 * MiB].map((size, i) => ({ path: `/hosts/warm-${i + 1}.bin`, data: testBytes(size, `warm-${i + 1}`) }));
const cold: StoredFile[] = [1.5 * MiB, 2.5 * MiB - 1, 3 * MiB + 1].map((size, i) => ({ path: `/hosts/cold-${i + 1}.bin`, data: testBytes(size, `cold-${i + 1}`) }));
const partsOf = (size: number) => (size > 2 * STRIPE ? Math.ceil(size / STRIPE) : 2);

describe('storage nodes on other hosts (network namespaces)', { timeout: 120_000 }, () => {
  let skipReason: string | undefined;
  let dir: string;
  let hosts: NetnsHosts | undefined;
  let controller: ControllerProcess | undefined;
  const nodes: HostProcess[] = [];
  const nodeId = (i: number) => `h${i + 1}`;
  const nodeOf = (status: ClusterStatus, id: string): NodeStatus | undefined => status.nodes.find((n) => n.id === id);
  const skipped = (t: TestContext): boolean => {
    if (skipReason !== undefined) t.skip(skipReason);
    return skipReason !== undefined;
  };

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-hosts-'));
    try {
      hosts = await NetnsHosts.create(4);
    } catch (err) {
      if (!(err instanceof HostsUnavailable)) throw err;
      skipReason = `no test hosts: ${err.message}`;
      return;
    }
    const keys = path.join(dir, 'keys');
    const keygen = raidfs('keygen', '--out', keys, '--nodes', '4');
    assert.equal(keygen.status, 0, keygen.stderr);
    controller = await ControllerProcess.start(['--listen', `tcp://${hosts.rootIp}:0`, '--rest', '127.0.0.1:0',
      '--db', path.join(dir, 'meta.sqlite'), '--spool', path.join(dir, 'spool'),
      '--node-timeout', '1500ms', '--repair-grace', '2s', '--stripe-size', '256KiB',
      '--key', path.join(keys, 'controller.key'), '--authorized-keys', path.join(keys, 'authorized_keys')]);
    const env = { ...process.env, RAIDFS_LOG: process.env.RAIDFS_LOG ?? 'warn' };
    hosts.hosts.forEach((host, i) => {
      nodes.push(hosts!.run(host, process.execPath, [CLI_ENTRY, 'node', '--id', nodeId(i), '--data', path.join(dir, nodeId(i)),
        '--controller', controller!.endpoint, '--key', path.join(keys, `node-${i + 1}.key`), '--controller-key', path.join(keys, 'controller.pub')], env));
    });
  });

  after(async () => {
    await controller?.stop();
    await hosts?.destroy();
    rmSync(dir, { recursive: true, force: true });
    if (hosts) assert.deepEqual(await hosts.leftovers(), [], 'namespaces or links left behind');
  });

  async function put(file: StoredFile): Promise<void> {
    const res = await fetch(`${controller!.restUrl}/fs${file.path}`, { method: 'PUT', body: file.data, signal: AbortSignal.timeout(30_000) });
    assert.equal(res.status, 201, `PUT ${file.path}: ${await res.text()}`);
  }

  /** GETs the file, checks its bytes, and resolves with how long the read took (ms). */
  async function readBack(file: StoredFile): Promise<number> {
    const started = performance.now();
    const res = await fetch(`${controller!.restUrl}/fs${file.path}`, { signal: AbortSignal.timeout(30_000) });
    const body = Buffer.from(await res.arrayBuffer());
    const ms = performance.now() - started;
    assert.equal(res.status, 200, `GET ${file.path}: ${body.toString().slice(0, 300)}`);
    assert.equal(body.length, file.data.length, `GET ${file.path}: length`);
    assert.ok(body.equals(file.data), `GET ${file.path}: bytes differ`);
    return ms;
  }

  it('runs one node per host, each registered from its own address', async (t) => {
    if (skipped(t)) return;
    const status = await controller!.waitForStatus((s) => s.nodesUp === 4, 'the four nodes are up', 20_000)
      .catch((err: Error) => { throw new Error(`${err.message}\n${nodes.map((n) => `${n.host.namespace}: ${n.outputTail}`).join('\n')}`); });
    hosts!.hosts.forEach((host, i) => {
      const node = nodeOf(status, nodeId(i));
      assert.ok(node?.alive, `${nodeId(i)} is up`);
      assert.ok(node.address.includes(`(${host.ip})`), `${nodeId(i)} reports ${JSON.stringify(node.address)}, not its host's ${host.ip}`);
      // The tracked PID is the node itself (`ip netns exec` execs it), inside the host's namespace.
      const proc = nodes[i];
      assert.ok(readFileSync(`/proc/${proc.pid}/cmdline`, 'utf8').split('\0').includes(CLI_ENTRY), `PID ${proc.pid} is raidfs node`);
      assert.equal(statSync(`/proc/${proc.pid}/ns/net`).ino, statSync(`/run/netns/${host.namespace}`).ino, `${nodeId(i)} runs in ${host.namespace}`);
    });
    assert.notEqual(statSync(`/proc/${controller!.pid}/ns/net`).ino, statSync(`/run/netns/${hosts!.hosts[0].namespace}`).ino);
    t.diagnostic(`controller ${controller!.endpoint}; nodes ${status.nodes.map((n) => `${n.id} ${n.address}`).join(', ')}`);
  });

  it('stores multi-part files on the hosts and reads them back byte-exact', async (t) => {
    if (skipped(t)) return;
    for (const file of [...warm, ...cold]) await put(file);
    for (const file of warm) await readBack(file);
    const parts = [...warm, ...cold].reduce((sum, f) => sum + partsOf(f.data.length), 0);
    // Nodes report their chunk counts with acks and heartbeats: allow one heartbeat.
    const status = await controller!.waitForStatus((s) => s.nodes.reduce((sum, n) => sum + n.chunkCount, 0) === 2 * parts,
      `the nodes hold ${2 * parts} copies`, 5_000);
    assert.equal(status.parts.total, parts);
    assert.equal(status.parts.underReplicated, 0);
    assert.ok(status.nodes.every((n) => n.chunkCount > 0), 'every host holds copies');
    t.diagnostic(`${parts} parts, copies per node: ${status.nodes.map((n) => `${n.id} ${n.chunkCount}`).join(', ')}`);
  });

  it('survives a host cut off the network: reads succeed, its node goes down, repair restores two copies', async (t) => {
    if (skipped(t)) return;
    const victim = hosts!.hosts[2];
    const victimId = nodeId(2);
    const beforeCut = await controller!.status();
    assert.equal(beforeCut.nodesUp, 4);
    const onVictim = nodeOf(beforeCut, victimId)!.chunkCount;
    const copiesBefore = beforeCut.nodes.reduce((sum, n) => sum + n.chunkCount, 0);
    assert.ok(onVictim > 0, `${victimId} holds copies`);

    const cutAt = Date.now();
    await hosts!.cut(victim);
    let downAt = 0;
    const [readTimes, down] = await Promise.all([
      (async () => {
        const times: number[] = [];
        for (const file of [...cold, ...warm]) times.push(await readBack(file));
        return times;
      })(),
      controller!.waitForStatus((s) => nodeOf(s, victimId)?.alive === false, `${victimId} is counted down`, 10_000)
        .then((s) => { downAt = Date.now(); return s; }),
    ]);
    assert.ok(nodes[2].running, 'the cut node keeps running (a cut, not a kill)');
    assert.equal(down.nodesUp, 3);
    assert.equal(down.parts.underReplicated, onVictim, 'every part with a copy on the cut host lacks one');
    assert.equal(down.parts.unavailable, 0);
    t.diagnostic(`longest read after the cut: ${Math.round(Math.max(...readTimes))} ms ` +
      `(reads of ${cold.length + warm.length} files: ${readTimes.map((ms) => Math.round(ms)).join(', ')} ms); ` +
      `${victimId} counted down ${downAt - cutAt} ms after the cut`);

    // Repair reports come and go every pass: note each pass's copies as seen.
    const copiesByPass = new Map<number, number>();
    const noteRepair = (s: ClusterStatus) => {
      for (const report of [s.repair.current, s.repair.last]) {
        if (report) copiesByPass.set(report.startedMs, Math.max(report.copiesMade, copiesByPass.get(report.startedMs) ?? 0));
      }
    };
    const repaired = await controller!.waitForStatus((s) => {
      noteRepair(s);
      return s.nodesUp === 3 && nodeOf(s, victimId)?.alive === false && s.parts.underReplicated === 0;
    }, 'every part has two copies on the hosts left', 30_000);
    const repairedAt = Date.now();
    assert.equal(repaired.parts.unavailable, 0);
    const live = (s: ClusterStatus) => s.nodes.filter((n) => n.alive).reduce((sum, n) => sum + n.chunkCount, 0);
    const settled = await controller!.waitForStatus((s) => { noteRepair(s); return live(s) === 2 * s.parts.total; },
      'the hosts left report two copies of every part', 5_000);
    const remade = live(settled) - (copiesBefore - onVictim);
    assert.equal(remade, onVictim, 'one new copy for each copy on the cut host');
    for (const file of cold) await readBack(file);
    t.diagnostic(`full repair ${repairedAt - cutAt} ms after the cut: ${remade} parts re-replicated ` +
      `(repair reports: ${[...copiesByPass.values()].reduce((a, b) => a + b, 0)} copies made)`);
  });

  it('brings the node back up when its host is reconnected', async (t) => {
    if (skipped(t)) return;
    const victimId = nodeId(2);
    const reconnectedAt = Date.now();
    await hosts!.reconnect(hosts!.hosts[2]);
    const back = await controller!.waitForStatus((s) => s.nodesUp === 4 && nodeOf(s, victimId)?.alive === true,
      `${victimId} is up again`, 20_000);
    assert.equal(back.parts.underReplicated, 0);
    assert.ok(nodeOf(back, victimId)!.address.includes(`(${hosts!.hosts[2].ip})`));
    t.diagnostic(`${victimId} up again ${Date.now() - reconnectedAt} ms after its link came back`);
  });
});
