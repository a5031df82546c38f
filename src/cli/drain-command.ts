/**
 * `raidfs drain NODE`: starts draining a storage node on a running controller (POST
 * /nodes/NODE/drain): it gets no new copies, and a repair pass moves its copies to
 * other nodes, every part keeping its copies all along. Waits for that pass and
 * prints its report and what is still on the node after it; exit 1 if anything is:
 * parts the pass could not move (the report says why), or copies of writes under way
 * when the drain began (committed after the pass looked, or not yet), which
 * background repair moves while the node drains. `--stop` ends the drain (DELETE
 * /nodes/NODE/drain). Retiring a node: drain it, stop it, then `raidfs forget-node NODE`.
 */
import type { DrainReport } from '../core/controller';
import { CommandSpec, parseCommand, UsageError } from './options';
import { describeErrors, describeRepair } from './pass-reports';
import { passTimeoutFrom, passTimeoutSpec, printAnswer, restClientFrom, restClientOptionSpecs } from './rest-client';

export const drainCommand: CommandSpec = {
  name: 'drain',
  usage: 'raidfs drain NODE [--stop] [--rest HOST:PORT] [--json]',
  summary: 'Move every copy off a storage node, which gets no new ones, to retire it (--stop: take it back).',
  options: {
    ...restClientOptionSpecs,
    stop: { type: 'boolean', help: 'stop draining the node: it takes new copies again' },
    timeout: passTimeoutSpec,
    json: { type: 'boolean', help: 'print the answer as JSON (as the REST API answers it)' },
  },
};

export async function runDrain(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommand(drainCommand, argv);
  if (positionals.length !== 1) throw new UsageError(`expected one node id, got ${positionals.length}`);
  const node = positionals[0];
  const client = restClientFrom(values);
  const path = `/nodes/${encodeURIComponent(node)}/drain`;
  if (values.stop) {
    const answer = await client.request<{ node: string; draining: boolean }>('DELETE', path, 10_000);
    printAnswer(values, answer, () => `drain: ${node} is no longer drained; it takes new copies again\n`);
    return 0;
  }
  const report = await client.request<DrainReport>('POST', path, passTimeoutFrom(values));
  printAnswer(values, report, () => `drain: ${node} gets no new copies; repair: ${describeRepair(report)}${describeErrors(report)}\n${describeLeft(node, report)}`);
  return report.errors.length || report.partsLeft || report.uncommittedCopiesLeft ? 1 : 0;
}

/** What the drain left on `node`, and what becomes of it ('' when nothing). */
function describeLeft(node: string, report: DrainReport): string {
  const left = [
    ...(report.partsLeft ? [`${report.partsLeft} parts that need a copy elsewhere first (failed above, or committed by writes that were under way)`] : []),
    ...(report.uncommittedCopiesLeft ? [`${report.uncommittedCopiesLeft} copies of writes not committed yet`] : []),
  ];
  if (left.length === 0) return '';
  return `drain: still on ${node}: ${left.join('; ')}. Background repair moves them while ${node} drains; `
    + `stop ${node} only when \`raidfs status\` shows nothing to move off it\n`;
}
