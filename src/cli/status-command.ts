/**
 * `raidfs status`: asks a running controller (GET /status) and prints each node
 * (state: up, or down for how long and why; address, chunks, used and free bytes,
 * when it was last heard from), each node refused
 * as another cluster's, the parts missing intact copies (under-replicated,
 * unavailable, damaged; and why parts are under-replicated: nodes down that hold
 * copies, or copies missing on nodes that are up) and the first damaged files, and
 * repair and scrub progress; `--json` prints the answer as it came. Exits 1 when some
 * part is unavailable (no intact copy on a node that is up: its file cannot be read
 * whole), damaged ones included, so scripts and monitors notice; 0 otherwise,
 * under-replicated parts (repair's work) included.
 */
import { formatBytes, formatDuration } from '../common/format';
import type { ClusterStatus, NodeStatus } from '../core/controller';
import { CommandSpec, parseCommand } from './options';
import { describeRepair, describeScrub } from './pass-reports';
import { printAnswer, restClientFrom, restClientOptionSpecs } from './rest-client';

export const statusCommand: CommandSpec = {
  name: 'status',
  usage: 'raidfs status [--rest HOST:PORT] [--json]',
  summary: 'Show the storage nodes, missing copies, damaged files and repair progress of a running controller (exit 1: some part is unreadable).',
  options: {
    ...restClientOptionSpecs,
    json: { type: 'boolean', help: 'print the status as JSON (as GET /status answers it)' },
  },
};

export async function runStatus(argv: string[]): Promise<number> {
  const { values } = parseCommand(statusCommand, argv);
  const client = restClientFrom(values);
  const status = await client.request<ClusterStatus>('GET', '/status', 10_000);
  printAnswer(values, status, () => renderStatus(status, client.url, Date.now()));
  return status.parts.unavailable > 0 ? 1 : 0;
}

/** The text `raidfs status` prints for a GET /status answer from `url`, at time `now`. */
export function renderStatus(status: ClusterStatus, url: string, now: number): string {
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
    `parts: ${parts.total} stored with ${status.replicas} copies each; ${parts.underReplicated} under-replicated, `
      + `${parts.unavailable} unavailable, ${parts.damaged} damaged${partsNote(status)}`
      + (parts.toMoveOffDraining ? `; ${parts.toMoveOffDraining} to move off nodes being drained` : ''),
    ...(status.damagedFiles.length ? [`damaged files: ${status.damagedFiles.map((f) => `${f.path} (id ${f.id})`).join(', ')} `
      + '(at most 10 named; GET /files/ID/info shows which copies are bad)'] : []),
    `repair: ${status.repair.current ? `running, ${describeRepair(status.repair.current)}` : 'idle'}`
      + (status.repair.last ? `; last pass ${describeRepair(status.repair.last)}` : ''),
    `scrub: ${status.scrub.current ? `running, ${describeScrub(status.scrub.current)}` : 'idle'}`
      + (status.scrub.last ? `; last pass ${describeScrub(status.scrub.last)}` : '; no pass yet'),
  ];
  return `${lines.join('\n')}\n`;
}

/** Says what the worst of the counts means: damaged, unavailable, or why parts are under-replicated. */
function partsNote(status: ClusterStatus): string {
  const { parts } = status;
  if (parts.damaged) return ' (damaged: every copy is corrupt, missing or unreadable; no node coming back mends them)';
  if (parts.unavailable) return ' (unavailable: no intact copy on a node that is up)';
  return underReplicatedNote(status);
}

/**
 * Why parts are under-replicated (fewer copies on nodes that are up than --replicas):
 * nodes that are down hold copies of them, or copies are missing on nodes that are
 * up; both, when more parts lack copies than the down nodes hold chunks (each part
 * short for a node being down has a copy there).
 */
function underReplicatedNote(status: ClusterStatus): string {
  const short = status.parts.underReplicated;
  if (short === 0) return '';
  // A node not heard from since the controller started may hold copies: its count is unknown.
  const holding = status.nodes.filter((n) => !n.alive && (n.chunkCount > 0 || n.lastSeenMs === 0));
  if (holding.length === 0) return ' (copies missing on nodes that are up: `raidfs repair` makes them)';
  const ids = holding.map((n) => n.id);
  const names = ids.length <= 3 ? ids.join(', ') : `${ids.slice(0, 3).join(', ')} and ${ids.length - 3} more`;
  const one = ids.length === 1;
  const onDown = holding.every((n) => n.lastSeenMs > 0) ? holding.reduce((total, n) => total + n.chunkCount, 0) : Infinity;
  return ` (${names} ${one ? 'is' : 'are'} down: ${one ? 'its' : 'their'} copies count again when ${one ? 'it is' : 'they are'} back, `
    + 'or `raidfs repair` makes them elsewhere'
    + (short > onDown ? `; at least ${short - onDown} of them lack copies that no node down holds` : '') + ')';
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
