/**
 * Chunk checksums (src/wire/checksum.ts): BLAKE3 from raidfs's addon gives the
 * published answers, the same digest however the bytes are fed (at once, piece by
 * piece, or while copied), and copies exactly; SHA-256 (chunks stored before BLAKE3)
 * is Node's own; bad arguments are refused, not read out of bounds.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { addon } from '../src/common/native-addon';
import { ChecksumAlgorithm, checksumOf, copyWithChecksum, newHasher, sameChecksum } from '../src/wire/checksum';
import { testBytes } from './helpers/data';

/** Around BLAKE3's 1 KiB chunks and 64 KiB copy pieces, and a whole stripe. */
const SIZES = [0, 1, 1023, 1024, 1025, 16 * 1024 + 7, 64 * 1024, 64 * 1024 + 1, 300_001, (4 << 20) - 3];

describe('chunk checksums', () => {
  it('BLAKE3 gives the published digests', () => {
    // From the BLAKE3 paper's reference and its test vectors.
    assert.equal(checksumOf(Buffer.alloc(0)).digest.toString('hex'), 'af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262');
    assert.equal(checksumOf(Buffer.from('abc')).digest.toString('hex'), '6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85');
    assert.equal(checksumOf(Buffer.alloc(0)).algorithm, ChecksumAlgorithm.BLAKE3, 'new chunks get BLAKE3');
  });

  it('SHA-256 is the standard one', () => {
    const data = testBytes(100_000, 'sha');
    const ours = checksumOf(data, ChecksumAlgorithm.SHA256);
    assert.equal(ours.algorithm, ChecksumAlgorithm.SHA256);
    assert.ok(ours.digest.equals(createHash('sha256').update(data).digest()));
  });

  for (const algorithm of [ChecksumAlgorithm.BLAKE3, ChecksumAlgorithm.SHA256]) {
    it(`${ChecksumAlgorithm[algorithm]}: the same digest fed at once, in pieces, or while copied, and copies exactly`, () => {
      for (const size of SIZES) {
        const data = testBytes(size, `feed${size}`);
        const whole = checksumOf(data, algorithm);
        const pieces = newHasher(algorithm);
        for (let at = 0; at < size; at += 10_007) pieces.update(data.subarray(at, at + 10_007));
        assert.ok(sameChecksum(pieces.result(), whole), `${size} bytes in pieces`);
        const target = Buffer.alloc(size + 13, 0xee);
        assert.ok(sameChecksum(copyWithChecksum(data, target, 5, algorithm), whole), `${size} bytes while copied`);
        assert.ok(target.subarray(5, 5 + size).equals(data), 'copied exactly');
        assert.ok(target.subarray(0, 5).every((b) => b === 0xee) && target.subarray(5 + size).every((b) => b === 0xee), 'nothing else touched');
      }
    });
  }

  it('tells digests apart, and the same digest under another algorithm', () => {
    const data = testBytes(5000, 'apart');
    const other = Buffer.from(data);
    other[4999] ^= 1;
    assert.ok(!sameChecksum(checksumOf(data), checksumOf(other)));
    const blake3 = checksumOf(data);
    assert.ok(!sameChecksum(blake3, { ...blake3, algorithm: ChecksumAlgorithm.SHA256 }));
  });

  it('refuses a copy that does not fit, and arguments that are not bytes', () => {
    const hasher = newHasher();
    assert.throws(() => hasher.copyIn(Buffer.alloc(10), Buffer.alloc(15), 6), RangeError);
    assert.throws(() => hasher.copyIn(Buffer.alloc(10), Buffer.alloc(15), -1), RangeError);
    assert.throws(() => hasher.update('text' as unknown as Uint8Array), TypeError);
    assert.throws(() => newHasher(7 as ChecksumAlgorithm), RangeError);
    assert.throws(() => addon.hasherUpdate(Buffer.alloc(8), Buffer.alloc(1)), TypeError, 'a state buffer of the wrong size');
    assert.throws(() => addon.blake3(new Uint16Array(4) as unknown as Uint8Array), TypeError);
  });
});
