/**
 * `raidfs node`: runs one storage node on a data directory until SIGINT/SIGTERM (or,
 * with --exit-with-stdin, until its standard input closes: how `raidfs up` ties its
 * local nodes to its own life, so they end with it even when it is killed -9).
 * Started by another raidfs process (`raidfs up`), it tells that one whether it
 * started, or why not (local-nodes.ts reportNodeStart).
 */
import { CommandSpec, parseCommand, parseEndpointOption, parseSize, UsageError } from './options';
import { StorageNode } from '../node/storage-node';
import { nodeCurveFrom, nodeCurveSpecs } from './curve-options';
import { waitForShutdownSignal } from './signals';
import { reportNodeStart } from './local-nodes';
import { errorMessage } from '../common/log';

export const nodeCommand: CommandSpec = {
  name: 'node',
  usage: 'raidfs node --data DIR --controller tcp://HOST:PORT [--id ID] [--capacity SIZE] [--key FILE --controller-key FILE] [--insecure]',
  summary: 'Run a storage node: it stores chunks in DIR and serves them to the controller.',
  options: {
    data: { type: 'string', help: 'data directory of this node (created if missing)' },
    controller: { type: 'string', help: 'controller endpoint', default: 'tcp://127.0.0.1:5557' },
    id: { type: 'string', help: 'node id (default: the one recorded in DIR, or a new random one)' },
    capacity: { type: 'string', help: 'most bytes this node may store (default: the whole disk)' },
    'exit-with-stdin': { type: 'boolean', help: 'also stop cleanly when standard input closes (set by raidfs up for its local nodes)' },
    ...nodeCurveSpecs,
  },
};

export async function runNode(argv: string[]): Promise<void> {
  const { values } = parseCommand(nodeCommand, argv);
  if (typeof values.data !== 'string') throw new UsageError('--data DIR is required');
  const options = {
    dataDir: values.data,
    controller: parseEndpointOption(values.controller as string, '--controller', 'connect'),
    id: values.id as string | undefined,
    capacity: typeof values.capacity === 'string' ? parseSize(values.capacity, '--capacity') : undefined,
    ...nodeCurveFrom(values),
  };
  let node: StorageNode;
  try {
    node = await StorageNode.start(options);
  } catch (err) {
    await reportNodeStart({ startFailed: errorMessage(err) });
    throw err;
  }
  await reportNodeStart({ started: true });
  process.disconnect?.(); // the channel was for that one report
  await Promise.race([waitForShutdownSignal(), ...(values['exit-with-stdin'] ? [stdinClosed()] : [])]);
  await node.stop();
}

/** Resolves when standard input reaches its end (the process holding its other end exited). */
function stdinClosed(): Promise<void> {
  return new Promise((resolve) => {
    process.stdin.once('end', resolve);
    process.stdin.once('error', () => resolve());
    process.stdin.resume();
  });
}
