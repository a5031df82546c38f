/**
 * `raidfs controller`: runs the controller core alone (nodes run elsewhere and
 * connect to --listen) until SIGINT/SIGTERM.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Controller } from '../core/controller';
import { controllerOptionSpecs, controllerOptionsFrom } from './controller-options';
import { CommandSpec, parseCommand } from './options';
import { waitForShutdownSignal } from './signals';

export const controllerCommand: CommandSpec = {
  name: 'controller',
  usage: 'raidfs controller [--db FILE] [--listen tcp://HOST:PORT] [options]',
  summary: 'Run the controller: metadata in SQLite, storage nodes connect over ZeroMQ.',
  options: {
    db: { type: 'string', help: 'SQLite metadata file', default: '.raidfs/meta.sqlite' },
    ...controllerOptionSpecs,
  },
};

export async function runController(argv: string[]): Promise<void> {
  const { values } = parseCommand(controllerCommand, argv);
  const dbPath = values.db as string;
  mkdirSync(path.dirname(path.resolve(dbPath)), { recursive: true });
  const controller = await Controller.start(controllerOptionsFrom(values, dbPath));
  process.stdout.write(`raidfs controller ready: nodes connect to ${controller.endpoint}\n`);
  await waitForShutdownSignal();
  await controller.close();
}
