/**
 * A node's chunk files, driven directly on a real data directory, with O_DIRECT and
 * with the page cache (the path a file system that refuses O_DIRECT takes): bytes
 * come back exact at every size class, a chunk is checked on the way in and on the
 * way out, and a crash's temp file is cleared on the next open.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { ChunkStore, ChunkStoreError } from '../src/node/chunk-store';
import { newChunkId } from '../src/wire/chunk-id';
import { sha256 } from '../src/wire/checksum';
import { ErrorCode } from '../src/wire/messages';
import { testBytes } from './helpers/data';

/** 1 byte, small (written in place), just past the small limit, one stripe, one stripe minus an odd tail. */
const SIZES = [1, 5_000, 64 * 1024 + 1, 4 << 20, (4 << 20) - 3];

for (const directIo of [true, false]) {
  describe(`chunk store, ${directIo ? 'O_DIRECT' : 'page cache'}`, () => {
    let dir: string | undefined;
    let store: ChunkStore | undefined;
    const open = async () => {
      dir ??= await fs.mkdtemp(path.join(os.tmpdir(), 'raidfs-chunks-'));
      store = await ChunkStore.open(dir, undefined, 8, directIo);
      return store;
    };
    afterEach(async () => {
      await store?.close();
      if (dir) await fs.rm(dir, { recursive: true, force: true });
      store = undefined;
      dir = undefined;
    });

    it('returns every size byte-exact with its checksum, and a rewrite changes nothing', async () => {
      const chunks = await open();
      assert.equal(chunks.directIo, directIo);
      for (const size of SIZES) {
        const id = newChunkId();
        const data = testBytes(size, `s${size}`);
        await chunks.put(id, data, sha256(data));
        await chunks.put(id, data, sha256(data));
        const back = await chunks.get(id);
        assert.ok(back.data.equals(data), `${size} bytes come back exact`);
        assert.ok(back.sha256.equals(sha256(data)));
      }
      assert.equal(chunks.directIo, directIo, 'no O_DIRECT refusal on the way');
      assert.equal(chunks.count, SIZES.length, 'a rewrite is not a second chunk');
    });

    it('refuses bytes that do not match their checksum and stores nothing', async () => {
      const chunks = await open();
      for (const size of SIZES) {
        const data = testBytes(size, 'bad');
        const flipped = Buffer.from(data);
        flipped[size - 1] ^= 0x01;
        const id = newChunkId();
        await assert.rejects(chunks.put(id, flipped, sha256(data)), (err: ChunkStoreError) => err.code === ErrorCode.CHECKSUM_MISMATCH);
        await assert.rejects(chunks.get(id), (err: ChunkStoreError) => err.code === ErrorCode.NOT_FOUND);
      }
      assert.equal(chunks.count, 0);
    });

    it('does not serve a chunk whose bytes rotted on disk', async () => {
      const chunks = await open();
      for (const size of SIZES) {
        const id = newChunkId();
        const data = testBytes(size, 'rot');
        await chunks.put(id, data, sha256(data));
        const file = path.join(dir!, 'chunks', id.slice(0, 2), id);
        const bytes = await fs.readFile(file);
        bytes[bytes.length - 1] ^= 0x80;
        await fs.writeFile(file, bytes);
        await assert.rejects(chunks.get(id), (err: ChunkStoreError) => err.code === ErrorCode.CHECKSUM_MISMATCH && /do not match/.test(err.message));
        assert.equal((await chunks.verify(id)).state, 'corrupt');
      }
    });

    it('clears a temp file left by a crash when it opens again', async () => {
      const chunks = await open();
      const data = testBytes(4 << 20, 'kept');
      const id = newChunkId();
      await chunks.put(id, data, sha256(data));
      await chunks.close();
      await fs.writeFile(path.join(dir!, 'tmp', `${newChunkId()}.1.torn`), data.subarray(0, 1000));
      const reopened = await open();
      assert.deepEqual(await fs.readdir(path.join(dir!, 'tmp')), []);
      assert.equal(reopened.count, 1);
      assert.ok((await reopened.get(id)).data.equals(data));
    });
  });
}
