/**
 * The operator's view, end to end: `raidfs status`, `raidfs repair`, `raidfs scrub`
 * and `raidfs forget-node` against a real `raidfs controller` with three real nodes,
 * one of them killed -9; GET /status, POST /repair, POST /scrub and DELETE /nodes/ID
 * over HTTP; exit codes and errors. A part whose both chunk files are corrupted on
 * disk shows as damaged, with its file named, in `raidfs status` (exit 1), GET
 * /status, GET /files/ID/info and /metrics, until one copy is put back and a scrub runs.
 */
import assert from 'node:assert/strict';
import { promises as fs, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalNode } from '../src/cli/local-nodes';
import { keptFree } from '../src/node/chunk-store';
import type { ClusterStatus, NodeStatus, RepairReport, ScrubReport } from '../src/core/controller';
import { renderStatus } from '../src/cli/status-command';
import { ControllerProcess } from './helpers/controller-process';
import { testBytes } from './helpers/data';
import { freePort } from './helpers/host';
import { raidfs } from './helpers/raidfs-cli';

/**
 * What each suite below runs against, started in its before() and stopped in its
 * after(): a `raidfs controller` (REST on, repair only on demand, doomed copies
 * deleted 1 s after) and three real nodes.
 */
function operatorCluster(prefix: string) {
  const cluster = { dir: '', controller: undefined as unknown as ControllerProcess, rest: '', nodes: [] as LocalNode[] };
  before(async () => {
    cluster.dir = mkdtempSync(path.join(os.tmpdir(), prefix));
    cluster.controller = await ControllerProcess.start(['--db', path.join(cluster.dir, 'meta.sqlite'), '--listen', 'tcp://127.0.0.1:0',
      // 3 s, not the usual 1.5 s: these tests read every node as up at a given moment, and
      // on a loaded CI machine a 1 s heartbeat can come late by more than 0.5 s. A
      // killed node is counted down at once either way (its connection closes).
      '--rest', '127.0.0.1:0', '--node-timeout', '3s', '--repair-grace', '1h', '--stripe-size', '256KiB', '--delete-delay', '1s']);
    cluster.rest = cluster.controller.restUrl.replace('http://', '');
    cluster.nodes.push(...await cluster.controller.startNodes(cluster.dir, 3));
  });
  after(async () => {
    await cluster.controller?.stop();
    await Promise.all(cluster.nodes.map((n) => n.stop(2_000)));
    rmSync(cluster.dir, { recursive: true, force: true });
  });
  return cluster;
}

