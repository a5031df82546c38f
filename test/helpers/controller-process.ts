/**
 * A real `raidfs controller` process for tests that need the controller itself to
 * crash or to run apart from its nodes (kill -9 of the controller, nodes in other
 * network namespaces). Its REST URL and node endpoint come from its ready line;
 * status() asks GET /status; startNodes() starts real local nodes against it. It logs
 * at RAIDFS_LOG's level (default warn), or the one start() is given, to its stderr.
 */
import path from 'node:path';
import { CLI_ENTRY, LocalNode } from '../../src/cli/local-nodes';
import type { ClusterStatus } from '../../src/core/controller';
import { waitUntil } from './data';
import { ReadyProcess } from './ready-process';

export class ControllerProcess {
  private constructor(readonly process: ReadyProcess, readonly restUrl: string, readonly endpoint: string) {}

  /** Starts `raidfs controller ARGS` (add --rest HOST:0 to get a REST URL), logging at level `log` if given. */
  static async start(args: string[], options: { log?: string } = {}): Promise<ControllerProcess> {
    const proc = await ReadyProcess.start(CLI_ENTRY, ['controller', ...args], /raidfs controller ready/,
      { env: { ...process.env, RAIDFS_LOG: options.log ?? process.env.RAIDFS_LOG ?? 'warn' } });
    const restUrl = /REST API on (\S+?),/.exec(proc.stdout)?.[1] ?? '';
    const endpoint = /nodes connect to (\S+)/.exec(proc.stdout)?.[1] ?? '';
    return new ControllerProcess(proc, restUrl, endpoint);
  }

  get pid(): number {
    return this.process.pid;
  }

  async status(): Promise<ClusterStatus> {
    const res = await fetch(`${this.restUrl}/status`, { signal: AbortSignal.timeout(10_000) });
    if (!res.ok) throw new Error(`GET /status: ${res.status}`);
    return await res.json() as ClusterStatus;
  }

  /** Polls GET /status until `condition` holds. */
  async waitForStatus(condition: (status: ClusterStatus) => boolean, what: string, timeoutMs = 20_000): Promise<ClusterStatus> {
    let status = await this.status();
    await waitUntil(async () => condition(status = await this.status()), what, timeoutMs);
    return status;
  }

  /** Starts a storage node with id `id` and its data in DIR/ID, connecting to this controller. */
  startNode(dir: string, id: string): LocalNode {
    return new LocalNode({ id, dataDir: path.join(dir, id), controller: this.endpoint }, 'ignore');
  }

  /** Starts nodes node1..nodeN (startNode) and resolves once all of them are up. */
  async startNodes(dir: string, count: number): Promise<LocalNode[]> {
    const nodes = Array.from({ length: count }, (_, i) => this.startNode(dir, `node${i + 1}`));
    await this.waitForStatus((s) => s.nodesUp === count, `${count} nodes are up`);
    return nodes;
  }

  stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    return this.process.stop(signal);
  }
}
