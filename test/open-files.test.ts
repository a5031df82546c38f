/**
 * Handle numbers of the mount's open files: fuse-native passes them to the kernel as
 * signed 32-bit integers, so they never pass 2^31 - 1; past it, the numbers of
 * released handles are used again, never one still open.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FileSnapshot } from '../src/core/controller';
import { PinnedChunks } from '../src/core/pinned-chunks';
import { OpenFile, OpenFiles } from '../src/fuse/open-files';

const LARGEST = 0x7fffffff;

describe('open file handles', () => {
  it('stay below 2^31 and, past that, reuse the numbers of released handles only', () => {
    const pins = new PinnedChunks();
    const files = new OpenFiles();
    const open = () => files.add(OpenFile.reading('/f', 1, 0, pins.hold({ parts: [] } as unknown as FileSnapshot)));
    assert.equal(open(), 1);
    files['nextHandle'] = LARGEST - 1; // as after two billion opens
    const last = [open(), open()];
    assert.deepEqual(last, [LARGEST - 1, LARGEST]);
    assert.equal(open(), 2, 'wraps around, skipping handle 1, which is still open');
    files.remove(last[0]);
    files['nextHandle'] = LARGEST - 1;
    assert.equal(open(), LARGEST - 1, 'a released number is used again');
    assert.equal(open(), 3, 'an open one is not');
  });
});
