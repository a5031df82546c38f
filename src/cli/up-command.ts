/**
 * `raidfs up`: the embedded default. This process is the controller; it starts N
 * local storage nodes as child processes (data under DATA/nodeK), waits until they
 * have registered, prints one "ready" line, and on SIGINT/SIGTERM stops the nodes it
 * started and closes the controller.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createLogger } from '../common/log';
import { Controller } from '../core/controller';
import { controllerOptionSpecs, controllerOptionsFrom } from './controller-options';
import { LocalNode } from './local-nodes';
import { CommandSpec, parseCommand, parseCount } from './options';
import { waitForShutdownSignal } from './signals';

export const upCommand: CommandSpec = {
  name: 'up',
  usage: 'raidfs up [MOUNTPOINT] [--nodes N] [--data DIR] [options]',
  summary: 'Run everything on this machine: the controller and N local storage nodes.',
  options: {
    nodes: { type: 'string', help: 'local storage nodes to start', default: '4' },
    data: { type: 'string', help: 'directory for the metadata and the nodes\' data', default: '.raidfs' },
    ...controllerOptionSpecs,
  },
};

const log = createLogger('up');

export async function runUp(argv: string[]): Promise<void> {
  const { values } = parseCommand(upCommand, argv);
  const nodeCount = parseCount(values.nodes as string, '--nodes');
  const dataDir = path.resolve(values.data as string);
  mkdirSync(dataDir, { recursive: true });
  const controller = await Controller.start(controllerOptionsFrom(values, path.join(dataDir, 'meta.sqlite')));
  const nodes = Array.from({ length: nodeCount }, (_, i) => new LocalNode({
    id: `node${i + 1}`, dataDir: path.join(dataDir, `node${i + 1}`), controller: controller.endpoint,
  }));
  let stopping = false;
  for (const node of nodes) {
    void node.exited.then((how) => { if (!stopping) log.warn('storage node exited', { node: node.spec.id, pid: node.pid, how }); });
  }
  const stop = async () => {
    stopping = true;
    await Promise.all(nodes.map((n) => n.stop()));
    await controller.close();
  };
  try {
    await controller.waitForNodes(nodeCount, 15_000);
  } catch (err) {
    await stop();
    throw err;
  }
  process.stdout.write(`raidfs ready: controller ${controller.endpoint}, ${nodeCount} storage nodes (pids ${nodes.map((n) => n.pid).join(' ')}), data in ${dataDir}. Ctrl-C stops.\n`);
  await waitForShutdownSignal();
  process.stdout.write('raidfs: stopping\n');
  await stop();
  process.stdout.write('raidfs: stopped\n');
}
