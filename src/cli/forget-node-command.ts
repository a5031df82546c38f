/**
 * `raidfs forget-node NODE`: tells a running controller (DELETE /nodes/NODE) that a
 * storage node is gone for good, so it leaves status and its records go
 * (src/core/forget-node.ts). The controller refuses while the node is up or while
 * parts still need its copies; the refusal is printed as one line, exit 1.
 */
import type { ForgetReport } from '../core/controller';
import { CommandSpec, parseCommand, UsageError } from './options';
import { printAnswer, restClientFrom, restClientOptionSpecs } from './rest-client';

export const forgetNodeCommand: CommandSpec = {
  name: 'forget-node',
  usage: 'raidfs forget-node NODE [--rest HOST:PORT] [--json]',
  summary: 'Forget a storage node that is down for good (run `raidfs repair` first so no part needs it).',
  options: {
    ...restClientOptionSpecs,
    json: { type: 'boolean', help: 'print the answer as JSON (as DELETE /nodes/NODE answers it)' },
  },
};

export async function runForgetNode(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommand(forgetNodeCommand, argv);
  if (positionals.length !== 1) throw new UsageError(`expected one node id, got ${positionals.length}`);
  const report = await restClientFrom(values).request<ForgetReport>('DELETE', `/nodes/${encodeURIComponent(positionals[0])}`, 60_000);
  printAnswer(values, report, () => `forget-node: ${report.node} forgotten (${report.copiesForgotten} copies of parts kept elsewhere, `
    + `${report.doomedForgotten} doomed copies it never deleted)\n`);
}
