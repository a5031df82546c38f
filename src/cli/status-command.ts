/**
 * `raidfs status`: asks a running controller (GET /status) and prints each node
 * (state: up, or down for how long and why; address, chunks, used and free bytes,
 * when it was last heard from), each node refused
 * as another cluster's, the parts missing copies, and repair and scrub progress;
 * `--json` prints the answer as it came.
 */
import { formatBytes, formatDuration } from '../common/format';
import type { ClusterStatus, NodeStatus } from '../core/controller';
import { CommandSpec, parseCommand } from './options';
import { describeRepair, describeScrub } from './pass-reports';
import { printAnswer, restClientFrom, restClientOptionSpecs } from './rest-client';

export const statusCommand: CommandSpec = {
  name: 'status',
  usage: 'raidfs status [--rest HOST:PORT] [--json]',
  summary: 'Show the storage nodes, missing copies and repair progress of a running controller.',
  options: {
    ...restClientOptionSpecs,
    json: { type: 'boolean', help: 'print the status as JSON (as GET /status answers it)' },
  },
};

export async function runStatus(argv: string[]): Promise<void> {
  const { values } = parseCommand(statusCommand, argv);
  const client = restClientFrom(values);
  const status = await client.request<ClusterStatus>('GET', '/status', 10_000);
  printAnswer(values, status, () => renderStatus(status, client.url, Date.now()));
}

function renderStatus(status: ClusterStatus, url: string, now: number): string {
  const { parts } = status;
  const lines = [
    `controller ${url}: ${status.nodesUp} node${status.nodesUp === 1 ? '' : 's'} up, ${status.nodesDown} down; `
      + `${formatBytes(status.usedBytes)} used, ${formatBytes(status.freeBytes)} free of ${formatBytes(status.capacityBytes)}`,
    '',
    table([
      ['NODE', 'STATE', 'ADDRESS', 'CHUNKS', 'USED', 'FREE', 'LAST HEARTBEAT'],
      ...status.nodes.map((n) => nodeRow(n, now)),
    ]),
    ...(status.refusedNodes ?? []).map((n) => `refused ${formatDuration(now - n.lastRefusedMs)} ago: ${n.reason} (${n.address || 'address unknown'})`),
    '',
    `parts: ${parts.total} stored with ${status.replicas} copies each; ${parts.underReplicated} under-replicated, ${parts.unavailable} unavailable`
      + (parts.underReplicated ? ' (copies missing on nodes that are up)' : '')
      + (parts.toMoveOffDraining ? `; ${parts.toMoveOffDraining} to move off nodes being drained` : ''),
    `repair: ${status.repair.current ? `running, ${describeRepair(status.repair.current)}` : 'idle'}`
      + (status.repair.last ? `; last pass ${describeRepair(status.repair.last)}` : ''),
    `scrub: ${status.scrub.current ? `running, ${describeScrub(status.scrub.current)}` : 'idle'}`
      + (status.scrub.last ? `; last pass ${describeScrub(status.scrub.last)}` : '; no pass yet'),
  ];
  return `${lines.join('\n')}\n`;
}

function nodeRow(n: NodeStatus, now: number): string[] {
  const heard = n.lastSeenMs ? `${formatDuration(now - n.lastSeenMs)} ago` : 'not since controller start';
  const state = (n.alive ? 'up' : `down ${formatDuration(now - (n.downSinceMs ?? now))}`) + (n.downReason ? ` (${n.downReason})` : '')
    + (n.draining ? ', draining' : '');
  return [n.id, state, n.address || '-', String(n.chunkCount), formatBytes(n.usedBytes), formatBytes(n.freeBytes), heard];
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
  return rows.map((r) => r.map((cell, col) => cell.padEnd(widths[col])).join('  ').trimEnd()).join('\n');
}
