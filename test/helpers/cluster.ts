/**
 * A real raidfs cluster for tests: the controller core in the test process (a fresh
 * SQLite file, a ZeroMQ ROUTER on a free loopback port) and N storage nodes as real
 * child processes on their own temp data directories. stop() kills exactly the
 * processes it started (by PID) and removes the temp directory, also after failures.
 * Nodes may get extra `raidfs node` arguments (e.g. CURVE keys, with the controller's
 * `curve` option), per index or per startNode() call.
 */
import { existsSync, promises as fs, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Controller, ControllerOptions } from '../../src/core/controller';
import { LocalNode, LocalNodeSpec } from '../../src/cli/local-nodes';
import { waitUntil } from './data';

/** A chunk file's header (chunk-store.ts); the chunk's bytes follow it. */
const CHUNK_HEADER_BYTES = 48;

export interface ClusterOptions {
  nodes?: number;
  controller?: Partial<ControllerOptions>;
  /** Per-node capacity caps, by index. */
  capacities?: Array<number | undefined>;
  /** Extra `raidfs node` arguments, by index. */
  nodeArgs?: Array<string[] | undefined>;
}

export class TestCluster {
  readonly nodes: LocalNode[] = [];

  private constructor(readonly dir: string, public controller: Controller, private readonly nodeArgs: Array<string[] | undefined> = []) {}

  static async start(options: ClusterOptions = {}): Promise<TestCluster> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'raidfs-test-'));
    const controller = await startController(dir, 'tcp://127.0.0.1:0', options.controller);
    const cluster = new TestCluster(dir, controller, options.nodeArgs);
    try {
      for (let i = 0; i < (options.nodes ?? 4); i++) cluster.startNode(i, options.capacities?.[i]);
      await controller.waitForNodes(cluster.nodes.length, 15_000);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /**
   * Closes the controller and starts a new one on the same metadata file and endpoint,
   * with `options`; resolves once every running node has registered with it again.
   */
  async restartController(options: Partial<ControllerOptions> = {}): Promise<void> {
    const endpoint = this.controller.endpoint;
    await this.controller.close();
    this.controller = await startController(this.dir, endpoint, options);
    await this.controller.waitForNodes(this.nodes.filter((n) => n.running).length, 15_000);
  }

  nodeId(index: number): string {
    return `node${index + 1}`;
  }

  nodeDir(index: number): string {
    return path.join(this.dir, this.nodeId(index));
  }

  indexOf(nodeId: string): number {
    return Number(nodeId.replace('node', '')) - 1;
  }

  /**
   * Starts (or restarts) node `index` on its data directory; `overrides` replace parts
   * of its spec (its extra arguments, the endpoint it connects to...).
   */
  startNode(index: number, capacity?: number, overrides: Partial<LocalNodeSpec> = {}): LocalNode {
    const node = new LocalNode({
      id: this.nodeId(index), dataDir: this.nodeDir(index), controller: this.controller.endpoint, capacity, extraArgs: this.nodeArgs[index], ...overrides,
    }, process.env.RAIDFS_TEST_NODE_LOGS ? 'inherit' : 'ignore');
    this.nodes[index] = node;
    return node;
  }

  /** kill -9 of node `index`; resolves once it is gone. */
  async killNode(index: number): Promise<void> {
    this.nodes[index].kill('SIGKILL');
    await this.nodes[index].exited;
  }

  /** The file that holds `chunkId` on node `nodeId`. */
  chunkFile(nodeId: string, chunkId: string): string {
    return path.join(this.nodeDir(this.indexOf(nodeId)), 'chunks', chunkId.slice(0, 2), chunkId);
  }

  /** Whether node `nodeId` holds a chunk file for `chunkId` with exactly `bytes` after its header (a copy rewritten, say). */
  async holdsCopy(nodeId: string, chunkId: string, bytes: Buffer): Promise<boolean> {
    const file = await fs.readFile(this.chunkFile(nodeId, chunkId)).catch(() => undefined);
    return file !== undefined && file.subarray(CHUNK_HEADER_BYTES).equals(bytes);
  }

  /**
   * The chunk files of `parts`' copies still on their nodes' disks. Tests of the
   * collector count these, not what one collectGarbage() call deleted: the background
   * pass (every 250 ms with no delete delay) may have deleted them first.
   */
  copiesOnDisk(parts: ReadonlyArray<{ chunkId: string; nodes: readonly string[] }>): string[] {
    return parts.flatMap((part) => part.nodes.map((nodeId) => this.chunkFile(nodeId, part.chunkId))).filter((file) => existsSync(file));
  }

  /** Chunk files in node `index`'s data directory. */
  async chunkFiles(index: number): Promise<string[]> {
    const root = path.join(this.nodeDir(index), 'chunks');
    const shards = await fs.readdir(root).catch(() => [] as string[]);
    const files = await Promise.all(shards.map(async (s) => (await fs.readdir(path.join(root, s))).map((f) => path.join(root, s, f))));
    return files.flat();
  }

  /** Resolves once the controller counts node `index` as down. */
  waitUntilDown(index: number, timeoutMs = 10_000): Promise<void> {
    return waitUntil(() => !this.controller.registry.isAlive(this.nodeId(index)), `${this.nodeId(index)} is counted down`, timeoutMs);
  }

  async stop(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n?.stop(2_000)));
    await this.controller.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The test controller on `dir`'s metadata file. Heartbeats come every second; on a
 * loaded two-core machine one can come more than half a second late, and a node
 * silent for the timeout counts as down (placement skips it, status shows it). 3 s
 * leaves two heartbeats' slack; tests of how fast a hung node is noticed set their
 * own. A killed node is counted down at once anyway, when its connection closes.
 */
function startController(dir: string, endpoint: string, options: Partial<ControllerOptions> = {}): Promise<Controller> {
  return Controller.start({
    dbPath: path.join(dir, 'meta.sqlite'),
    endpoint,
    nodeTimeoutMs: 3_000,
    requestTimeoutMs: 3_000,
    deleteDelayMs: 0,
    ...options,
  });
}
