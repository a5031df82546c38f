/**
 * `raidfs up`: the embedded default. This process is the controller; it starts N
 * local storage nodes as child processes (data under DATA/nodeK, each started again
 * if it dies: supervised-node.ts), waits until they have started and registered (one
 * that cannot start fails it, exit 1, with the node's reason), mounts the store
 * at MOUNTPOINT (default ./mnt), serves the REST API (default 127.0.0.1:9000), prints
 * one "ready" line, and on SIGINT/SIGTERM stops serving, unmounts, closes the
 * controller and stops the nodes it started.
 * Its nodes connect over loopback (a wildcard --listen address becomes 127.0.0.1)
 * and get what the controller's security settings need (local-node-security.ts).
 * Fewer --nodes than --replicas is a usage error: no write could find its copies' nodes.
 */
import path from 'node:path';
import { makeDirectory } from '../common/directory-problems';
import { Controller, DEFAULTS } from '../core/controller';
import { controllerOptionSpecs, controllerOptionsFrom } from './controller-options';
import { mountOptionSpecs, mountOptionsFrom, prepareMountDirectories } from './mount-options';
import { restOptionSpecs, restOptionsFrom } from './rest-options';
import { FrontEnds } from './front-ends';
import { SupervisedNode } from './supervised-node';
import { secureLocalNodes } from './local-node-security';
import { localEndpoint } from '../wire/transport-security';
import { CommandSpec, parseCommand, parseCount, UsageError } from './options';

export const upCommand: CommandSpec = {
  name: 'up',
  usage: 'raidfs up [MOUNTPOINT] [--nodes N] [--data DIR] [options]',
  summary: 'Run everything on this machine: controller, N local storage nodes and the mount (default ./mnt).',
  options: {
    nodes: { type: 'string', help: 'local storage nodes to start', default: '4' },
    data: { type: 'string', help: 'directory for the metadata, spool and the nodes\' data', default: '.raidfs' },
    'no-mount': { type: 'boolean', help: 'do not mount (REST and nodes only)' },
    'no-node-restart': { type: 'boolean', help: 'leave a local node that dies down (default: start it again after 2 s, longer if it keeps dying)' },
    ...mountOptionSpecs,
    ...restOptionSpecs,
    ...controllerOptionSpecs,
  },
};

export async function runUp(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(upCommand, argv);
  if (positionals.length > 1) throw new UsageError(`one mount point at most, got ${positionals.length}`);
  const nodeCount = parseCount(values.nodes as string, '--nodes');
  const restOptions = restOptionsFrom(values);
  const dataDir = path.resolve(values.data as string);
  const controllerOptions = controllerOptionsFrom(values, path.join(dataDir, 'meta.sqlite'));
  const replicas = controllerOptions.replicas ?? DEFAULTS.replicas;
  if (nodeCount < replicas) {
    // It would say ready, and every write would fail (503) for want of nodes.
    throw new UsageError(`--nodes ${nodeCount} cannot hold ${replicas} copies of each part: give --nodes ${replicas} or more, or --replicas ${nodeCount}`);
  }
  const mountOptions = values['no-mount'] ? undefined : mountOptionsFrom(values, positionals[0] ?? 'mnt', path.join(dataDir, 'spool'));
  makeDirectory(dataDir, 'data directory');
  if (mountOptions) prepareMountDirectories(mountOptions);
  const security = secureLocalNodes(controllerOptions, dataDir);
  const controller = await Controller.start(security.controller);
  const nodes = Array.from({ length: nodeCount }, (_, i) => new SupervisedNode({
    id: `node${i + 1}`, dataDir: path.join(dataDir, `node${i + 1}`), controller: localEndpoint(controller.endpoint), extraArgs: security.nodeArgs,
  }, !values['no-node-restart']));
  let frontEnds: FrontEnds | undefined;
  const stop = async () => {
    await frontEnds?.stop();
    // The controller first: nodes it is about to stop are not news to log as down.
    await controller.close();
    await Promise.all(nodes.map((n) => n.stop()));
  };
  try {
    // Its own nodes, not nodes of the same ids from elsewhere that connect to the same
    // endpoint; a node that exits before it started fails it at once, with its reason.
    await Promise.all([controller.waitForNodes(nodeCount, 15_000), ...nodes.map((n) => n.started)]);
    frontEnds = await FrontEnds.start(controller, mountOptions, restOptions);
  } catch (err) {
    await stop();
    throw err;
  }
  process.stdout.write(`raidfs ready: ${frontEnds.describe()}controller ${controller.endpoint}, ${nodeCount} storage nodes (pids ${nodes.map((n) => n.pid).join(' ')}), data in ${dataDir}. Ctrl-C stops.\n`);
  await frontEnds.untilStopped();
  process.stdout.write('raidfs: stopping\n');
  await stop();
  process.stdout.write('raidfs: stopped\n');
}
