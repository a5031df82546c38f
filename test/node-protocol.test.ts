/**
 * A storage node facing a hostile or broken controller: the test binds its own ROUTER
 * socket, starts a real node process against it and speaks the wire protocol by hand.
 * Bad chunk ids, wrong sizes, bad checksums, garbage frames and oversized messages
 * get an error reply or are dropped, and the node keeps serving correct data; scrub's
 * verify goes on past a chunk file it cannot read.
 */
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Router } from 'zeromq';
import { LocalNode } from '../src/cli/local-nodes';
import { newChunkId } from '../src/wire/chunk-id';
import { Checksum, ChecksumAlgorithm, checksumOf } from '../src/wire/checksum';
import { bodyOf, encodeMessage, ErrorCode, Message } from '../src/wire/messages';
import { retry, testBytes } from './helpers/data';
import { FakeController } from './helpers/fake-controller';

describe('storage node protocol handling', () => {
  let dir: string;
  let socket: Router;
  let node: LocalNode;
  let ctl: FakeController;

  before(async () => {
    ctl = await FakeController.start('n1');
    ({ dir, socket, node } = ctl);
  });
  after(async () => {
    await ctl?.stop();
  });

  const store = (chunkId: string, data: Buffer, checksum: Checksum = checksumOf(data), size = data.length) =>
    ctl.request({ storeChunk: { chunkId, size, ...checksum } }, data);
  const errorCode = (m: Message) => (m.kind === 'error' ? bodyOf(m.envelope, 'error').code : undefined);

  it('stores, lists, returns and deletes a chunk', async () => {
    const id = newChunkId();
    const data = testBytes(100_000, 'node');
    assert.equal((await store(id, data)).kind, 'storeChunkAck');
    const got = await ctl.request({ getChunk: { chunkId: id } });
    assert.equal(got.kind, 'chunkData');
    assert.ok(got.payload!.equals(data));
    const { digest, algorithm } = bodyOf(got.envelope, 'chunkData');
    assert.equal(algorithm, ChecksumAlgorithm.BLAKE3);
    assert.ok(Buffer.from(digest).equals(checksumOf(data).digest), 'the checksum it was stored with comes back');
    const list = await ctl.request({ listChunks: { after: '', limit: 10 } });
    assert.deepEqual(bodyOf(list.envelope, 'chunkList').chunkIds, [id]);
    const del = await ctl.request({ deleteChunks: { chunkIds: [id] } });
    assert.equal(bodyOf(del.envelope, 'deleteChunksAck').deleted, 1);
    assert.equal(errorCode(await ctl.request({ getChunk: { chunkId: id } })), ErrorCode.NOT_FOUND);
  });

  it('rejects chunk ids that are not plain ids, and writes nothing outside its directory', async () => {
    const bad = ['../../escape', '/etc/passwd', '', '..', 'a/b', 'A'.repeat(32), '0'.repeat(31), '0'.repeat(5000), `${'0'.repeat(31)}\0`];
    for (const chunkId of bad) {
      assert.equal(errorCode(await store(chunkId, Buffer.from('evil'))), ErrorCode.BAD_REQUEST, JSON.stringify(chunkId.slice(0, 40)));
      assert.equal(errorCode(await ctl.request({ getChunk: { chunkId } })), ErrorCode.BAD_REQUEST);
    }
    assert.equal(errorCode(await ctl.request({ deleteChunks: { chunkIds: [newChunkId(), '../x'] } })), ErrorCode.BAD_REQUEST);
    await assert.rejects(fs.access(path.join(dir, 'escape')));
    assert.deepEqual((await fs.readdir(path.join(dir, 'data'))).sort(), ['LOCK', 'LOCK-wal', 'chunks', 'node-id', 'tmp']);
  });

  it('refuses bytes that do not match their checksum or declared size', async () => {
    const data = Buffer.from('some bytes');
    assert.equal(errorCode(await store(newChunkId(), data, checksumOf(Buffer.from('other')))), ErrorCode.CHECKSUM_MISMATCH);
    assert.equal(errorCode(await store(newChunkId(), data, checksumOf(data), 3)), ErrorCode.BAD_REQUEST);
  });

  it('takes a store without an algorithm (an older controller) as SHA-256, and returns it as such', async () => {
    const id = newChunkId();
    const data = testBytes(70_000, 'older');
    const sha256 = checksumOf(data, ChecksumAlgorithm.SHA256);
    assert.equal(errorCode(await ctl.request({ storeChunk: { chunkId: newChunkId(), size: data.length, digest: checksumOf(data).digest } }, data)),
      ErrorCode.CHECKSUM_MISMATCH, 'a BLAKE3 digest without its algorithm is checked as SHA-256');
    assert.equal((await ctl.request({ storeChunk: { chunkId: id, size: data.length, digest: sha256.digest } }, data)).kind, 'storeChunkAck');
    const got = await ctl.request({ getChunk: { chunkId: id } });
    assert.ok(got.payload!.equals(data));
    assert.equal(bodyOf(got.envelope, 'chunkData').algorithm, ChecksumAlgorithm.SHA256);
  });

  it('verifies chunks with the checksum each matches, and reports one it cannot read as corrupt without stopping', async () => {
    const [good, unreadable, missing, last] = [newChunkId(), newChunkId(), newChunkId(), newChunkId()];
    const data = testBytes(70_000, 'verify');
    assert.equal((await store(good, data)).kind, 'storeChunkAck');
    assert.equal((await store(last, data.subarray(1))).kind, 'storeChunkAck');
    // A directory where the chunk file belongs: reading it fails (EISDIR), as a bad sector's EIO would.
    await fs.mkdir(path.join(dir, 'data', 'chunks', unreadable.slice(0, 2), unreadable), { recursive: true });
    const reply = await ctl.request({ verifyChunks: { chunkIds: [good, unreadable, missing, last] } });
    assert.equal(reply.kind, 'verifyResult');
    const result = bodyOf(reply.envelope, 'verifyResult');
    assert.deepEqual([result.missing, result.corrupt], [[missing], [unreadable]]);
    assert.equal(Number(result.bytesRead), 2 * data.length - 1);
    assert.deepEqual(result.verified.map((v) => [v.chunkId, v.size, Buffer.from(v.digest ?? []).toString('hex'), v.algorithm]), [
      [good, data.length, checksumOf(data).digest.toString('hex'), ChecksumAlgorithm.BLAKE3],
      [last, data.length - 1, checksumOf(data.subarray(1)).digest.toString('hex'), ChecksumAlgorithm.BLAKE3],
    ]);
  });

  it('survives garbage frames, wrong message types and an oversized message, then still serves', async () => {
    const junk: Buffer[][] = [
      [Buffer.from('not protobuf at all \xff\xfe')],
      [Buffer.alloc(0)],
      [Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])],
      [...encodeMessage({ requestId: 999, getChunk: { chunkId: newChunkId() } }), Buffer.from('unexpected data frame')],
      encodeMessage({ requestId: 998, storeChunk: { chunkId: newChunkId(), size: 1, digest: Buffer.alloc(32) } }),
      [Buffer.from('a'), Buffer.from('b'), Buffer.from('c')],
    ];
    for (const frames of junk) await socket.send(['n1', ...frames]);
    const wrongKind = await ctl.request({ chunkList: { chunkIds: [] } });
    assert.equal(errorCode(wrongKind), ErrorCode.BAD_REQUEST);
    const id = newChunkId();
    const data = testBytes(5000, 'after-junk');
    assert.equal((await store(id, data)).kind, 'storeChunkAck');
    // A message over the node's size limit makes libzmq drop the session for good; the node
    // notices the controller's silence (5 s) and connects a new socket. Until then a send
    // fails at once (no such peer), so the retries allow 30 s, not the default 10.
    await socket.send(['n1', ...encodeMessage({ requestId: 997, storeChunk: { chunkId: newChunkId(), size: 0, digest: Buffer.alloc(32) } }), Buffer.alloc(70 << 20)]);
    await retry(async () => assert.equal((await store(id, data)).kind, 'storeChunkAck'), 120);
    assert.ok((await ctl.request({ getChunk: { chunkId: id } })).payload!.equals(data));
    assert.ok(node.running, 'node process still running');
  });
});