describe('raidfs status, repair and scrub', () => {
  const cluster = operatorCluster('raidfs-status-');
  const { nodes } = cluster;
  let controller: ControllerProcess;
  let rest: string;

  before(async () => {
    ({ controller, rest } = cluster);
    const put = await fetch(`${controller.restUrl}/fs/data.bin`, { method: 'PUT', body: testBytes(2 << 20, 'status') });
    assert.equal(put.status, 201);
  });

  it('shows every node, then a killed node as down with the parts it leaves under-replicated', async () => {
    const healthy = raidfs('status', '--rest', rest);
    assert.equal(healthy.status, 0, healthy.stderr);
    assert.match(healthy.stdout, /3 nodes up, 0 down/);
    assert.match(healthy.stdout, /^NODE\s+STATE\s+ADDRESS\s+CHUNKS\s+USED\s+FREE\s+LAST HEARTBEAT$/m);
    for (const id of ['node1', 'node2', 'node3']) assert.match(healthy.stdout, new RegExp(`^${id}\\s+up\\s+\\S+`, 'm'));
    assert.match(healthy.stdout, /parts: 8 stored with 2 copies each; 0 under-replicated, 0 unavailable/);

    const json = JSON.parse(raidfs('status', '--rest', rest, '--json').stdout) as ClusterStatus;
    assert.equal(json.nodes.length, 3);
    assert.equal(json.nodes.reduce((sum, n) => sum + n.chunkCount, 0), 16);
    assert.ok(json.nodes.every((n) => n.alive && n.address && n.usedBytes > 0 && n.freeBytes > 0 && n.lastSeenMs > 0), JSON.stringify(json.nodes));
    // The three nodes keep their data on one file system, which counts once.
    assert.equal(new Set(json.nodes.map((n) => n.volume?.id)).size, 1, JSON.stringify(json.nodes));
    const disk = statfsSync(cluster.dir);
    assert.equal(json.capacityBytes, disk.blocks * disk.bsize);
    // Free: what the nodes may still fill, all but the end of the disk they leave free.
    const usable = disk.bavail * disk.bsize - keptFree(disk.blocks * disk.bsize);
    assert.ok(Math.abs(json.freeBytes - usable) < 64 * 2 ** 20, `free ${json.freeBytes} is the disk's, ${usable}`);

    nodes[2].kill('SIGKILL');
    const down = await controller.waitForStatus((s) => s.nodesDown === 1, 'node3 is counted down');
    const onNode3 = down.nodes.find((n) => n.id === 'node3')!.chunkCount;
    assert.equal(down.parts.underReplicated, onNode3);
    const text = raidfs('status', '--rest', rest);
    assert.match(text.stdout, /2 nodes up, 1 down/);
    assert.match(text.stdout, /^node3\s+down \S+/m);
    assert.match(text.stdout, new RegExp(`${onNode3} under-replicated, 0 unavailable, 0 damaged `
      + '\\(node3 is down: its copies count again when it is back, or `raidfs repair` makes them elsewhere\\)$', 'm'));
  });

  it('shows a killed node as down at once, why, and when it was really last heard from', async () => {
    const node3 = (await controller.status()).nodes.find((n) => n.id === 'node3')!;
    assert.equal(node3.alive, false);
    // Counted down when its connection closed, within a heartbeat (1 s) of its last one:
    // its last heartbeat is not made a whole --node-timeout (3 s) older than that.
    assert.ok(node3.lastSeenMs > 0 && node3.downSinceMs !== null, JSON.stringify(node3));
    assert.ok(node3.downSinceMs >= node3.lastSeenMs && node3.downSinceMs - node3.lastSeenMs < 3_000, JSON.stringify(node3));
    assert.equal(node3.downReason, 'connection lost');
    const text = raidfs('status', '--rest', rest);
    assert.match(text.stdout, /^node3\s+down \S+ \(connection lost\)\s+\S/m);
    for (const up of (await controller.status()).nodes.filter((n) => n.alive)) assert.equal(up.downReason, null, up.id);
  });

  it('forget-node refuses a node that parts still need, a node that is up and an unknown one, changing nothing', async () => {
    const needed = raidfs('forget-node', 'node3', '--rest', rest);
    assert.equal(needed.status, 1, needed.stdout);
    assert.match(needed.stderr, /^raidfs: DELETE \/nodes\/node3: 409 \d+ parts would have fewer than 2 copies without the copy on node node3: .*raidfs repair/);
    const up = await fetch(`${controller.restUrl}/nodes/node1`, { method: 'DELETE' });
    assert.equal(up.status, 409);
    assert.match(((await up.json()) as { error: string }).error, /node node1 is up/);
    const unknown = await fetch(`${controller.restUrl}/nodes/node9`, { method: 'DELETE' });
    assert.equal(unknown.status, 404);
    assert.equal((await fetch(`${controller.restUrl}/nodes/node3`)).status, 405);
    assert.equal(raidfs('forget-node', '--rest', rest).status, 2);
    const status = await controller.status();
    assert.deepEqual(status.nodes.map((n) => n.id), ['node1', 'node2', 'node3']);
    assert.ok(status.parts.underReplicated > 0);
  });

  it('repair makes the missing copies now and scrub verifies every copy', async () => {
    const repair = raidfs('repair', '--rest', rest);
    assert.equal(repair.status, 0, repair.stderr + repair.stdout);
    assert.match(repair.stdout, /^repair: \d+ parts under-replicated \(copies on node3 counted lost\), \d+ copies made/);
    const status = await controller.status();
    assert.equal(status.parts.underReplicated, 0);
    assert.equal(status.repair.last?.failed, 0);

    const scrub = JSON.parse(raidfs('scrub', '--rest', rest, '--json').stdout) as ScrubReport;
    assert.equal(scrub.nodesScrubbed, 2);
    assert.equal(scrub.chunksVerified, 16);
    assert.deepEqual([scrub.missing, scrub.corrupt], [0, 0]);
  });

  it('forget-node forgets node3 once repaired; node3 coming back is a new node whose chunks are orphans', async () => {
    const onNode3 = (await controller.status()).nodes.find((n) => n.id === 'node3')!.chunkCount;
    assert.ok(onNode3 > 0);
    const forget = raidfs('forget-node', 'node3', '--rest', rest);
    assert.equal(forget.status, 0, forget.stderr);
    // Repair doomed node3's copies; the collector could not delete them while it was down.
    assert.match(forget.stdout, new RegExp(`^forget-node: node3 forgotten \\(0 copies of parts kept elsewhere, ${onNode3} doomed copies it never deleted\\)$`, 'm'));
    const after = await controller.status();
    assert.deepEqual(after.nodes.map((n) => n.id), ['node1', 'node2']);
    assert.deepEqual([after.nodesDown, after.parts.underReplicated], [0, 0]);
    assert.doesNotMatch(await (await fetch(`${controller.restUrl}/metrics`)).text(), /node="node3"/);
    assert.equal((await fetch(`${controller.restUrl}/nodes/node3`, { method: 'DELETE' })).status, 404);

    // It was not gone after all: it registers again, as a node holding no part.
    nodes.push(controller.startNode(cluster.dir, 'node3'));
    await controller.waitForStatus((s) => s.nodes.find((n) => n.id === 'node3')?.alive === true, 'node3 is back');
    const scrub = JSON.parse(raidfs('scrub', '--rest', rest, '--json').stdout) as ScrubReport;
    assert.equal(scrub.orphans, onNode3);
    await controller.waitForStatus((s) => s.nodes.find((n) => n.id === 'node3')?.chunkCount === 0, 'node3\'s orphans are deleted');
    const data = await fetch(`${controller.restUrl}/fs/data.bin`);
    assert.deepEqual(Buffer.from(await data.arrayBuffer()), testBytes(2 << 20, 'status'));
  });

  it('answers the maintenance endpoints over HTTP, with JSON errors for wrong methods', async () => {
    const repair = await fetch(`${controller.restUrl}/repair`, { method: 'POST' });
    assert.equal(repair.status, 200);
    assert.equal(((await repair.json()) as RepairReport).underReplicated, 0);
    const wrong = await fetch(`${controller.restUrl}/status`, { method: 'POST' });
    assert.equal(wrong.status, 405);
    assert.match(((await wrong.json()) as { error: string }).error, /use GET/);
    assert.equal((await fetch(`${controller.restUrl}/scrub`)).status, 405);
  });

  it('fails with one line when the controller cannot be reached or the address is malformed', async () => {
    const port = await freePort();
    const refused = raidfs('status', '--rest', `127.0.0.1:${port}`);
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, new RegExp(`^raidfs: cannot reach the controller at http://127\\.0\\.0\\.1:${port}: connection refused`));
    const malformed = raidfs('repair', '--rest', 'nonsense');
    assert.equal(malformed.status, 2);
    assert.match(malformed.stderr, /--rest: expected HOST:PORT/);
  });
});

