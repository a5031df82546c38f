/**
 * Many clients at once: 16 writers and then 16 readers (and a mixed round of both)
 * of different files over one controller and one ROUTER socket. The course lab
 * corrupted its shared sockets under 8 concurrent uploads; here every reply is
 * matched to its request, so every byte must come back exact.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestCluster } from './helpers/cluster';
import { collect, pieces, testBytes } from './helpers/data';

const STRIPE = 64 * 1024;

describe('16 concurrent clients', () => {
  let cluster: TestCluster;
  before(async () => { cluster = await TestCluster.start({ nodes: 4, controller: { stripeSize: STRIPE, cacheBytes: 1 } }); });
  after(async () => { await cluster?.stop(); });

  const files = Array.from({ length: 16 }, (_, i) => ({ path: `/c${i}.bin`, data: testBytes(1 + i * 37_001, `c${i}`) }));

  it('16 concurrent writers, then 16 concurrent readers, all byte-exact', async () => {
    await Promise.all(files.map((f) => cluster.controller.writeFile(f.path, pieces(f.data, 16_384))));
    const back = await Promise.all(files.map((f) => collect(cluster.controller.readStream(f.path))));
    back.forEach((data, i) => assert.ok(data.equals(files[i].data), files[i].path));
  });

  it('writers and readers interleaved, each reader sees a whole version', async () => {
    const next = files.map((f, i) => ({ ...f, data: testBytes(f.data.length + 999, `n${i}`) }));
    const results = await Promise.all(files.flatMap((f, i) => [
      cluster.controller.writeFile(f.path, pieces(next[i].data, 10_000)).then(() => undefined),
      collect(cluster.controller.readStream(f.path)).then((data) => {
        assert.ok(data.equals(f.data) || data.equals(next[i].data), `${f.path} read a mix of versions`);
      }),
    ]));
    assert.equal(results.length, 32);
    for (const [i, f] of next.entries()) assert.ok((await cluster.controller.readFile(f.path)).equals(next[i].data));
  });
});
