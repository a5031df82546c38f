/**
 * Freeing buffers at once (src/common/free-now.ts): a message received from a real
 * ZeroMQ socket and a Buffer of its own memory are freed on the spot (length 0, the
 * process's memory counters drop), while a Buffer that shares its memory (Node's pool,
 * a subarray) is left alone with its bytes intact.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Pull, Push } from 'zeromq';
import { freeNow } from '../src/common/free-now';
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