describe('raidfs status of a part whose every copy is corrupt', () => {
  const cluster = operatorCluster('raidfs-damaged-');
  const HEADER = 48;
  const data = testBytes(2 << 20, 'damaged');
  interface CopyInfo { node: string; alive: boolean; fault: string | null }
  const info = async (id: number) =>
    (await (await fetch(`${cluster.controller.restUrl}/files/${id}/info`)).json()) as { parts: Array<{ chunk_id: string; replicas: CopyInfo[] }> };
  const metric = async (name: string) => {
    const line = (await (await fetch(`${cluster.controller.restUrl}/metrics`)).text()).split('\n').find((l) => l.startsWith(`${name} `));
    return Number(line?.split(' ')[1]);
  };

  it('counts it damaged and unavailable, names its file and exits 1; healthy again once a copy is put back and scrubbed', async () => {
    const { controller, rest } = cluster;
    const put = await fetch(`${controller.restUrl}/fs/dir/damaged.bin`, { method: 'PUT', body: data });
    assert.equal(put.status, 201);
    const id = ((await put.json()) as { id: number }).id;
    const [part] = (await info(id)).parts;
    const chunkFile = (node: string) => path.join(cluster.dir, node, 'chunks', part.chunk_id.slice(0, 2), part.chunk_id);
    const [saved, other] = part.replicas.map((r) => r.node);
    const good = await fs.readFile(chunkFile(saved));
    for (const [i, node] of [saved, other].entries()) {
      const bytes = await fs.readFile(chunkFile(node));
      bytes[HEADER + 100 + i] ^= 0x01;
      await fs.writeFile(chunkFile(node), bytes);
    }

    const scrub = raidfs('scrub', '--rest', rest);
    assert.equal(scrub.status, 1, scrub.stdout);
    assert.match(scrub.stdout, new RegExp(`/dir/damaged\\.bin: part 0 \\(chunk ${part.chunk_id}\\): no readable copy of part 0: .*its copy is corrupt`));

    const text = raidfs('status', '--rest', rest);
    assert.equal(text.status, 1, 'an unreadable part is a status to act on');
    assert.match(text.stdout, /parts: 8 stored with 2 copies each; 1 under-replicated, 1 unavailable, 1 damaged \(damaged: every copy is corrupt/);
    assert.match(text.stdout, new RegExp(`^damaged files: /dir/damaged\\.bin \\(id ${id}\\)`, 'm'));
    const status = await controller.status();
    assert.deepEqual([status.parts.underReplicated, status.parts.unavailable, status.parts.damaged], [1, 1, 1]);
    assert.deepEqual(status.damagedFiles, [{ id, path: '/dir/damaged.bin' }]);
    assert.deepEqual((await info(id)).parts[0].replicas.map((r) => r.fault), ['corrupt', 'corrupt']);
    assert.deepEqual([await metric('raidfs_parts_damaged'), await metric('raidfs_parts_unavailable')], [1, 1]);

    // The disk mended: one copy put back as it was; scrub finds it good and rewrites the other from it.
    await fs.writeFile(chunkFile(saved), good);
    const rescrub = raidfs('scrub', '--rest', rest);
    assert.equal(rescrub.status, 0, rescrub.stdout);
    const healthy = raidfs('status', '--rest', rest);
    assert.equal(healthy.status, 0, healthy.stdout);
    assert.match(healthy.stdout, /parts: 8 stored with 2 copies each; 0 under-replicated, 0 unavailable, 0 damaged$/m);
    assert.doesNotMatch(healthy.stdout, /damaged files/);
    assert.deepEqual((await controller.status()).damagedFiles, []);
    assert.deepEqual((await info(id)).parts[0].replicas.map((r) => r.fault), [null, null]);
    assert.deepEqual([await metric('raidfs_parts_damaged'), await metric('raidfs_parts_unavailable')], [0, 0]);
    const read = await fetch(`${controller.restUrl}/fs/dir/damaged.bin`);
    assert.deepEqual(Buffer.from(await read.arrayBuffer()), data);
  });
});

describe('raidfs drain and forget-node: retiring a node that is up', () => {
  const cluster = operatorCluster('raidfs-drain-');
  const { nodes } = cluster;
  let controller: ControllerProcess;
  let rest: string;

  /** PUTs `name`; answers its id. */
  const put = async (name: string, data: Buffer): Promise<number> => {
    const reply = await fetch(`${controller.restUrl}/fs/${name}`, { method: 'PUT', body: data });
    assert.equal(reply.status, 201, await reply.clone().text());
    return ((await reply.json()) as { id: number }).id;
  };
  /** Which nodes hold each of file `id`'s parts' copies (GET /files/ID/info). */
  const holders = async (id: number): Promise<string[][]> => {
    const info = (await (await fetch(`${controller.restUrl}/files/${id}/info`)).json()) as { parts: Array<{ replicas: Array<{ node: string }> }> };
    return info.parts.map((p) => p.replicas.map((r) => r.node).sort());
  };

  before(() => { ({ controller, rest } = cluster); });

  it('moves every copy off a drained node, which then gets no new copies, and takes it back with --stop', async () => {
    const first = await put('first.bin', testBytes(2 << 20, 'drain-1'));
    const before = await holders(first);
    const onNode3 = before.filter((nodes) => nodes.includes('node3')).length;
    assert.ok(onNode3 > 0, JSON.stringify(before));
    assert.equal(raidfs('drain', 'node9', '--rest', rest).status, 1);

    const drain = raidfs('drain', 'node3', '--rest', rest);
    assert.equal(drain.status, 0, drain.stderr + drain.stdout);
    assert.match(drain.stdout, new RegExp(`^drain: node3 gets no new copies; repair: ${onNode3} parts under-replicated \\(copies moved off node3, being drained\\), ${onNode3} copies made`));
    assert.doesNotMatch(drain.stdout, /still on/, 'nothing is left on node3');
    // Every part has its two copies, none on node3; the copies it had are deleted there.
    const moved = await holders(first);
    assert.ok(moved.every((nodes) => nodes.length === 2 && !nodes.includes('node3')), JSON.stringify(moved));
    const status = await controller.waitForStatus((s) => s.nodes.find((n) => n.id === 'node3')?.chunkCount === 0, 'node3\'s copies are deleted');
    assert.deepEqual([status.parts.underReplicated, status.parts.toMoveOffDraining], [0, 0]);
    assert.equal(status.nodes.find((n) => n.id === 'node3')?.draining, true);
    assert.match(raidfs('status', '--rest', rest).stdout, /^node3\s+up, draining\s/m);
    const metrics = await (await fetch(`${controller.restUrl}/metrics`)).text();
    assert.match(metrics, /^raidfs_node_draining\{node="node3"\} 1$/m);
    assert.match(metrics, /^raidfs_node_draining\{node="node1"\} 0$/m);
    assert.match(metrics, /^raidfs_parts_to_move_off_draining 0$/m);
    const data = await fetch(`${controller.restUrl}/fs/first.bin`);
    assert.deepEqual(Buffer.from(await data.arrayBuffer()), testBytes(2 << 20, 'drain-1'));

    const during = await holders(await put('second.bin', testBytes(2 << 20, 'drain-2')));
    assert.ok(during.every((nodes) => nodes.length === 2 && !nodes.includes('node3')), JSON.stringify(during));

    const stop = raidfs('drain', 'node3', '--stop', '--rest', rest);
    assert.equal(stop.status, 0, stop.stderr);
    assert.equal((await controller.status()).nodes.find((n) => n.id === 'node3')?.draining, false);
    const later = await holders(await put('third.bin', testBytes(2 << 20, 'drain-3')));
    assert.ok(later.some((nodes) => nodes.includes('node3')), JSON.stringify(later));
  });

  it('retires a node: drain, stop, forget-node; writes fail with 503 when too few nodes take copies', async () => {
    const drain = raidfs('drain', 'node3', '--rest', rest);
    assert.equal(drain.status, 0, drain.stderr + drain.stdout);
    await controller.waitForStatus((s) => s.nodes.find((n) => n.id === 'node3')?.chunkCount === 0, 'node3\'s copies are deleted');
    const stillUp = raidfs('forget-node', 'node3', '--rest', rest);
    assert.equal(stillUp.status, 1);
    assert.match(stillUp.stderr, /node node3 is up/);
    await nodes[2].stop(5_000);
    await controller.waitForStatus((s) => s.nodesDown === 1, 'node3 is down');
    const forget = raidfs('forget-node', 'node3', '--rest', rest);
    assert.equal(forget.status, 0, forget.stderr);
    assert.match(forget.stdout, /node3 forgotten \(0 copies of parts kept elsewhere, 0 doomed copies it never deleted\)/);

    // node2 drained too: one node left to take copies, two needed.
    const stuck = raidfs('drain', 'node2', '--rest', rest);
    assert.equal(stuck.status, 1, 'its parts have nowhere to go');
    assert.match(stuck.stdout, /errors: part \w+: every live node that takes new copies \(not being drained\) holds one already/);
    assert.match(stuck.stdout, /^drain: still on node2: [1-9]\d* parts that need a copy elsewhere first \(failed above, or committed by writes that were under way\)\. Background repair/m);
    const refused = await fetch(`${controller.restUrl}/fs/fourth.bin`, { method: 'PUT', body: testBytes(1000, 'drain-4') });
    assert.equal(refused.status, 503);
    assert.match(((await refused.json()) as { error: string }).error, /1 storage node is alive and not being drained \(1 is\); 2 are needed/);
    assert.equal(raidfs('drain', 'node2', '--stop', '--rest', rest).status, 0);
    for (const name of ['first.bin', 'second.bin', 'third.bin']) {
      const reply = await fetch(`${controller.restUrl}/fs/${name}`);
      assert.equal(reply.status, 200, name);
      assert.equal(Buffer.from(await reply.arrayBuffer()).length, 2 << 20, name);
    }
  });
});

describe('raidfs status: why parts are under-replicated', () => {
  const now = 1_800_000_000_000;
  const node = (id: string, alive: boolean, chunkCount: number, lastSeenMs = now - 1_000): NodeStatus => ({
    id, alive, address: 'host (192.0.2.1)', capacityBytes: 1 << 30, freeBytes: 1 << 29, usedBytes: chunkCount << 20, chunkCount, lastSeenMs,
    downSinceMs: alive ? null : now - 500, downReason: alive ? null : 'connection lost', softwareVersion: '0.1.0', draining: false, volume: null,
  });
  const idle = { running: false, passes: 0, current: null, last: null };
  /** The parts line of `raidfs status` for these nodes and this many parts under-replicated. */
  const partsLine = (nodes: NodeStatus[], underReplicated: number) => {
    const status: ClusterStatus = {
      clusterId: 'c', replicas: 2, nodes, refusedNodes: [], nodesUp: nodes.filter((n) => n.alive).length, nodesDown: nodes.filter((n) => !n.alive).length,
      capacityBytes: 1 << 30, freeBytes: 1 << 29, usedBytes: 0, parts: { total: 40, underReplicated, unavailable: 0, damaged: 0, toMoveOffDraining: 0 }, damagedFiles: [], repair: idle, scrub: idle,
    };
    return renderStatus(status, 'http://127.0.0.1:9000', now).split('\n').find((line) => line.startsWith('parts: '));
  };
  const repairs = 'or `raidfs repair` makes them elsewhere';

  it('names the nodes down that hold copies, and says when copies are missing on nodes that are up', () => {
    const up = [node('node1', true, 20), node('node2', true, 22)];
    assert.equal(partsLine(up, 0), 'parts: 40 stored with 2 copies each; 0 under-replicated, 0 unavailable, 0 damaged');
    assert.equal(partsLine(up, 3), 'parts: 40 stored with 2 copies each; 3 under-replicated, 0 unavailable, 0 damaged (copies missing on nodes that are up: `raidfs repair` makes them)');
    assert.equal(partsLine([...up, node('node3', false, 17)], 17), `parts: 40 stored with 2 copies each; 17 under-replicated, 0 unavailable, 0 damaged (node3 is down: its copies count again when it is back, ${repairs})`);
    // More parts short than node3 holds chunks: at least 4 lack copies node3 does not hold.
    assert.equal(partsLine([...up, node('node3', false, 17)], 21), `parts: 40 stored with 2 copies each; 21 under-replicated, 0 unavailable, 0 damaged `
      + `(node3 is down: its copies count again when it is back, ${repairs}; at least 4 of them lack copies that no node down holds)`);
    // A node down holding nothing is not why; one not heard from since the controller started might be.
    assert.equal(partsLine([...up, node('node3', false, 0)], 2), 'parts: 40 stored with 2 copies each; 2 under-replicated, 0 unavailable, 0 damaged (copies missing on nodes that are up: `raidfs repair` makes them)');
    assert.equal(partsLine([...up, node('node3', false, 0, 0), node('node4', false, 5)], 9), `parts: 40 stored with 2 copies each; 9 under-replicated, 0 unavailable, 0 damaged `
      + `(node3, node4 are down: their copies count again when they are back, ${repairs})`);
  });
});
