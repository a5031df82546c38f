/**
 * partsInRange (src/core/parts-in-range.ts), the lookup behind every read, against
 * the plain scan it replaced: every range over files cut the ways part-splitter.ts
 * cuts them (none, two halves, stripes with a short last one), including empty
 * ranges and ranges past the end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PartRecord } from '../src/core/metadata/metadata-store';
import { partsInRange } from '../src/core/parts-in-range';
import { ChecksumAlgorithm } from '../src/wire/checksum';

/** Parts of the given sizes, back to back from offset 0. */
function partsOf(sizes: number[]): PartRecord[] {
  let offset = 0;
  return sizes.map((size, idx) => {
    const part = { idx, offset, size, chunkId: `c${idx}`, checksum: { algorithm: ChecksumAlgorithm.BLAKE3, digest: Buffer.alloc(32) }, nodes: ['a', 'b'], faults: {} };
    offset += size;
    return part;
  });
}

/** The scan partsInRange must agree with. */
function scanned(parts: PartRecord[], size: number, offset: number, length: number): number[] {
  const end = Math.min(size, offset + length);
  return parts.filter((p) => p.offset < end && p.offset + p.size > offset).map((p) => p.idx);
}

describe('partsInRange', () => {
  const layouts: Array<[string, number[]]> = [
    ['an empty file', []],
    ['a one-byte file (halves of 1 and 0 bytes are one part)', [1]],
    ['a small file cut in two halves', [5, 4]],
    ['stripes with a short last one', [8, 8, 8, 3]],
    ['many equal stripes', Array(40).fill(4)],
  ];
  for (const [name, sizes] of layouts) {
    it(`finds the same parts as a scan, for every range of ${name}`, () => {
      const parts = partsOf(sizes);
      const size = sizes.reduce((a, b) => a + b, 0);
      for (let offset = 0; offset <= size + 2; offset++) {
        for (let length = 0; length <= size + 3 - offset; length++) {
          assert.deepEqual(partsInRange(parts, offset, length).map((p) => p.idx), scanned(parts, size, offset, length),
            `offset ${offset}, length ${length}`);
        }
      }
    });
  }

  it('returns the parts themselves, in order', () => {
    const parts = partsOf([8, 8, 8, 3]);
    const found = partsInRange(parts, 7, 10);
    assert.deepEqual(found.map((p) => p.idx), [0, 1, 2]);
    assert.equal(found[1], parts[1]);
  });
});
