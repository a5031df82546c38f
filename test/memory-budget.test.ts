/**
 * The controller's memory budgets (src/core/memory-budget.ts): reservations wait in
 * order, a try is refused rather than queued, a wait can be given up, and nothing
 * exceeds the total.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBudget, Reservation } from '../src/core/memory-budget';

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('MemoryBudget', () => {
  it('grants what fits at once, and a wait in order of asking once room is released', async () => {
    const budget = new MemoryBudget(10);
    const first = await budget.reserve(6);
    const granted: string[] = [];
    const big = budget.reserve(8).then((r) => { granted.push('big'); return r; });
    const small = budget.reserve(1).then((r) => { granted.push('small'); return r; });
    await settled();
    assert.deepEqual(granted, [], 'the small one fits, but waits behind the big one asked before it');
    assert.equal(budget.queued, 2);
    first.release();
    const [b, s] = await Promise.all([big, small]);
    assert.deepEqual(granted, ['big', 'small']);
    assert.equal(budget.inUse, 9);
    b.release();
    s.release();
    assert.equal(budget.inUse, 0);
  });

  it('refuses a try when it does not fit with keepFree left, or when anyone waits', async () => {
    const budget = new MemoryBudget(10);
    const held = budget.tryReserve(4, 2);
    assert.equal(held?.bytes, 4);
    assert.equal(budget.tryReserve(5, 2), undefined, '4 + 5 leaves less than 2 free');
    const fits = budget.tryReserve(4, 2);
    assert.equal(fits?.bytes, 4);
    const waiting = budget.reserve(3);
    assert.equal(budget.tryReserve(1), undefined, 'a try never overtakes a waiting reservation');
    held!.release();
    const w = await waiting;
    assert.equal(budget.inUse, 7);
    fits!.release();
    w.release();
  });

  it('cuts a reservation larger than the total to the total, and releases each once', async () => {
    const budget = new MemoryBudget(10);
    const all: Reservation = await budget.reserve(25);
    assert.equal(all.bytes, 10);
    all.release();
    all.release();
    assert.equal(budget.inUse, 0);
    const again = await budget.reserve(10);
    assert.equal(budget.inUse, 10);
    again.release();
  });

  it('gives up a wait when its signal aborts, and serves those behind it that now fit', async () => {
    const budget = new MemoryBudget(10);
    const held = await budget.reserve(6);
    const abort = new AbortController();
    const big = budget.reserve(8, abort.signal);
    const small = budget.reserve(3);
    await settled();
    assert.equal(budget.queued, 2, 'the small one waits behind the big one');
    abort.abort(new Error('client left'));
    await assert.rejects(big, /client left/);
    const s = await small;
    assert.equal(budget.queued, 0);
    assert.equal(budget.inUse, 9, 'the one given up holds nothing');
    held.release();
    s.release();
    assert.equal(budget.inUse, 0);
    await assert.rejects(budget.reserve(1, abort.signal), /client left/, 'an aborted signal is refused at once');
    assert.equal(budget.inUse, 0);
  });
});
