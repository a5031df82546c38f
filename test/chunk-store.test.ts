/**
 * A node's chunk files, driven directly on a real data directory, with O_DIRECT and
 * with the page cache (the path a file system that refuses O_DIRECT takes): bytes
 * come back exact at every size class, a chunk is checked on the way in and on the
 * way out (with BLAKE3, and with the SHA-256 of chunks stored before it), scrub's
 * verify answers for every chunk, one it cannot read too, a delete goes on past a
 * chunk it cannot delete, and a crash's temp file is cleared on the next open.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ChunkStore, ChunkStoreError } from '../src/node/chunk-store';
import { newChunkId } from '../src/wire/chunk-id';
import { ChecksumAlgorithm, checksumOf } from '../src/wire/checksum';
import { ErrorCode } from '../src/wire/messages';
import { testBytes } from './helpers/data';

/**
 * 1 byte, small (written in place), just past the small limit, one stripe, one stripe
 * minus an odd tail, and a file (48-byte header + bytes) of whole 4 KiB blocks, the
 * one large size with no partial last block for O_DIRECT to leave to the page cache.
 */
const SIZES = [1, 5_000, 64 * 1024 + 1, 4 << 20, (4 << 20) - 3, (1 << 20) - 48];

for (const directIo of [true, false]) {
  describe(`chunk store, ${directIo ? 'O_DIRECT' : 'page cache'}`, () => {
    let dir: string | undefined;
    let store: ChunkStore | undefined;
    const open = async () => {
      dir ??= await fs.mkdtemp(path.join(os.tmpdir(), 'raidfs-chunks-'));
      store = await ChunkStore.open(dir, undefined, 8, directIo);
      return store;
    };
    /** The file that holds chunk `id` in the store's directory. */
    const chunkFile = (id: string) => path.join(dir!, 'chunks', id.slice(0, 2), id);
    afterEach(async () => {
      await store?.close();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
      store = undefined;
      dir = undefined;
    });

    it('returns every size byte-exact with its checksum, by either algorithm, and a rewrite changes nothing', async () => {
      const chunks = await open();
      assert.equal(chunks.directIo, directIo);
      for (const algorithm of [ChecksumAlgorithm.BLAKE3, ChecksumAlgorithm.SHA256]) {
        for (const size of SIZES) {
          const id = newChunkId();
          const data = testBytes(size, `s${size}`);
          await chunks.put(id, data, checksumOf(data, algorithm));
          await chunks.put(id, data, checksumOf(data, algorithm));
          const back = await chunks.get(id);
          assert.ok(back.data.equals(data), `${size} bytes come back exact`);
          assert.deepEqual(back.checksum, checksumOf(data, algorithm));
        }
      }
      assert.equal(chunks.directIo, directIo, 'no O_DIRECT refusal on the way');
      assert.equal(chunks.count, 2 * SIZES.length, 'a rewrite is not a second chunk');
    });

    it('reads a chunk file written before BLAKE3 (SHA-256 header) and checks it', async () => {
      const chunks = await open();
      const data = testBytes(100_000, 'old');
      const header = Buffer.alloc(48);
      header.write('RAIDFSC1', 0, 'ascii');
      header.writeBigUInt64LE(BigInt(data.length), 8);
      checksumOf(data, ChecksumAlgorithm.SHA256).digest.copy(header, 16);
      const id = newChunkId();
      const file = chunkFile(id);
      await fs.writeFile(file, Buffer.concat([header, data]));
      const back = await chunks.get(id);
      assert.ok(back.data.equals(data));
      assert.equal(back.checksum.algorithm, ChecksumAlgorithm.SHA256);
      data[7] ^= 0x01;
      await fs.writeFile(file, Buffer.concat([header, data]));
      assert.equal((await chunks.verify(id)).state, 'corrupt');
    });

    it('refuses a checksum by another algorithm than it names, or by an unknown one', async () => {
      const chunks = await open();
      const data = testBytes(5_000, 'named');
      const id = newChunkId();
      const blake3 = checksumOf(data, ChecksumAlgorithm.BLAKE3);
      await assert.rejects(chunks.put(id, data, { ...blake3, algorithm: ChecksumAlgorithm.SHA256 }),
        (err: ChunkStoreError) => err.code === ErrorCode.CHECKSUM_MISMATCH);
      await assert.rejects(chunks.put(id, data, { ...blake3, algorithm: 7 as ChecksumAlgorithm }),
        (err: ChunkStoreError) => err.code === ErrorCode.BAD_REQUEST && /unknown checksum/.test(err.message));
      await assert.rejects(chunks.get(id), (err: ChunkStoreError) => err.code === ErrorCode.NOT_FOUND);
    });

    it('refuses bytes that do not match their checksum and stores nothing', async () => {
      const chunks = await open();
      for (const size of SIZES) {
        const data = testBytes(size, 'bad');
        const flipped = Buffer.from(data);
        flipped[size - 1] ^= 0x01;
        const id = newChunkId();
        await assert.rejects(chunks.put(id, flipped, checksumOf(data)), (err: ChunkStoreError) => err.code === ErrorCode.CHECKSUM_MISMATCH);
        await assert.rejects(chunks.get(id), (err: ChunkStoreError) => err.code === ErrorCode.NOT_FOUND);
      }
      assert.equal(chunks.count, 0);
    });

    it('does not serve a chunk whose bytes rotted on disk', async () => {
      const chunks = await open();
      for (const size of SIZES) {
        const id = newChunkId();
        const data = testBytes(size, 'rot');
        await chunks.put(id, data, checksumOf(data));
        const file = chunkFile(id);
        const bytes = await fs.readFile(file);
        bytes[bytes.length - 1] ^= 0x80;
        await fs.writeFile(file, bytes);
        await assert.rejects(chunks.get(id), (err: ChunkStoreError) => err.code === ErrorCode.CHECKSUM_MISMATCH && /do not match/.test(err.message));
        assert.equal((await chunks.verify(id)).state, 'corrupt');
      }
    });

    it('verify answers for each chunk, whatever is wrong with it: unreadable, missing, corrupt or ok with its checksum', async () => {
      const chunks = await open();
      const data = testBytes(5_000, 'verify');
      const [good, rotten, unreadable] = [newChunkId(), newChunkId(), newChunkId()];
      await chunks.put(good, data, checksumOf(data));
      await chunks.put(rotten, data, checksumOf(data));
      await fs.truncate(chunkFile(rotten), 100);
      // A directory where the chunk file belongs: reading it fails (EISDIR), as a bad sector's EIO would.
      await fs.mkdir(chunkFile(unreadable));
      const check = await chunks.verify(unreadable);
      assert.equal(check.state, 'unreadable');
      assert.match(check.state === 'unreadable' ? check.reason : '', /EISDIR/);
      assert.equal((await chunks.verify(rotten)).state, 'corrupt');
      assert.deepEqual(await chunks.verify(newChunkId()), { state: 'missing' });
      assert.deepEqual(await chunks.verify(good), { state: 'ok', size: data.length, checksum: checksumOf(data) });
      await assert.rejects(chunks.verify('../x'), (err: ChunkStoreError) => err.code === ErrorCode.BAD_REQUEST);
    });

    it('deletes every chunk it can, past one it cannot, and says which that was', async () => {
      const chunks = await open();
      const data = testBytes(5_000, 'delete');
      const [first, stuck, last] = [newChunkId(), newChunkId(), newChunkId()];
      await chunks.put(first, data, checksumOf(data));
      await chunks.put(last, data, checksumOf(data));
      await fs.mkdir(chunkFile(stuck));
      const { deleted, failed } = await chunks.delete([first, stuck, newChunkId(), last]);
      assert.equal(deleted, 2);
      assert.deepEqual(failed.map((f) => f.id), [stuck]);
      assert.equal(chunks.count, 0);
      await assert.rejects(chunks.get(last), (err: ChunkStoreError) => err.code === ErrorCode.NOT_FOUND);
    });

    it('clears a temp file left by a crash when it opens again', async () => {
      const chunks = await open();
      const data = testBytes(4 << 20, 'kept');
      const id = newChunkId();
      await chunks.put(id, data, checksumOf(data));
      await chunks.close();
      await fs.writeFile(path.join(dir!, 'tmp', `${newChunkId()}.1.torn`), data.subarray(0, 1000));
      const reopened = await open();
      assert.deepEqual(await fs.readdir(path.join(dir!, 'tmp')), []);
      assert.equal(reopened.count, 1);
      assert.ok((await reopened.get(id)).data.equals(data));
    });
  });
}

describe('chunk store space', () => {
  it('stores arriving at once never take more than the capacity between them', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'raidfs-chunks-'));
    const chunk = 100_000;
    const store = await ChunkStore.open(dir, 3 * (chunk + 48) + 100, 8);
    try {
      const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => {
        const data = testBytes(chunk, `room${i}`);
        return store.put(newChunkId(), data, checksumOf(data));
      }));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 3, 'room for three');
      for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as ChunkStoreError).code, ErrorCode.NO_SPACE);
      assert.equal((await store.report()).usedBytes, 3 * (chunk + 48));
    } finally {
      await store.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
