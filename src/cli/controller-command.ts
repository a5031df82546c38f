/**
 * `raidfs controller`: runs the controller core alone (nodes run elsewhere and
 * connect to --listen), with the REST API (unless --no-rest) and optionally the
 * mount, until SIGINT/SIGTERM or until its mount is unmounted from outside (as
 * `umount` does to a mount made by native/mount.raidfs from /etc/fstab).
 */
import path from 'node:path';
import { makeDirectory } from '../common/directory-problems';
import { Controller } from '../core/controller';
import { mountOptionSpecs, mountOptionsFrom, prepareMountDirectories } from './mount-options';
import { controllerOptionSpecs, controllerOptionsFrom } from './controller-options';
import { restOptionSpecs, restOptionsFrom } from './rest-options';
import { FrontEnds } from './front-ends';
import { CommandSpec, parseCommand } from './options';

export const controllerCommand: CommandSpec = {
  name: 'controller',
  usage: 'raidfs controller [--db FILE] [--listen tcp://HOST:PORT] [--mount DIR] [options]',
  summary: 'Run the controller: metadata in SQLite, storage nodes connect over ZeroMQ; serves REST, optionally mounts.',
  options: {
    db: { type: 'string', help: 'SQLite metadata file', default: '.raidfs/meta.sqlite' },
    mount: { type: 'string', help: 'mount the store at this directory' },
    spool: { type: 'string', help: 'directory for files being written through the mount', default: '.raidfs/spool' },
    ...mountOptionSpecs,
    ...restOptionSpecs,
    ...controllerOptionSpecs,
  },
};

export async function runController(argv: string[]): Promise<void> {
  const { values } = parseCommand(controllerCommand, argv);
  const dbPath = values.db as string;
  const restOptions = restOptionsFrom(values);
  const controllerOptions = controllerOptionsFrom(values, dbPath);
  const mountOptions = typeof values.mount === 'string' ? mountOptionsFrom(values, values.mount, values.spool as string) : undefined;
  makeDirectory(path.dirname(path.resolve(dbPath)), 'directory of the metadata file');
  if (mountOptions) prepareMountDirectories(mountOptions);
  const controller = await Controller.start(controllerOptions);
  const frontEnds = await FrontEnds.start(controller, mountOptions, restOptions).catch(async (err) => {
    await controller.close();
    throw err;
  });
  process.stdout.write(`raidfs controller ready: ${frontEnds.describe()}nodes connect to ${controller.endpoint}\n`);
  await frontEnds.untilStopped();
  await frontEnds.stop();
  await controller.close();
}
