/**
 * What the bench sections that host a controller themselves (core, rest) share: a
 * controller and 4 local storage nodes in a temp directory, random-looking test
 * data in 1 MiB pieces, a timer, and a write + read-back through the core.
 *
 * Invariant: every piece a source yields is its own buffer, since a writer may keep
 * what it is given (Controller.writeFile sends whole pieces as parts).
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { LocalNode } from '../src/cli/local-nodes';
import { Controller, WriteOptions } from '../src/core/controller';

export const PIECE = 1 << 20;

/** `mib` MiB of random-looking bytes in 1 MiB pieces, each a fresh buffer. */
export async function* randomPieces(mib: number): AsyncGenerator<Buffer> {
  const random = randomBytes(PIECE);
  for (let i = 0; i < mib; i++) {
    const piece = Buffer.from(random);
    piece.writeUInt32LE(i, 0);
    yield piece;
  }
}

export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export interface LocalCluster {
  controller: Controller;
  stop(): Promise<void>;
}

/** A controller (in this process, with its SQLite file in `dir`) and 4 node processes under `dir`, all registered. */
export async function startLocalCluster(dir: string): Promise<LocalCluster> {
  const controller = await Controller.start({ dbPath: path.join(dir, 'meta.sqlite'), endpoint: 'tcp://127.0.0.1:0' });
  const nodes = [1, 2, 3, 4].map((i) => new LocalNode({ id: `node${i}`, dataDir: path.join(dir, `node${i}`), controller: controller.endpoint }, 'ignore'));
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await controller.close();
  };
  try {
    await controller.waitForNodes(4, 15_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { controller, stop };
}

/** Times Controller.writeFile of `mib` MiB at `file`, then readStream of it all (checked for length). */
export async function writeAndReadBack(controller: Controller, file: string, mib: number, options?: WriteOptions): Promise<{ writeMs: number; readMs: number }> {
  const writeMs = await timed(() => controller.writeFile(file, randomPieces(mib), options));
  const readMs = await timed(async () => {
    let n = 0;
    for await (const piece of controller.readStream(file)) n += piece.length;
    if (n !== mib * PIECE) throw new Error(`read ${n} of ${mib * PIECE} bytes`);
  });
  return { writeMs, readMs };
}
