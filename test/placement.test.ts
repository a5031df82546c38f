/**
 * Placement (src/core/placement.ts) on its own, with a seeded random source so every
 * run draws the same numbers: distinct nodes with room, on different machines and file
 * systems first, idle nodes next, and odds proportional to free bytes among equally
 * placed nodes.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Candidate, pickNodes } from '../src/core/placement';

/** A deterministic source of numbers in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

const node = (id: string, freeBytes: number, busy = false, host = 'h1', volume = 'h1/disk1'): Candidate => ({ id, host, volume, freeBytes, idle: !busy });

/** How often each id is picked over `draws` calls. */
function tally(candidates: Candidate[], count: number, draws: number, seed: number): Map<string, number> {
  const random = seeded(seed);
  const seen = new Map<string, number>();
  for (let i = 0; i < draws; i++) {
    for (const id of pickNodes(candidates, count, 1, random)) seen.set(id, (seen.get(id) ?? 0) + 1);
  }
  return seen;
}

describe('placement', () => {
  it('picks distinct nodes that have room, fewer when not enough have', () => {
    const random = seeded(1);
    const nodes = [node('a', 100), node('b', 5), node('c', 100, true), node('d', 0)];
    for (let i = 0; i < 200; i++) {
      const two = pickNodes(nodes, 2, 10, random);
      assert.equal(two.length, 2);
      assert.notEqual(two[0], two[1]);
      assert.ok(two.every((id) => id === 'a' || id === 'c'), `only a and c have 10 bytes free (got ${two.join(', ')})`);
    }
    assert.deepEqual(pickNodes(nodes, 3, 10, random).sort(), ['a', 'c']);
    assert.deepEqual(pickNodes(nodes, 2, 101, random), []);
  });

  it('sends copies to idle nodes first, then to busy ones', () => {
    const random = seeded(2);
    const nodes = [node('a', 100, true), node('b', 100, true), node('c', 100), node('d', 100)];
    for (let i = 0; i < 200; i++) assert.deepEqual(pickNodes(nodes, 2, 1, random).sort(), ['c', 'd']);
    const oneIdle = [node('a', 100, true), node('b', 100, true), node('c', 100)];
    for (let i = 0; i < 200; i++) {
      const [first, second] = pickNodes(oneIdle, 2, 1, random);
      assert.equal(first, 'c');
      assert.ok(second === 'a' || second === 'b');
    }
  });

  it('draws with odds proportional to free bytes among idle nodes, and among busy ones', () => {
    const idle = tally([node('big', 3000), node('small', 1000)], 1, 20_000, 3);
    assert.ok(Math.abs(idle.get('big')! / 20_000 - 0.75) < 0.02, `big drawn ${idle.get('big')} times in 20000, expected about 15000`);
    const busy = tally([node('big', 3000, true), node('small', 1000, true)], 1, 20_000, 4);
    assert.ok(Math.abs(busy.get('big')! / 20_000 - 0.75) < 0.02, `big drawn ${busy.get('big')} times in 20000, expected about 15000`);
  });

  it('spreads the copies of equally idle nodes over every pair', () => {
    const pairs = new Map<string, number>();
    const random = seeded(5);
    const nodes = ['a', 'b', 'c', 'd'].map((id) => node(id, 1000));
    for (let i = 0; i < 6000; i++) {
      const pair = pickNodes(nodes, 2, 1, random).sort().join('+');
      pairs.set(pair, (pairs.get(pair) ?? 0) + 1);
    }
    assert.equal(pairs.size, 6);
    for (const [pair, n] of pairs) assert.ok(n > 850 && n < 1150, `${pair} drawn ${n} times in 6000, expected about 1000`);
  });

  it('puts the copies on different machines first, then on different file systems, before idleness counts', () => {
    const random = seeded(6);
    // Host h1 has two disks with a node each; host h2 one disk with two nodes, both busy.
    const nodes = [node('a', 100, false, 'h1', 'h1/d1'), node('b', 100, false, 'h1', 'h1/d2'),
      node('c', 100, true, 'h2', 'h2/d1'), node('d', 100, true, 'h2', 'h2/d1')];
    for (let i = 0; i < 200; i++) {
      const [first, second] = pickNodes(nodes, 2, 1, random);
      assert.ok(first === 'a' || first === 'b', `idle first (got ${first})`);
      assert.ok(second === 'c' || second === 'd', `then the other machine, busy or not (got ${second})`);
    }
    // A repair, with the surviving copy on h2: the new one goes to h1.
    for (let i = 0; i < 200; i++) {
      assert.ok(['a', 'b'].includes(pickNodes(nodes.slice(0, 3), 1, 1, random, [{ host: 'h2', volume: 'h2/d1' }])[0]));
    }
    // One machine: its other disk before the same disk.
    const oneHost = [node('a', 100, false, 'h1', 'h1/d1'), node('b', 100, false, 'h1', 'h1/d1'), node('c', 100, true, 'h1', 'h1/d2')];
    for (let i = 0; i < 200; i++) {
      const two = pickNodes(oneHost, 2, 1, random);
      assert.ok(two.includes('c') && (two.includes('a') || two.includes('b')), `one copy on each disk (got ${two.join(', ')})`);
    }
    // Only one machine with room: both copies there rather than none.
    assert.deepEqual(pickNodes([node('a', 100, false, 'h1', 'h1/d1'), node('b', 100, false, 'h1', 'h1/d1'), node('c', 0, false, 'h2', 'h2/d1')], 2, 1, random).sort(), ['a', 'b']);
  });
});
