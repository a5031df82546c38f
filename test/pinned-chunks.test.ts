/**
 * Pins' counting rules: a chunk is pinned while any pin holds it; a pin moved to a
 * newer version keeps the chunks both share pinned throughout and lets go of the
 * rest; a released pin holds nothing, even when moved after.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileSnapshot } from '../src/core/controller';
import { PinnedChunks } from '../src/core/pinned-chunks';

/** A snapshot whose parts are stored as `chunkIds` (only the ids matter here). */
const version = (...chunkIds: string[]) => ({ parts: chunkIds.map((chunkId) => ({ chunkId })) }) as unknown as FileSnapshot;

describe('pinned chunks', () => {
  it('counts: a chunk stays pinned until the last pin holding it is released, once each', () => {
    const pins = new PinnedChunks();
    const a = pins.hold(version('x', 'y'));
    const b = pins.hold(version('y'));
    a.release();
    a.release();
    assert.deepEqual([pins.has('x'), pins.has('y')], [false, true]);
    b.release();
    assert.equal(pins.has('y'), false);
  });

  it('a moved pin keeps the chunks both versions share and lets go of the others', () => {
    const pins = new PinnedChunks();
    const pin = pins.hold(version('kept', 'old'));
    pin.move(version('kept', 'new'));
    assert.deepEqual(['kept', 'old', 'new'].map((id) => pins.has(id)), [true, false, true]);
    assert.deepEqual(pin.snapshot.parts.map((p) => p.chunkId), ['kept', 'new']);
    pin.release();
    pin.move(version('later'));
    assert.deepEqual(['kept', 'new', 'later'].map((id) => pins.has(id)), [false, false, false], 'a released pin holds nothing');
    assert.deepEqual(pin.snapshot.parts.map((p) => p.chunkId), ['later']);
  });
});
