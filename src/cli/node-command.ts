/**
 * `raidfs node`: runs one storage node on a data directory until SIGINT/SIGTERM.
 */
import { CommandSpec, parseCommand, parseSize, UsageError } from './options';
import { StorageNode } from '../node/storage-node';
import { nodeCurveFrom, nodeCurveSpecs } from './curve-options';
import { waitForShutdownSignal } from './signals';

export const nodeCommand: CommandSpec = {
  name: 'node',
  usage: 'raidfs node --data DIR --controller tcp://HOST:PORT [--id ID] [--capacity SIZE] [--key FILE --controller-key FILE] [--insecure]',
  summary: 'Run a storage node: it stores chunks in DIR and serves them to the controller.',
  options: {
    data: { type: 'string', help: 'data directory of this node (created if missing)' },
    controller: { type: 'string', help: 'controller endpoint', default: 'tcp://127.0.0.1:5557' },
    id: { type: 'string', help: 'node id (default: the one recorded in DIR, or a new random one)' },
    capacity: { type: 'string', help: 'most bytes this node may store (default: the whole disk)' },
    ...nodeCurveSpecs,
  },
};

export async function runNode(argv: string[]): Promise<void> {
  const { values } = parseCommand(nodeCommand, argv);
  if (typeof values.data !== 'string') throw new UsageError('--data DIR is required');
  const node = await StorageNode.start({
    dataDir: values.data,
    controller: values.controller as string,
    id: values.id as string | undefined,
    capacity: typeof values.capacity === 'string' ? parseSize(values.capacity, '--capacity') : undefined,
    ...nodeCurveFrom(values),
  });
  await waitForShutdownSignal();
  await node.stop();
}
