/**
 * The cluster's space (src/core/cluster-space.ts) on its own: nodes that share a file
 * system count it once, bounded by their own (capacity-limited) figures; nodes on
 * their own file systems, or that report none, add up. And the room placement sees on
 * each node: copies on their way to any node of a file system count against all of them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterSpace, roomForCopies } from '../src/core/cluster-space';
import type { NodeStatus, VolumeStatus } from '../src/core/node-status';

const GiB = 2 ** 30;

/** A node as the registry reports it; a volume id's first part names its machine. */
function node(id: string, capacityBytes: number, freeBytes: number, volume: Omit<VolumeStatus, 'host'> | null): NodeStatus {
  return {
    id, alive: true, address: 'host', capacityBytes, freeBytes, usedBytes: 0, chunkCount: 0,
    lastSeenMs: 1, downSinceMs: null, downReason: null, softwareVersion: 'test', draining: false, volume: volume && { ...volume, host: volume.id.split('/')[0] },
  };
}

describe('cluster space', () => {
  it('counts a file system shared by several nodes once', () => {
    const disk = { id: 'vm/m/2049', capacityBytes: 250 * GiB, freeBytes: 60 * GiB };
    const four = ['n1', 'n2', 'n3', 'n4'].map((id) => node(id, disk.capacityBytes, disk.freeBytes, disk));
    assert.deepEqual(clusterSpace(four), { capacityBytes: 250 * GiB, freeBytes: 60 * GiB });
  });

  it('takes the lowest report of a shared file system\'s free bytes', () => {
    const disk = (freeBytes: number) => ({ id: 'vm/m/2049', capacityBytes: 250 * GiB, freeBytes });
    const nodes = [node('n1', 250 * GiB, 60 * GiB, disk(60 * GiB)), node('n2', 250 * GiB, 59 * GiB, disk(59 * GiB))];
    assert.deepEqual(clusterSpace(nodes), { capacityBytes: 250 * GiB, freeBytes: 59 * GiB });
  });

  it('bounds a shared file system by what its nodes may store (their configured capacities)', () => {
    const disk = { id: 'vm/m/2049', capacityBytes: 250 * GiB, freeBytes: 60 * GiB };
    const capped = [node('n1', 10 * GiB, 4 * GiB, disk), node('n2', 10 * GiB, 10 * GiB, disk)];
    assert.deepEqual(clusterSpace(capped), { capacityBytes: 20 * GiB, freeBytes: 14 * GiB });
    const oneUncapped = [...capped, node('n3', 250 * GiB, 60 * GiB, disk)];
    assert.deepEqual(clusterSpace(oneUncapped), { capacityBytes: 250 * GiB, freeBytes: 60 * GiB });
  });

  it('adds up different file systems, and nodes that report none', () => {
    const nodes = [
      node('a1', 100 * GiB, 30 * GiB, { id: 'a/m/2049', capacityBytes: 100 * GiB, freeBytes: 30 * GiB }),
      node('a2', 100 * GiB, 30 * GiB, { id: 'a/m/2049', capacityBytes: 100 * GiB, freeBytes: 30 * GiB }),
      node('a3', 50 * GiB, 5 * GiB, { id: 'a/m/2050', capacityBytes: 50 * GiB, freeBytes: 5 * GiB }),
      node('b1', 100 * GiB, 30 * GiB, { id: 'b/m/2049', capacityBytes: 100 * GiB, freeBytes: 30 * GiB }),
      node('old1', 8 * GiB, 2 * GiB, null),
      node('old2', 8 * GiB, 2 * GiB, null),
    ];
    assert.deepEqual(clusterSpace(nodes), { capacityBytes: 266 * GiB, freeBytes: 69 * GiB });
    assert.deepEqual(clusterSpace([]), { capacityBytes: 0, freeBytes: 0 });
  });

  it('gives placement the room each node has, with copies on their way to a shared file system counted once for all its nodes', () => {
    const MiB = 2 ** 20;
    const disk = (freeBytes: number) => ({ id: 'vm/m/2049', capacityBytes: 250 * GiB, freeBytes });
    const load = (n: NodeStatus, reservedBytes: number) => ({ ...n, reservedBytes });
    // Four nodes on one disk with 10 MiB left: 8 MiB on their way to two of them leave
    // 2 MiB for any of the four, not 10 for the other two.
    const shared = ['n1', 'n2', 'n3', 'n4'].map((id, i) => load(node(id, 250 * GiB, 10 * MiB, disk(i === 3 ? 11 * MiB : 10 * MiB)), i < 2 ? 4 * MiB : 0));
    assert.deepEqual(Object.fromEntries(roomForCopies(shared)), { n1: 2 * MiB, n2: 2 * MiB, n3: 2 * MiB, n4: 2 * MiB });
    // A node's own (capacity-limited) room bounds it too, less what is on its way to it;
    // nodes on other file systems, or reporting none, are not affected.
    const mixed = [
      load(node('capped', 10 * GiB, 1 * MiB, disk(100 * MiB)), 512 * 1024),
      load(node('big', 250 * GiB, 100 * MiB, disk(100 * MiB)), 30 * MiB),
      load(node('other', 250 * GiB, 50 * MiB, { id: 'b/m/2049', capacityBytes: 250 * GiB, freeBytes: 50 * MiB }), 0),
      load(node('old', 8 * GiB, 20 * MiB, null), 5 * MiB),
    ];
    assert.deepEqual(Object.fromEntries(roomForCopies(mixed)), { capped: 512 * 1024, big: 69.5 * MiB, other: 50 * MiB, old: 15 * MiB });
  });
});
