/**
 * The stripe-buffer pool's invariants: it takes back only the buffers it handed out,
 * never hands one out twice at once, and keeps at most `keep` of them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { StripeBuffers } from '../src/core/stripe-buffers';

describe('stripe buffer pool', () => {
  it('reuses a buffer given back, and only buffers it handed out', () => {
    const pool = new StripeBuffers(1024, 2);
    const a = pool.take();
    assert.equal(a.length, 1024);
    pool.give(a);
    assert.equal(pool.take(), a, 'a buffer given back is handed out again');
    const stranger = Buffer.alloc(1024);
    pool.give(stranger);
    pool.give(a.subarray(0, 512));
    assert.notEqual(pool.take(), stranger, 'a buffer from elsewhere is never taken in');
  });

  it('takes a buffer back once per take, and keeps at most `keep`', () => {
    const pool = new StripeBuffers(16, 2);
    const [a, b, c] = [pool.take(), pool.take(), pool.take()];
    pool.give(a);
    pool.give(a); // a second give of the same loan is ignored
    const again = pool.take();
    assert.equal(again, a);
    assert.notEqual(pool.take(), a, 'the buffer was queued once, so it is not handed out twice');
    pool.give(again);
    pool.give(b);
    pool.give(c); // over `keep`: left to the garbage collector
    const handed = new Set([pool.take(), pool.take(), pool.take()]);
    assert.equal(handed.size, 3);
    assert.ok(!handed.has(c), 'only `keep` buffers were kept');
  });
});
