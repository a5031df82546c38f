/**
 * Freeing buffers at once (src/common/free-now.ts): a message received from a real
 * ZeroMQ socket and a Buffer of its own memory are freed on the spot (length 0, the
 * process's memory counters drop), while a Buffer that shares its memory (Node's pool,
 * a subarray) is left alone with its bytes intact. And the addon's alignedOffset,
 * which storage nodes use to read chunk files with O_DIRECT into a new Buffer.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pull, Push } from 'zeromq';
import { freeNow } from '../src/common/free-now';
import { addon } from '../src/common/native-addon';
import { testBytes } from './helpers/data';

const MIB = 1 << 20;

describe('freeNow', () => {
  it('frees a message received from ZeroMQ, and its memory leaves the external count', async () => {
    const pull = new Pull();
    const push = new Push();
    try {
      await pull.bind('tcp://127.0.0.1:*');
      push.connect(pull.lastEndpoint!);
      const sent = testBytes(4 * MIB, 'zeromq');
      await push.send(sent);
      const [received] = await pull.receive();
      assert.ok(received.equals(sent));
      const before = process.memoryUsage().external;
      assert.equal(freeNow(received), true);
      assert.equal(received.length, 0);
      const freed = before - process.memoryUsage().external;
      assert.ok(freed > 4 * MIB - 4096, `external memory fell by ${freed} bytes, expected 4 MiB`);
    } finally {
      push.close();
      pull.close();
    }
  });

  it('frees a Buffer that covers its own memory', () => {
    const own = Buffer.alloc(8 * MIB, 1);
    const before = process.memoryUsage().arrayBuffers;
    assert.equal(freeNow(own), true);
    assert.equal(own.length, 0);
    assert.ok(before - process.memoryUsage().arrayBuffers >= 8 * MIB);
  });

  it('leaves alone a Buffer that shares its memory', () => {
    const pooled = Buffer.from('a small buffer from the pool');
    const neighbour = Buffer.from('its neighbour in the pool');
    assert.equal(pooled.buffer, neighbour.buffer, 'both from the same pool');
    assert.equal(freeNow(pooled), false);
    assert.equal(pooled.toString(), 'a small buffer from the pool');
    assert.equal(neighbour.toString(), 'its neighbour in the pool');

    const whole = testBytes(MIB, 'shared');
    const copy = Buffer.from(whole);
    const view = whole.subarray(0, MIB / 2);
    assert.equal(freeNow(view), false);
    assert.ok(whole.equals(copy) && view.equals(copy.subarray(0, MIB / 2)));
  });

  it('refuses what is not bytes', () => {
    assert.throws(() => freeNow('text' as unknown as Buffer), TypeError);
    assert.throws(() => freeNow(new Uint16Array(8) as unknown as Buffer), TypeError);
  });
});

describe('alignedOffset', () => {
  it('finds the same aligned address from every view of a buffer', () => {
    const whole = Buffer.allocUnsafeSlow(3 * 4096);
    const start = addon.alignedOffset(whole, 4096);
    assert.ok(start >= 0 && start < 4096);
    // A view k bytes further in reaches the same address k bytes sooner, modulo the alignment.
    for (const k of [1, 7, 512, 4095, 4096, 5000]) {
      assert.equal(addon.alignedOffset(whole.subarray(k), 4096), (((start - k) % 4096) + 4096) % 4096, `view at ${k}`);
    }
    assert.equal(addon.alignedOffset(whole.subarray(start), 4096), 0);
    assert.equal(addon.alignedOffset(whole, 1), 0);
  });

  it('refuses an alignment that is not a power of two, and what is not bytes', () => {
    const bytes = Buffer.alloc(64);
    for (const bad of [0, 3, 4097, -4096]) assert.throws(() => addon.alignedOffset(bytes, bad), TypeError, `alignment ${bad}`);
    assert.throws(() => addon.alignedOffset('text' as unknown as Buffer, 4096), TypeError);
  });
});
