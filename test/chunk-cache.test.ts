/**
 * The chunk cache (src/core/chunk-cache.ts) owns fetched chunks and frees their memory
 * by hand: it never evicts a borrowed chunk, and frees one only once it is out of the
 * cache, given back by every borrower and
 * kept by nobody; eviction frees on the next turn, so a borrower resuming in the same
 * turn still gets the bytes; whatever was kept is never freed. A freed Buffer has
 * length 0, which is what these tests look for.
 */
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { ChunkCache } from '../src/core/chunk-cache';
import { testBytes } from './helpers/data';

const KIB = 1024;

/** A chunk with memory of its own, as ZeroMQ delivers one. */
function chunk(seed: string): Buffer {
  return Buffer.from(testBytes(64 * KIB, seed));
}

describe('chunk cache', () => {
  it('keeps the most recently used chunks within its bytes, and frees what it evicts on the next turn', async () => {
    const cache = new ChunkCache(128 * KIB);
    const a = chunk('a');
    const b = chunk('b');
    cache.adopt('a', a);
    cache.adopt('b', b);
    assert.equal(cache.get('a')?.data, a, 'a is now the most recently used');
    cache.adopt('c', chunk('c'));
    assert.equal(cache.get('b'), undefined, 'b was the least recently used');
    assert.equal(b.length, 64 * KIB, 'not freed in the same turn');
    await nextTurn();
    assert.equal(b.length, 0, 'freed on the next turn');
    assert.ok(a.equals(testBytes(64 * KIB, 'a')), 'a cached chunk is untouched');
  });

  it('never evicts a borrowed chunk nor counts it in its bytes; given back, it counts again and the least recently used goes', async () => {
    const cache = new ChunkCache(64 * KIB);
    const a = chunk('a');
    const lent = cache.adopt('a', a).borrow();
    const b = chunk('b');
    cache.adopt('b', b); // a is borrowed: its bytes do not count, and b fits beside it
    assert.equal(cache.get('a')?.data, a, 'a borrowed chunk is still found');
    const again = cache.get('a')!.borrow();
    lent.release();
    lent.release(); // a second release changes nothing
    await nextTurn();
    assert.ok(a.equals(testBytes(64 * KIB, 'a')), 'still borrowed: untouched');
    again.release(); // the last borrower: the least recently used chunk nobody borrows (b) goes
    assert.equal(cache.get('b'), undefined);
    assert.equal(cache.get('a')?.data, a, 'a, used last, stays');
    await nextTurn();
    assert.equal(b.length, 0, 'b freed on the next turn');
  });

  it('frees a chunk evicted while unborrowed on the next turn, and a borrow in the turn of its eviction still holds', async () => {
    const cache = new ChunkCache(64 * KIB);
    const a = chunk('a');
    const evicted = cache.adopt('a', a);
    cache.adopt('b', chunk('b'));
    assert.equal(cache.get('a'), undefined);
    const lateBorrow = evicted.borrow(); // the same turn as the eviction, as a fetch's continuation would
    await nextTurn();
    assert.ok(lateBorrow.data.equals(testBytes(64 * KIB, 'a')));
    lateBorrow.release();
    assert.equal(a.length, 0, 'freed with the last release');
  });

  it('never frees a chunk somebody kept', async () => {
    const cache = new ChunkCache(64 * KIB);
    const kept = cache.adopt('a', chunk('a')).keep();
    const keptWhileLent = cache.adopt('b', chunk('b')).borrow();
    keptWhileLent.keep();
    keptWhileLent.release();
    cache.adopt('c', chunk('c'));
    await nextTurn();
    assert.ok(kept.equals(testBytes(64 * KIB, 'a')));
    assert.ok(keptWhileLent.data.equals(testBytes(64 * KIB, 'b')));
  });

  it('does not take over bytes of a chunk it already holds, nor cache a chunk larger than itself', async () => {
    const cache = new ChunkCache(64 * KIB);
    const first = chunk('a');
    const second = chunk('a');
    assert.equal(cache.adopt('a', first).data, first);
    assert.equal(cache.adopt('a', second).data, first, 'the cached entry answers');
    const big = Buffer.from(testBytes(128 * KIB, 'big'));
    const lent = cache.adopt('big', big).borrow();
    assert.equal(cache.get('big'), undefined);
    cache.adopt('b', chunk('b')); // evicts a
    await nextTurn();
    assert.equal(second.length, 64 * KIB, 'bytes the cache did not adopt are never freed');
    assert.equal(first.length, 0);
    lent.release();
    assert.equal(big.length, 0, 'an uncached chunk is freed once given back');
  });
});
